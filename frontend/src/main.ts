// Entry point of chat/static/chat/chat.js: the page's <body> says which page it is.
import { bindAuthPanel, element } from "./auth";
import { bindRoom } from "./room";
import { bindRoomList, roomUrl } from "./rooms";

const { page, endpoint, index, room } = document.body.dataset;
if (!endpoint || !index) throw new Error("<body data-endpoint data-index> is missing");
bindAuthPanel(endpoint);
const rooms = bindRoomList(endpoint, index, page === "room" && room ? room : null);

if (page === "room" && room) {
  bindRoom(endpoint, index, room, rooms);
} else if (page === "index") {
  const form = element<HTMLFormElement>("room-form");
  const name = element<HTMLInputElement>("room-name");
  name.focus();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const room = name.value.trim();
    if (room) location.assign(roomUrl(index, room));
  });
}
