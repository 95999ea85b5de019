// The room page: the latest page of history (older pages when scrolled to the top), then
// the room's events live, resumed after the last eventSeq seen.
import type { Client } from "graphql-ws";
import { print } from "graphql";
import {
  authGet,
  newClientId,
  request,
  requestRetrying,
  subscriptionClient,
  websocketUrl,
} from "./api";
import { element, errorText } from "./auth";
import type { ChatRoomEventFragment, RoomSignalsSubscription } from "./gql/graphql";
import {
  AddReaction,
  DeleteMessage,
  EditMessage,
  InviteToRoom,
  LeaveRoom,
  MessagePage,
  RemoveReaction,
  RoomEvents,
  RoomPosition,
  RoomSignals,
  SendMessage,
} from "./operations";
import { type RoomList, roomLabel } from "./rooms";
import { bindSignals } from "./signals";
import {
  appendDated,
  type ChatMessage,
  memberLine,
  renderMessage,
  separateDays,
  type Viewer,
} from "./timeline";

// Within this many pixels of the top, the next older page loads.
const TOP_MARGIN = 40;

export function bindRoom(endpoint: string, index: string, room: string, rooms: RoomList): void {
  const log = element<HTMLOListElement>("log");
  const status = element<HTMLElement>("status");
  const form = element<HTMLFormElement>("send-form");
  const input = element<HTMLInputElement>("message-input");
  const failure = element<HTMLElement>("send-error");
  const replyBar = element<HTMLElement>("reply-bar");
  const replyQuote = element<HTMLElement>("reply-quote");
  const inviteForm = element<HTMLFormElement>("invite-form");
  const inviteName = element<HTMLInputElement>("invite-name");

  // What is shown, by seq; reset whenever the viewer changes (reactedByMe is theirs).
  let messages = new Map<number, ChatMessage>();
  let newestSeq = 0;
  let lastEventSeq = 0;
  let olderCursor: string | null = null;
  let hasOlder = false;
  let loadingOlder: Promise<void> | null = null;
  let replyingTo: ChatMessage | null = null;
  // Bumped on every restart: answers and events for an earlier one are dropped.
  let generation = 0;

  const setStatus = (state: string, text: string): void => {
    status.dataset.state = state;
    status.textContent = text;
  };

  const fail = (error: unknown): void => {
    failure.textContent = errorText(error);
  };

  const item = (seq: number): HTMLLIElement | null => log.querySelector<HTMLLIElement>(`li.message[data-seq="${seq}"]`);

  const viewer: Viewer = {
    username: null,
    editing: new Set(),
    picking: null,
    reply: (message) => {
      replyingTo = message;
      replyQuote.textContent = `${message.author.username}: ${message.text}`;
      replyBar.hidden = false;
      input.focus();
    },
    toggleReaction: (message, emoji, reactedByMe) => {
      failure.textContent = "";
      const variables = { id: message.id, emoji };
      const done = reactedByMe ? request(endpoint, RemoveReaction, variables) : request(endpoint, AddReaction, variables);
      done.catch(fail);
    },
    edit: async (message, text) => {
      failure.textContent = "";
      try {
        await request(endpoint, EditMessage, { id: message.id, text });
        return true;
      } catch (error) {
        fail(error);
        return false;
      }
    },
    remove: (message) => {
      if (!confirm("Delete this message?")) return;
      failure.textContent = "";
      request(endpoint, DeleteMessage, { id: message.id }).catch(fail);
    },
    showOriginal: (seq) => void showMessage(seq),
    rerender: (seq) => {
      const shown = item(seq);
      const message = messages.get(seq);
      if (shown && message) renderMessage(shown, message, viewer);
    },
  };

  const cancelReply = (): void => {
    replyingTo = null;
    replyBar.hidden = true;
    replyQuote.textContent = "";
  };

  const signals = bindSignals(endpoint, room, {
    rooms,
    fail,
    newest: () => messages.get(newestSeq) ?? null,
    newestFromOthers: () => {
      for (let seq = newestSeq; seq > 0; seq -= 1) {
        const message = messages.get(seq);
        if (!message) return null;
        if (message.author.username !== viewer.username) return seq;
      }
      return null;
    },
    opened: (state) => {
      inviteForm.hidden = state.direct || authGet() === null;
      if (state.direct) {
        const label = roomLabel({ ...state, name: room }, authGet()?.username ?? null);
        element<HTMLElement>("room-title").textContent = label;
        document.title = `${label} · Chat`;
      }
    },
  });

  const nearBottom = (): boolean => log.scrollHeight - log.scrollTop - log.clientHeight < 60;

  const messageItem = (message: ChatMessage): HTMLLIElement => {
    messages.set(message.seq, message);
    newestSeq = Math.max(newestSeq, message.seq);
    const li = document.createElement("li");
    renderMessage(li, message, viewer);
    return li;
  };

  const appendLines = (lines: HTMLLIElement[], follow = nearBottom()): void => {
    appendDated(log, lines);
    if (follow) log.scrollTop = log.scrollHeight;
  };

  /** Show ``message`` as it is now, and the quotes of it in replies. */
  const update = (message: ChatMessage): void => {
    messages.set(message.seq, message);
    viewer.rerender(message.seq);
    for (const [seq, reply] of messages) {
      if (reply.replyTo?.id !== message.id) continue;
      const { id, text, deleted, author } = message;
      messages.set(seq, { ...reply, replyTo: { id, seq: message.seq, text, deleted, author } });
      viewer.rerender(seq);
    }
    if (message.deleted && replyingTo?.id === message.id) cancelReply();
  };

  const apply = (event: ChatRoomEventFragment): void => {
    // Replays after a reconnect may repeat what is shown; events arrive in order.
    if (event.eventSeq <= lastEventSeq) return;
    lastEventSeq = event.eventSeq;
    switch (event.__typename) {
      case "MessagePosted":
        if (messages.has(event.message.seq)) update(event.message);
        else if (event.message.seq > newestSeq) {
          // Your own post brings you to the end; others' only if you were there.
          const mine = event.message.author.username === viewer.username;
          appendLines([messageItem(event.message)], mine || nearBottom());
          signals.shown();
        }
        break;
      case "MessageEdited":
      case "MessageDeleted":
      case "ReactionAdded":
      case "ReactionRemoved":
        if (messages.has(event.message.seq)) update(event.message);
        break;
      case "MemberJoined":
        appendLines([memberLine(event.eventSeq, event.at, `${event.user.username} joined`)]);
        break;
      case "MemberLeft": {
        const { user, removedBy } = event;
        const text = removedBy ? `${user.username} was removed by ${removedBy.username}` : `${user.username} left`;
        appendLines([memberLine(event.eventSeq, event.at, text)]);
        break;
      }
    }
  };

  const setHistory = (state: "more" | "loading" | "complete"): void => {
    log.dataset.history = state;
  };

  /** Fetch the page of history before the oldest message shown, and show it. */
  const loadOlder = (): Promise<void> => {
    if (!loadingOlder) {
      const started = generation;
      setHistory("loading");
      loadingOlder = request(endpoint, MessagePage, { room, before: olderCursor })
        .then((data) => {
          if (started !== generation) return;
          const page = data.messages;
          const fresh = page.edges.map((edge) => edge.node).filter((message) => !messages.has(message.seq));
          const first = olderCursor === null;
          const height = log.scrollHeight;
          const top = log.scrollTop;
          log.prepend(...fresh.map(messageItem));
          separateDays(log);
          // Keep the lines that were shown where they were; the first page starts at the end.
          log.scrollTop = first ? log.scrollHeight : top + log.scrollHeight - height;
          hasOlder = page.pageInfo.hasPreviousPage;
          olderCursor = page.pageInfo.startCursor;
          setHistory(hasOlder ? "more" : "complete");
          if (first) signals.shown();
        })
        .catch((error: unknown) => {
          if (started === generation) {
            setHistory("more");
            fail(error);
          }
        })
        .finally(() => {
          if (started === generation) loadingOlder = null;
        });
    }
    return loadingOlder;
  };

  /** Load older pages while the log cannot scroll (nothing would ask for them). */
  const fill = async (): Promise<void> => {
    const started = generation;
    while (started === generation && hasOlder && log.scrollHeight <= log.clientHeight + TOP_MARGIN) {
      await loadOlder();
    }
  };

  /** Scroll to message ``seq``, loading older pages until it is shown. */
  const showMessage = async (seq: number): Promise<void> => {
    const started = generation;
    while (started === generation && !item(seq) && hasOlder) await loadOlder();
    const shown = item(seq);
    if (!shown) return;
    shown.scrollIntoView({ block: "center" });
    shown.classList.remove("highlight");
    // Restart the highlight's animation.
    void shown.offsetWidth;
    shown.classList.add("highlight");
  };

  log.addEventListener("scroll", () => {
    if (log.scrollTop < TOP_MARGIN && hasOlder) void loadOlder();
  });

  let client: Client | null = null;
  let stop: (() => void) | null = null;

  const subscribe = (): void => {
    const started = generation;
    const current = subscriptionClient(websocketUrl(endpoint));
    client = current;
    // A replaced client's late "closed" must not overwrite the new one's state.
    current.on("connected", () => {
      if (client !== current) return;
      setStatus("live", "live");
      // Who is here now, read on every (re)connect: signals missed while away are not
      // replayed. Asked as the subscriptions are (the viewer is counted among them).
      signals.open();
    });
    current.on("closed", () => client === current && setStatus("reconnecting", "reconnecting…"));
    // graphql-ws sends this payload again after every reconnect; the getter makes each
    // resend resume after the last eventSeq seen, so nothing is missed or applied twice.
    const payload = {
      query: print(RoomEvents),
      get variables() {
        return { room, afterEventSeq: lastEventSeq };
      },
    };
    const stopEvents = current.subscribe<{ roomEvents: ChatRoomEventFragment }>(payload, {
      next: (result) => {
        if (started !== generation) return;
        if (result.data) apply(result.data.roomEvents);
        else if (result.errors) failure.textContent = result.errors[0].message;
      },
      error: (error) => {
        if (started !== generation) return;
        // GraphQL errors (e.g. FORBIDDEN) arrive as a list; a fatal close as a CloseEvent.
        setStatus("failed", "disconnected");
        if (Array.isArray(error) && error.length > 0) failure.textContent = String(error[0].message);
        else if (error instanceof CloseEvent) failure.textContent = `Connection closed: ${error.reason || error.code}`;
        else failure.textContent = "Connection failed.";
      },
      complete: () => started === generation && setStatus("ended", "ended"),
    });
    // On the same socket: typing, presence and read markers, lossy by design.
    const stopSignals = current.subscribe<RoomSignalsSubscription>(
      { query: print(RoomSignals), variables: { room } },
      {
        next: (result) => {
          if (started === generation && result.data) signals.apply(result.data.roomSignals);
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    stop = () => {
      stopEvents();
      stopSignals();
    };
  };

  /** Show the room afresh for the current viewer: history, then its events. */
  const start = async (): Promise<void> => {
    generation += 1;
    const started = generation;
    stop?.();
    stop = null;
    void client?.dispose();
    client = null;
    messages = new Map();
    newestSeq = 0;
    lastEventSeq = 0;
    olderCursor = null;
    hasOlder = false;
    loadingOlder = null;
    viewer.username = authGet()?.username ?? null;
    signals.reset();
    viewer.editing.clear();
    viewer.picking = null;
    cancelReply();
    log.replaceChildren();
    setStatus("connecting", "connecting…");
    try {
      // The position first, then the messages: every event after it is replayed, and
      // applying one to a message shown as it is now changes nothing.
      const position = await request(endpoint, RoomPosition, { room });
      if (started !== generation) return;
      lastEventSeq = position.room?.lastEventSeq ?? 0;
      await loadOlder();
    } catch (error) {
      fail(error);
    }
    if (started !== generation) return;
    subscribe();
    await fill();
  };

  const renderAuth = (): void => {
    const signedIn = authGet() !== null;
    input.disabled = !signedIn;
    input.placeholder = signedIn ? "Message" : "Sign in to send messages";
    inviteForm.hidden = !signedIn || signals.direct();
  };

  // The post that last failed, with its clientId: sending the same text again reuses the
  // key, so a post whose answer was lost (it may have been stored) is not stored twice.
  let unsent: { text: string; clientId: string } | null = null;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    failure.textContent = "";
    const replyTo = replyingTo;
    const clientId = unsent?.text === text ? unsent.clientId : newClientId();
    unsent = { text, clientId };
    try {
      // The message is shown when the subscription delivers it, in order.
      await signals.typingSettled();
      // Retried with the same clientId after a transient failure (a server restarting).
      await requestRetrying(endpoint, SendMessage, {
        room,
        text,
        replyTo: replyTo?.id ?? null,
        clientId,
      });
      unsent = null;
      // Posting ends the author's typing on the server.
      signals.posted();
      // Keep what was typed (or chosen to reply to) while this was being sent.
      if (input.value === text) input.value = "";
      if (replyingTo === replyTo) cancelReply();
    } catch (error) {
      fail(error);
    }
    input.focus();
  });
  element<HTMLButtonElement>("reply-cancel").addEventListener("click", cancelReply);
  input.addEventListener("input", () => signals.typed(input.value));
  input.addEventListener("blur", () => signals.typed(""));

  inviteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    failure.textContent = "";
    try {
      await request(endpoint, InviteToRoom, { room, username: inviteName.value.trim() });
      inviteName.value = "";
    } catch (error) {
      fail(error);
    }
  });
  element<HTMLButtonElement>("leave").addEventListener("click", async () => {
    failure.textContent = "";
    try {
      await request(endpoint, LeaveRoom, { room });
      location.assign(index);
    } catch (error) {
      fail(error);
    }
  });

  let authenticatedAs = authGet()?.token;
  window.addEventListener("chat:auth", () => {
    renderAuth();
    // A new identity sees the room anew: private rooms and reactedByMe depend on who asks.
    if (authGet()?.token !== authenticatedAs) {
      authenticatedAs = authGet()?.token;
      void start();
    }
  });
  renderAuth();
  void start();
}
