// The room page: recent history, then live messages resumed after the last seq seen.
import type { Client } from "graphql-ws";
import { authGet, request, subscriptionClient, websocketUrl } from "./api";
import { element, errorText } from "./auth";
import type { ChatMessageFragment } from "./gql/graphql";
import { MessageAdded, RecentMessages, SendMessage } from "./operations";
import { print } from "graphql";

const HISTORY = 50;

export function bindRoom(endpoint: string, room: string): void {
  const log = element<HTMLOListElement>("log");
  const status = element<HTMLElement>("status");
  const form = element<HTMLFormElement>("send-form");
  const input = element<HTMLInputElement>("message-input");
  const failure = element<HTMLElement>("send-error");
  let lastSeq = 0;

  const setStatus = (state: string, text: string): void => {
    status.dataset.state = state;
    status.textContent = text;
  };

  const append = (message: ChatMessageFragment): void => {
    // Replays after a reconnect may repeat what is shown; seqs arrive in order.
    if (message.seq <= lastSeq) return;
    lastSeq = message.seq;
    const item = document.createElement("li");
    item.dataset.seq = String(message.seq);
    const time = document.createElement("time");
    time.dateTime = message.createdAt;
    time.textContent = new Date(message.createdAt).toLocaleTimeString([], {
      hour: "2-digit",
      minute: "2-digit",
    });
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = message.author.username;
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text;
    item.append(time, author, text);
    log.append(item);
    item.scrollIntoView({ block: "end" });
  };

  let client: Client | null = null;
  let stop: (() => void) | null = null;

  const subscribe = (): void => {
    stop?.();
    void client?.dispose();
    const current = subscriptionClient(websocketUrl(endpoint));
    client = current;
    // A replaced client's late "closed" must not overwrite the new one's state.
    current.on("connected", () => client === current && setStatus("live", "live"));
    current.on("closed", () => client === current && setStatus("reconnecting", "reconnecting…"));
    // graphql-ws sends this payload again after every reconnect; the getter makes each
    // resend resume after the last seq shown, so nothing is missed or replayed twice.
    const payload = {
      query: print(MessageAdded),
      get variables() {
        return { room, afterSeq: lastSeq };
      },
    };
    stop = current.subscribe<{ messageAdded: ChatMessageFragment }>(payload, {
      next: (result) => {
        if (result.data) append(result.data.messageAdded);
        else if (result.errors) failure.textContent = result.errors[0].message;
      },
      error: (error) => {
        // GraphQL errors (e.g. FORBIDDEN) arrive as a list; a fatal close as a CloseEvent.
        setStatus("failed", "disconnected");
        if (Array.isArray(error) && error.length > 0) failure.textContent = String(error[0].message);
        else if (error instanceof CloseEvent) failure.textContent = `Connection closed: ${error.reason || error.code}`;
        else failure.textContent = "Connection failed.";
      },
      complete: () => setStatus("ended", "ended"),
    });
  };

  const renderAuth = (): void => {
    const signedIn = authGet() !== null;
    input.disabled = !signedIn;
    input.placeholder = signedIn ? "Message" : "Sign in to send messages";
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    failure.textContent = "";
    try {
      // The message is shown when the subscription delivers it, in seq order.
      await request(endpoint, SendMessage, { room, text });
      input.value = "";
    } catch (error) {
      failure.textContent = errorText(error);
    }
    input.focus();
  });

  let authenticatedAs = authGet()?.token;
  window.addEventListener("chat:auth", () => {
    renderAuth();
    // A new identity needs a new socket (private rooms depend on who is asking).
    if (authGet()?.token !== authenticatedAs) {
      authenticatedAs = authGet()?.token;
      subscribe();
    }
  });
  renderAuth();

  setStatus("connecting", "connecting…");
  request(endpoint, RecentMessages, { room, last: HISTORY })
    .then((data) => {
      for (const edge of data.messages.edges) append(edge.node);
    })
    .catch((error: unknown) => {
      failure.textContent = errorText(error);
    })
    .finally(subscribe);
}
