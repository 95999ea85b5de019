// The room's log as DOM: messages (with replies, reactions and their actions), member
// lines and date separators. User text is only ever set as textContent.
import type { ChatMessageFragment } from "./gql/graphql";

export type ChatMessage = ChatMessageFragment;

/** The emoji the picker offers. */
export const PICKER = ["👍", "❤️", "😂", "🎉", "😮", "👀"];

/** What the viewer may do with messages, and the handlers that do it. */
export interface Viewer {
  username: string | null;
  editing: Set<number>;
  // The message whose emoji picker is open, if any.
  picking: number | null;
  reply(message: ChatMessage): void;
  toggleReaction(message: ChatMessage, emoji: string, reactedByMe: boolean): void;
  edit(message: ChatMessage, text: string): Promise<boolean>;
  remove(message: ChatMessage): void;
  showOriginal(seq: number): void;
  rerender(seq: number): void;
}

function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(className: string, text: string, onClick: () => void): HTMLButtonElement {
  const node = make("button", className, text);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

function timeOf(at: string): HTMLTimeElement {
  const time = document.createElement("time");
  time.dateTime = at;
  time.textContent = new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return time;
}

/** The local calendar day of a timestamp, as YYYY-MM-DD. */
export function dayOf(at: string): string {
  const date = new Date(at);
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function dateSeparator(at: string): HTMLLIElement {
  const item = make(
    "li",
    "date",
    new Date(at).toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" }),
  );
  item.dataset.day = dayOf(at);
  item.setAttribute("role", "separator");
  return item;
}

/** Put a date separator before the first line of each day, and nowhere else. */
export function separateDays(log: HTMLElement): void {
  for (const old of log.querySelectorAll(":scope > li.date")) old.remove();
  let day = "";
  for (const item of Array.from(log.querySelectorAll<HTMLLIElement>(":scope > li[data-at]"))) {
    const at = item.dataset.at ?? "";
    if (dayOf(at) !== day) {
      day = dayOf(at);
      item.before(dateSeparator(at));
    }
  }
}

/** Append ``lines`` (in time order) after the last line, each new day with its separator. */
export function appendDated(log: HTMLElement, lines: HTMLLIElement[]): void {
  for (const line of lines) {
    const at = line.dataset.at ?? "";
    // The last line is never a separator: each is followed by the line it dates.
    const previous = (log.lastElementChild as HTMLElement | null)?.dataset.at;
    if (previous === undefined || dayOf(previous) !== dayOf(at)) log.append(dateSeparator(at));
    log.append(line);
  }
}

/** A "joined" or "left" line. */
export function memberLine(eventSeq: number, at: string, text: string): HTMLLIElement {
  const item = make("li", "member");
  item.dataset.eventSeq = String(eventSeq);
  item.dataset.at = at;
  item.append(timeOf(at), make("span", "text", text));
  return item;
}

function quote(original: NonNullable<ChatMessage["replyTo"]>, viewer: Viewer): HTMLButtonElement {
  const node = button("quote", "", () => viewer.showOriginal(original.seq));
  node.dataset.seq = String(original.seq);
  node.title = "Show the original message";
  node.append(
    make("span", "quote-author", original.author.username),
    original.deleted ? make("span", "quote-text deleted", "message deleted") : make("span", "quote-text", original.text),
  );
  return node;
}

function editForm(message: ChatMessage, viewer: Viewer): HTMLFormElement {
  const form = make("form", "edit-form");
  const input = make("input", "edit-input");
  input.value = message.text;
  input.maxLength = 4000;
  input.setAttribute("aria-label", "Edit message");
  const cancel = (): void => {
    viewer.editing.delete(message.seq);
    viewer.rerender(message.seq);
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancel();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await viewer.edit(message, input.value)) cancel();
  });
  const save = make("button", "save", "Save");
  save.type = "submit";
  form.append(input, save, button("cancel", "Cancel", cancel));
  queueMicrotask(() => input.focus());
  return form;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** ``text`` with each ``@name`` of a mentioned user marked (case as typed). */
export function mentionedText(text: string, mentions: readonly { username: string }[], viewer: string | null): Node[] {
  if (mentions.length === 0) return [document.createTextNode(text)];
  // As the server reads them (chat/mentions.py): "@" not after a name character, then a
  // name, then the end of the name or only full stops ("thanks @bob."). Longest first,
  // so "@ann" does not claim the start of "@anna".
  const names = mentions.map((user) => escapeRegExp(user.username)).sort((a, b) => b.length - a.length);
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_.@+-])@(${names.join("|")})(?=\\.*(?![\\p{L}\\p{N}_.+-]))`, "giu");
  const nodes: Node[] = [];
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    const start = match.index ?? 0;
    if (start > at) nodes.push(document.createTextNode(text.slice(at, start)));
    const mark = make("mark", "mention", match[0]);
    if (viewer !== null && match[1].toLowerCase() === viewer.toLowerCase()) mark.classList.add("me");
    nodes.push(mark);
    at = start + match[0].length;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

/** Fill ``item`` with ``message`` as ``viewer`` sees it. */
export function renderMessage(item: HTMLLIElement, message: ChatMessage, viewer: Viewer): void {
  const mine = viewer.username !== null && message.author.username === viewer.username;
  const signedIn = viewer.username !== null;
  item.className = "message";
  item.classList.toggle("mine", mine);
  item.classList.toggle("deleted", message.deleted);
  item.classList.toggle(
    "mentions-me",
    !message.deleted && message.mentions.some((user) => user.username === viewer.username),
  );
  item.id = `message-${message.seq}`;
  item.dataset.seq = String(message.seq);
  item.dataset.id = message.id;
  item.dataset.at = message.createdAt;
  // An edit in progress survives the message changing under it (a reaction, say).
  const editing = item.querySelector<HTMLFormElement>(".edit-form");
  const focused = editing?.contains(document.activeElement) ?? false;
  item.replaceChildren();

  if (message.replyTo) item.append(quote(message.replyTo, viewer));
  const line = make("div", "line");
  line.append(timeOf(message.createdAt), make("span", "author", message.author.username));
  if (message.deleted) {
    line.append(make("span", "text", "message deleted"));
  } else if (mine && viewer.editing.has(message.seq)) {
    const form = editing ?? editForm(message, viewer);
    line.append(form);
    if (focused) form.querySelector("input")?.focus();
  } else {
    const text = make("span", "text");
    text.append(...mentionedText(message.text, message.mentions, viewer.username));
    line.append(text);
    if (message.editedAt) {
      const edited = make("span", "edited", "(edited)");
      edited.title = new Date(message.editedAt).toLocaleString();
      line.append(edited);
    }
  }
  item.append(line);
  if (message.deleted) return;

  if (message.reactions.length > 0) {
    const reactions = make("div", "reactions");
    for (const reaction of message.reactions) {
      const chip = button(reaction.reactedByMe ? "reaction mine" : "reaction", `${reaction.emoji} ${reaction.count}`, () =>
        viewer.toggleReaction(message, reaction.emoji, reaction.reactedByMe),
      );
      chip.dataset.emoji = reaction.emoji;
      chip.setAttribute("aria-pressed", String(reaction.reactedByMe));
      chip.disabled = !signedIn;
      reactions.append(chip);
    }
    item.append(reactions);
  }
  if (!signedIn) return;

  const actions = make("div", "actions");
  const picker = make("div", "picker");
  picker.hidden = viewer.picking !== message.seq;
  for (const emoji of PICKER) {
    const reactedByMe = message.reactions.some((r) => r.emoji === emoji && r.reactedByMe);
    const choice = button("pick", emoji, () => {
      picker.hidden = true;
      viewer.picking = null;
      viewer.toggleReaction(message, emoji, reactedByMe);
    });
    choice.dataset.emoji = emoji;
    picker.append(choice);
  }
  actions.append(
    button("reply", "Reply", () => viewer.reply(message)),
    button("react", "React", () => {
      // One picker open at a time.
      if (viewer.picking !== null && viewer.picking !== message.seq) {
        const other = document.getElementById(`message-${viewer.picking}`)?.querySelector<HTMLElement>(".picker");
        if (other) other.hidden = true;
      }
      picker.hidden = !picker.hidden;
      viewer.picking = picker.hidden ? null : message.seq;
    }),
  );
  if (mine) {
    actions.append(
      button("edit", "Edit", () => {
        viewer.editing.add(message.seq);
        viewer.rerender(message.seq);
      }),
      button("delete", "Delete", () => viewer.remove(message)),
    );
  }
  item.append(actions, picker);
}
