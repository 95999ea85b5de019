// The signed-in user's rooms beside every page: myRooms once, then the inbox subscription
// keeps unread badges, order and membership live. Also starts direct messages and
// creates private rooms.
import type { Client } from "graphql-ws";
import { print } from "graphql";
import { authGet, request, subscriptionClient, websocketUrl } from "./api";
import { element, errorText } from "./auth";
import type { ChatRoomItemFragment, InboxSubscription } from "./gql/graphql";
import { CreateRoom, DirectRoom, Inbox, MyRooms } from "./operations";

type InboxEvent = InboxSubscription["inbox"];

interface Entry {
  room: ChatRoomItemFragment;
  unread: number;
  mentioned: boolean;
}

/** What the room page tells the list. */
export interface RoomList {
  /** The viewer's unread count in ``room`` is now ``unread`` (from markRead's answer). */
  setUnread(room: string, unread: number): void;
}

/** The page of room ``name``. */
export function roomUrl(index: string, name: string): string {
  return `${index.replace(/\/?$/, "/")}${encodeURIComponent(name)}/`;
}

/** How a room is called: a direct room by the other person in it. */
export function roomLabel(room: Pick<ChatRoomItemFragment, "name" | "direct" | "members">, me: string | null): string {
  if (!room.direct) return room.name;
  const other = room.members.find((member) => member.username !== me);
  return other ? other.username : room.name;
}

export function bindRoomList(endpoint: string, index: string, current: string | null): RoomList {
  const sidebar = element<HTMLElement>("sidebar");
  const list = element<HTMLUListElement>("room-list");
  const failure = element<HTMLElement>("rooms-error");
  const directForm = element<HTMLFormElement>("direct-form");
  const directName = element<HTMLInputElement>("direct-name");
  const createForm = element<HTMLFormElement>("create-form");
  const createName = element<HTMLInputElement>("create-name");

  // Most recent activity first, as myRooms orders them.
  let rooms: Entry[] = [];
  let generation = 0;
  let client: Client | null = null;
  let stop: (() => void) | null = null;

  const render = (): void => {
    const me = authGet()?.username ?? null;
    list.replaceChildren(
      ...rooms.map(({ room, unread, mentioned }) => {
        const item = document.createElement("li");
        item.dataset.room = room.name;
        item.classList.toggle("current", room.name === current);
        item.classList.toggle("direct", room.direct);
        item.classList.toggle("private", room.private && !room.direct);
        item.classList.toggle("mentioned", mentioned && unread > 0);
        const link = document.createElement("a");
        link.href = roomUrl(index, room.name);
        link.textContent = roomLabel(room, me);
        if (room.name === current) link.setAttribute("aria-current", "page");
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = String(unread);
        badge.hidden = unread === 0;
        badge.setAttribute("aria-label", `${unread} unread`);
        item.append(link, badge);
        return item;
      }),
    );
  };

  const find = (name: string): Entry | undefined => rooms.find((entry) => entry.room.name === name);

  /** Put ``room`` first (adding it if new), keeping its badge unless ``unread`` is given. */
  const raise = (room: ChatRoomItemFragment, unread?: number): Entry => {
    const old = find(room.name);
    const entry = { room, unread: unread ?? old?.unread ?? room.unreadCount, mentioned: old?.mentioned ?? false };
    rooms = [entry, ...rooms.filter((other) => other !== old)];
    return entry;
  };

  const apply = (event: InboxEvent): void => {
    switch (event.__typename) {
      case "RoomActivity":
        raise(event.room, event.unreadCount);
        break;
      case "UnreadChanged": {
        const entry = find(event.room.name);
        if (entry) {
          entry.unread = event.unreadCount;
          if (entry.unread === 0) entry.mentioned = false;
        }
        break;
      }
      case "Mentioned": {
        const entry = find(event.message.room.name);
        if (entry) entry.mentioned = true;
        break;
      }
      case "RoomJoined":
        if (!find(event.room.name)) raise(event.room);
        break;
      case "RoomLeft":
        rooms = rooms.filter((entry) => entry.room.name !== event.room.name);
        break;
    }
    render();
  };

  /** Read myRooms afresh; inbox events that arrive meanwhile are applied after it. */
  const load = async (started: number, pending: InboxEvent[] | null): Promise<void> => {
    try {
      const data = await request(endpoint, MyRooms, {});
      if (started !== generation) return;
      rooms = data.myRooms.edges.map(({ node }) => ({ room: node, unread: node.unreadCount, mentioned: false }));
      list.dataset.state = "loaded";
      // Each carries the absolute unread count, so one the answer already reflects
      // changes nothing when applied again.
      for (const event of pending ?? []) apply(event);
      render();
    } catch (error) {
      if (started === generation) failure.textContent = errorText(error);
    }
  };

  const start = (): void => {
    generation += 1;
    const started = generation;
    stop?.();
    stop = null;
    void client?.dispose();
    client = null;
    rooms = [];
    list.dataset.state = "loading";
    render();
    sidebar.hidden = authGet() === null;
    if (authGet() === null) return;
    const socket = subscriptionClient(websocketUrl(endpoint));
    client = socket;
    // Buffered while myRooms is read; null once it has been.
    let pending: InboxEvent[] | null = [];
    // Every (re)connect reads the list again: events missed while away are not replayed.
    socket.on("connected", () => {
      if (started !== generation) return;
      pending = [];
      const buffered = pending;
      void load(started, buffered).finally(() => {
        if (pending === buffered) pending = null;
      });
    });
    stop = socket.subscribe<InboxSubscription>(
      { query: print(Inbox) },
      {
        next: (result) => {
          if (started !== generation || !result.data) return;
          if (pending) pending.push(result.data.inbox);
          else apply(result.data.inbox);
        },
        error: (error) => {
          if (started !== generation) return;
          failure.textContent = Array.isArray(error) && error.length > 0 ? String(error[0].message) : "Connection failed.";
        },
        complete: () => undefined,
      },
    );
  };

  const go = (name: string): void => location.assign(roomUrl(index, name));

  directForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    failure.textContent = "";
    try {
      go((await request(endpoint, DirectRoom, { username: directName.value.trim() })).directRoom.name);
    } catch (error) {
      failure.textContent = errorText(error);
    }
  });

  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    failure.textContent = "";
    try {
      go((await request(endpoint, CreateRoom, { name: createName.value.trim(), private: true })).createRoom.name);
    } catch (error) {
      failure.textContent = errorText(error);
    }
  });

  let authenticatedAs = authGet()?.token;
  window.addEventListener("chat:auth", () => {
    if (authGet()?.token !== authenticatedAs) {
      authenticatedAs = authGet()?.token;
      start();
    }
  });
  start();

  return {
    setUnread: (room, unread) => {
      const entry = find(room);
      if (!entry || entry.unread === unread) return;
      entry.unread = unread;
      if (unread === 0) entry.mentioned = false;
      render();
    },
  };
}
