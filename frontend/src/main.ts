// Entry point of chat/static/chat/chat.js: the page's <body> says which page it is.
import { bindAuthPanel, element } from "./auth";
import { bindRoom } from "./room";

const { page, endpoint, room } = document.body.dataset;
if (!endpoint) throw new Error("<body data-endpoint> is missing");
bindAuthPanel(endpoint);

if (page === "room" && room) {
  bindRoom(endpoint, room);
} else if (page === "index") {
  const form = element<HTMLFormElement>("room-form");
  const name = element<HTMLInputElement>("room-name");
  name.focus();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const room = name.value.trim();
    if (room) location.assign(`${location.pathname.replace(/\/?$/, "/")}${encodeURIComponent(room)}/`);
  });
}
