// The open room's signals: who is typing, who is here, who has read the last message;
// and what this viewer tells the room (typing, read up to).
import { authGet, request } from "./api";
import { element } from "./auth";
import type { ChatMessageFragment, RoomPresenceQuery, RoomSignalsSubscription } from "./gql/graphql";
import { MarkRead, RoomPresence, SetTyping } from "./operations";
import type { RoomList } from "./rooms";

type Signal = RoomSignalsSubscription["roomSignals"];
type Presence = Extract<Signal, { __typename: "PresenceChanged" }>;
type RoomState = NonNullable<RoomPresenceQuery["room"]>;

// setTyping(true) at most this often while typing; the server forgets it after 6 s.
export const TYPING_REFRESH_MS = 2000;
// markRead at most this often: each counts against the posting rate limit (CHAT_RATE_LIMIT).
export const MARK_READ_INTERVAL_MS = 2000;

/** "alice is typing…", "alice and bob are typing…", "alice, bob and 2 others are typing…". */
export function typingText(names: string[], unlisted: number): string {
  const total = names.length + unlisted;
  if (total === 0) return "";
  if (names.length === 0) return `${total} people are typing…`;
  const verb = total === 1 ? "is" : "are";
  if (unlisted > 0) {
    return `${names.join(", ")} and ${unlisted} ${unlisted === 1 ? "other" : "others"} ${verb} typing…`;
  }
  const listed = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
  return `${listed} ${verb} typing…`;
}

export interface SignalHooks {
  rooms: RoomList;
  fail(error: unknown): void;
  /** The newest message shown, if any. */
  newest(): ChatMessageFragment | null;
  /** The seq of the newest message shown that someone else wrote, if any. */
  newestFromOthers(): number | null;
  /** The room's state when it opened (whether it is direct, its members). */
  opened(state: RoomState): void;
}

export function bindSignals(endpoint: string, room: string, hooks: SignalHooks) {
  const typing = element<HTMLElement>("typing");
  const presence = element<HTMLElement>("presence");
  const onlineCount = element<HTMLElement>("online-count");
  const onlineList = element<HTMLElement>("online-list");
  const seenBy = element<HTMLElement>("seen-by");

  let generation = 0;
  let direct = false;
  // Presence: the users known online, and how many more the count says there are.
  let online = new Set<string>();
  let unlisted = 0;
  // PresenceChanged events that arrive before the room's state is read: applied after it.
  let pending: Presence[] | null = [];
  // Read markers others set while the room is open (ReadUpTo), by username.
  let readUpTo = new Map<string, number>();
  // The seq up to which this viewer marked the room read, and the request doing it.
  let markedSeq = 0;
  let marking = false;
  let markedAt = 0;
  let markLater: ReturnType<typeof setTimeout> | null = null;
  let opened = false;
  let typingSentAt = 0;
  let typingOn = false;
  // setTyping requests in order, one at a time: a `true` overtaking the `false` after it
  // (or landing after the post that ended it) would show typing for another 6 s.
  let typingSent: Promise<unknown> = Promise.resolve();

  const me = (): string | null => authGet()?.username ?? null;

  const renderPresence = (): void => {
    const names = [...online].sort((a, b) => a.localeCompare(b));
    onlineCount.textContent = `${names.length + unlisted} online`;
    onlineList.textContent = names.join(", ") + (unlisted > 0 ? ` and ${unlisted} more` : "");
    presence.hidden = false;
  };

  const applyPresence = (signal: Presence): void => {
    const name = signal.user.username;
    if (signal.online) {
      online.add(name);
    } else if (!online.delete(name) && unlisted > 0) {
      // One of those beyond the list read when the room opened.
      unlisted -= 1;
    }
  };

  const renderSeen = (): void => {
    const last = hooks.newest();
    const viewer = me();
    const names = last
      ? [...readUpTo]
          .filter(([name, seq]) => seq >= last.seq && name !== viewer && name !== last.author.username)
          .map(([name]) => name)
          .sort((a, b) => a.localeCompare(b))
      : [];
    seenBy.textContent = names.length > 0 ? `Seen by ${names.join(", ")}` : "";
    seenBy.hidden = names.length === 0;
  };

  /** Mark the newest message shown as read: one request at a time, at most one every
   * MARK_READ_INTERVAL_MS, and none while only the viewer's own posts are new (they never
   * count as unread). */
  const markShown = (): void => {
    renderSeen();
    const last = hooks.newest();
    const others = hooks.newestFromOthers();
    if (!opened || marking || markLater !== null || !last || me() === null) return;
    if (others === null || others <= markedSeq || document.visibilityState !== "visible") return;
    const wait = markedAt + MARK_READ_INTERVAL_MS - Date.now();
    if (wait > 0) {
      markLater = setTimeout(() => {
        markLater = null;
        markShown();
      }, wait);
      return;
    }
    const started = generation;
    const seq = last.seq;
    marking = true;
    markedAt = Date.now();
    request(endpoint, MarkRead, { room, seq })
      .then((data) => {
        if (started !== generation) return;
        hooks.rooms.setUnread(data.markRead.name, data.markRead.unreadCount);
      })
      .catch(() => {
        // A room this viewer may not mark (not theirs to read any more): not retried.
      })
      .finally(() => {
        if (started !== generation) return;
        markedSeq = Math.max(markedSeq, seq);
        marking = false;
        markShown();
      });
  };

  const sendTyping = (on: boolean): void => {
    typingOn = on;
    typingSent = typingSent
      .then(() => request(endpoint, SetTyping, { room, typing: on }))
      .catch(() => {
        // Typing is a hint: a lost one expires on the server by itself.
      });
  };

  document.addEventListener("visibilitychange", markShown);

  return {
    direct: (): boolean => direct,

    /** Forget everything shown (a new viewer, or the room shown afresh). */
    reset(): void {
      generation += 1;
      online = new Set();
      unlisted = 0;
      pending = [];
      readUpTo = new Map();
      markedSeq = 0;
      marking = false;
      markedAt = 0;
      if (markLater !== null) clearTimeout(markLater);
      markLater = null;
      opened = false;
      typingSentAt = 0;
      typingOn = false;
      typing.textContent = "";
      presence.hidden = true;
      seenBy.hidden = true;
    },

    /** Read who is here and the viewer's read marker; then mark what is shown. */
    open(): void {
      const started = generation;
      pending = [];
      // The current typing arrives first on the new subscription, if anyone types.
      typing.textContent = "";
      request(endpoint, RoomPresence, { room })
        .then((data) => {
          if (started !== generation || !data.room) return;
          const state = data.room;
          direct = state.direct;
          online = new Set(state.online.map((user) => user.username));
          // Subscribed just now: the answer may predate it.
          const viewer = me();
          if (viewer !== null) online.add(viewer);
          unlisted = Math.max(0, state.onlineCount - online.size);
          for (const signal of pending ?? []) applyPresence(signal);
          pending = null;
          renderPresence();
          markedSeq = state.lastReadSeq ?? 0;
          opened = true;
          hooks.opened(state);
          markShown();
        })
        .catch((error: unknown) => {
          if (started !== generation) return;
          pending = null;
          hooks.fail(error);
        });
    },

    apply(signal: Signal): void {
      switch (signal.__typename) {
        case "TypingChanged": {
          const viewer = me();
          const names = signal.users.map((user) => user.username).filter((name) => name !== viewer);
          const listedMe = signal.users.length - names.length;
          typing.textContent = typingText(names, signal.count - names.length - listedMe);
          break;
        }
        case "PresenceChanged":
          if (pending) pending.push(signal);
          else {
            applyPresence(signal);
            renderPresence();
          }
          break;
        case "ReadUpTo":
          readUpTo.set(signal.user.username, Math.max(signal.seq, readUpTo.get(signal.user.username) ?? 0));
          renderSeen();
          break;
      }
    },

    /** A message was shown: mark it read, and say who has seen it. */
    shown: markShown,

    /** Wait for the setTyping requests sent so far (a post after them ends the typing). */
    typingSettled: (): Promise<unknown> => typingSent,

    /** The viewer posted: the server ended their typing. */
    posted(): void {
      typingOn = false;
      typingSentAt = 0;
    },

    /** The message box now holds ``text``: typing while it has any, not once it is empty. */
    typed(text: string): void {
      if (me() === null) return;
      if (text.trim() === "") {
        if (typingOn) sendTyping(false);
        typingSentAt = 0;
        return;
      }
      const now = Date.now();
      if (now - typingSentAt >= TYPING_REFRESH_MS) {
        typingSentAt = now;
        sendTyping(true);
      }
    },
  };
}
