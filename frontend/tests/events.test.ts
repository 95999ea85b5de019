// The room event stream (roomEvents) in Apollo Client, over graphql-ws with the generated
// possibleTypes in its cache, and in the legacy subscriptions-transport-ws client, against
// a real daphne (CHAT_HTTP_URL, CHAT_WS_URL). Every payload is asserted whole.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import type { ApolloClient } from "@apollo/client";
import { print } from "graphql";
import { SubscriptionClient } from "subscriptions-transport-ws";
import WebSocket from "ws";
import { chatClient, chatSocket } from "./apollo";
import type { AnyRoomEventFragment } from "./gql/graphql";
import {
  CreateRoom,
  Delete,
  Edit,
  EventMessageFields,
  JoinRoom,
  LeaveRoom,
  Messages,
  React,
  RoomEvents,
  RoomHistory,
  Send,
  Unreact,
} from "./operations";
import { equal, httpUrl, Inbox, ISO_TIME, signUp, wsUrl } from "./support";

// Expected values, with the __typename Apollo adds to each selection.
type Json = Record<string, unknown>;
const user = (username: string): Json => ({ __typename: "User", username });

interface MessageState {
  id: string;
  seq: number;
  text: string;
  author: string;
  deleted?: boolean;
  editedAt?: string | null;
  replyTo?: { id: string; text: string; deleted: boolean } | null;
  reactions?: { emoji: string; reactedByMe: boolean; users: string[] }[];
}

function message(m: MessageState): Json {
  return {
    __typename: "Message",
    id: m.id,
    seq: m.seq,
    text: m.text,
    deleted: m.deleted ?? false,
    editedAt: m.editedAt ?? null,
    author: user(m.author),
    replyTo: m.replyTo ? { __typename: "Message", ...m.replyTo } : null,
    reactions: (m.reactions ?? []).map((r) => ({
      __typename: "Reaction",
      emoji: r.emoji,
      count: r.users.length,
      reactedByMe: r.reactedByMe,
      users: r.users.map(user),
    })),
  };
}

/** A room's events as the test expects them: `at` is the server's, taken as received. */
class Expected {
  private ats = new Map<number, string>();

  constructor(readonly room: string) {}

  event(typename: string, eventSeq: number, actor: string, fields: Json): Json {
    return {
      __typename: typename,
      eventSeq,
      at: this.ats.get(eventSeq),
      actor: user(actor),
      room: { __typename: "Room", name: this.room, lastEventSeq: eventSeq },
      ...fields,
    };
  }

  /** Assert that `received` is the event `expected` (whole); remember its time. */
  check(received: unknown, expected: (at: Expected) => Json): void {
    const event = received as { eventSeq: number; at: string };
    assert.match(event.at, ISO_TIME);
    const previous = this.ats.get(event.eventSeq - 1);
    assert.ok(previous === undefined || Date.parse(previous) <= Date.parse(event.at));
    this.ats.set(event.eventSeq, event.at);
    equal(received, expected(this));
  }
}

const joined = (seq: number, who: string) => (e: Expected) =>
  e.event("MemberJoined", seq, who, { user: user(who) });
const left = (seq: number, who: string) => (e: Expected) =>
  e.event("MemberLeft", seq, who, { user: user(who), removedBy: null });
const messageEvent =
  (typename: string, seq: number, actor: string, m: MessageState) => (e: Expected) =>
    e.event(typename, seq, actor, { message: message(m) });
const reactionEvent =
  (typename: string, seq: number, who: string, emoji: string, m: MessageState) =>
  (e: Expected) =>
    e.event(typename, seq, who, { emoji, user: user(who), message: message(m) });

/** One line per event, through the union type codegen made of the fragments. */
function summary(event: AnyRoomEventFragment): string {
  const by = event.actor?.username ?? "?";
  switch (event.__typename) {
    case "MemberJoined":
    case "MemberLeft":
      return `${event.eventSeq} ${event.__typename} ${event.user.username}`;
    case "ReactionAdded":
    case "ReactionRemoved":
      return `${event.eventSeq} ${event.__typename} ${by} ${event.emoji} #${event.message.seq}`;
    default: {
      const { seq, text } = event.message;
      return `${event.eventSeq} ${event.__typename} ${by} #${seq} "${text}"`;
    }
  }
}

/** The next result of a subscription, not its end. */
async function nextEvent(inbox: Inbox<unknown>): Promise<object> {
  const result = await inbox.next();
  assert.ok(typeof result === "object" && result !== null, `an event, not ${String(result)}`);
  return result;
}

/** A signed-in Apollo Client's mutations: the data, asserted present. */
function mutations(client: ApolloClient) {
  return async <R, V extends Record<string, unknown>>(
    mutation: TypedDocumentNode<R, V>,
    variables: V,
  ): Promise<R> => {
    const { data, error } = await client.mutate({ mutation, variables });
    assert.equal(error, undefined);
    assert.ok(data);
    return data as R;
  };
}

test("Apollo Client: roomEvents with a fragment on each event type, possibleTypes in the cache, resumed after a reconnect", async () => {
  const room = "apollo-events";
  const grace = chatClient(httpUrl, wsUrl, await signUp("grace"));
  const alan = chatClient(httpUrl, wsUrl, await signUp("alan"));
  const [asGrace, asAlan] = [mutations(grace), mutations(alan)];
  // The watcher only watches. Its socket does not retry by itself: it resubscribes with
  // the last eventSeq it saw.
  const token = await signUp("edsger");
  const socket = chatSocket(wsUrl, token, 0);
  const watcher = chatClient(httpUrl, wsUrl, token, socket);
  const inbox = new Inbox<unknown>();
  const received: AnyRoomEventFragment[] = [];
  const follow = (afterEventSeq: number) =>
    watcher.subscribe({ query: RoomEvents, variables: { room, afterEventSeq } }).subscribe({
      next: inbox.push,
      error: inbox.push,
      complete: () => inbox.push("complete"),
    });
  const expected = new Expected(room);
  const expectEvent = async (event: (e: Expected) => Json) => {
    const result = (await nextEvent(inbox)) as { data?: { roomEvents: AnyRoomEventFragment } };
    equal(Object.keys(result), ["data"]);
    assert.ok(result.data);
    expected.check(result.data.roomEvents, event);
    received.push(result.data.roomEvents);
  };
  const messagesInCache = () => watcher.readQuery({ query: Messages, variables: { room } });
  const messageInCache = (id: string) =>
    watcher.readFragment({
      fragment: EventMessageFields,
      fragmentName: "EventMessage",
      id: watcher.cache.identify({ __typename: "Message", id }),
    });
  const page = (...nodes: MessageState[]) => ({
    messages: {
      __typename: "MessageConnection",
      edges: nodes.map((node) => ({ __typename: "MessageEdge", node: message(node) })),
    },
  });

  await asGrace(CreateRoom, { name: room });
  let subscription = follow(0);
  try {
    // The replay of event 1 shows the subscription is live.
    await expectEvent(joined(1, "grace"));
    await asAlan(JoinRoom, { room });
    await expectEvent(joined(2, "alan"));

    const { sendMessage: posted } = await asGrace(Send, { room, text: "hello" });
    const hello: MessageState = { id: posted.id, seq: 1, text: "hello", author: "grace" };
    equal(posted, message(hello));
    await expectEvent(messageEvent("MessagePosted", 3, "grace", hello));
    const { sendMessage: replied } = await asAlan(Send, { room, text: "hi!", replyTo: hello.id });
    const quote = { id: hello.id, text: "hello", deleted: false };
    const reply: MessageState = {
      id: replied.id,
      seq: 2,
      text: "hi!",
      author: "alan",
      replyTo: quote,
    };
    equal(replied, message(reply));
    await expectEvent(messageEvent("MessagePosted", 4, "alan", reply));

    // The watcher's history, over HTTP, lands in the same normalised cache.
    const history = await watcher.query({ query: Messages, variables: { room } });
    equal(history, { data: page(hello, reply) });

    const { editMessage } = await asGrace(Edit, { id: hello.id, text: " hello, world " });
    assert.match(editMessage.editedAt ?? "", ISO_TIME);
    const edited = { ...hello, text: "hello, world", editedAt: editMessage.editedAt };
    equal(editMessage, message(edited));
    await expectEvent(messageEvent("MessageEdited", 5, "grace", edited));
    // One Message per id in the cache: the edit shows in the history read before it, in
    // the reply's quote too, without asking the server again.
    const editedQuote = { ...quote, text: "hello, world" };
    equal(messagesInCache(), page(edited, { ...reply, replyTo: editedQuote }));
    equal(messageInCache(hello.id), message(edited));

    const { addReaction } = await asAlan(React, { id: hello.id, emoji: "👍🏽" });
    const thumbs = { emoji: "👍🏽", reactedByMe: false, users: ["alan"] };
    const reacted = { ...edited, reactions: [thumbs] };
    // reactedByMe is the viewer's: alan's in his answer, the watcher's in the events.
    equal(addReaction, message({ ...edited, reactions: [{ ...thumbs, reactedByMe: true }] }));
    await expectEvent(reactionEvent("ReactionAdded", 6, "alan", "👍🏽", reacted));
    equal(messageInCache(hello.id), message(reacted));

    // The connection drops; what happens meanwhile is stored.
    socket.terminate();
    const dropped = (await inbox.next()) as { data?: unknown; error?: Error };
    equal(Object.keys(dropped), ["data", "error"]);
    assert.equal(dropped.data, undefined);
    assert.equal(dropped.error?.message, "4499: Terminated");
    assert.equal(await inbox.next(), "complete");
    const { removeReaction } = await asAlan(Unreact, { id: hello.id, emoji: "👍🏽" });
    equal(removeReaction, message(edited));
    const { deleteMessage } = await asGrace(Delete, { id: hello.id });
    const tombstone: MessageState = { ...edited, text: "", deleted: true };
    equal(deleteMessage, message(tombstone));

    // Resumed, on a new socket of the same client, after the last event seen: 7 and 8
    // from the log (the message as it is now), then live ones; no gap, no duplicate.
    const lastSeen = received[received.length - 1]?.eventSeq;
    assert.equal(lastSeen, 6);
    subscription = follow(lastSeen);
    await expectEvent(reactionEvent("ReactionRemoved", 7, "alan", "👍🏽", tombstone));
    await expectEvent(messageEvent("MessageDeleted", 8, "grace", tombstone));
    await asAlan(LeaveRoom, { room });
    await expectEvent(left(9, "alan"));
    const { sendMessage: last } = await asGrace(Send, { room, text: "bye" });
    const bye: MessageState = { id: last.id, seq: 3, text: "bye", author: "grace" };
    await expectEvent(messageEvent("MessagePosted", 10, "grace", bye));

    const gone = { ...quote, text: "", deleted: true };
    // The history read before holds the tombstone now; "bye" came by the subscription only.
    equal(messagesInCache(), page(tombstone, { ...reply, replyTo: gone }));
    equal(messageInCache(bye.id), message(bye));

    equal(received.map(summary), [
      "1 MemberJoined grace",
      "2 MemberJoined alan",
      '3 MessagePosted grace #1 "hello"',
      '4 MessagePosted alan #2 "hi!"',
      '5 MessageEdited grace #1 "hello, world"',
      "6 ReactionAdded alan 👍🏽 #1",
      "7 ReactionRemoved alan 👍🏽 #1",
      '8 MessageDeleted grace #1 ""',
      "9 MemberLeft alan",
      '10 MessagePosted grace #3 "bye"',
    ]);

    // The same events from Query.roomEvents, each message as it is now. The cache
    // writes and reads them back through the fragment on RoomEvent: possibleTypes.
    const events = await watcher.query({ query: RoomHistory, variables: { room } });
    const now = [
      joined(1, "grace"),
      joined(2, "alan"),
      messageEvent("MessagePosted", 3, "grace", tombstone),
      messageEvent("MessagePosted", 4, "alan", { ...reply, replyTo: gone }),
      messageEvent("MessageEdited", 5, "grace", tombstone),
      reactionEvent("ReactionAdded", 6, "alan", "👍🏽", tombstone),
      reactionEvent("ReactionRemoved", 7, "alan", "👍🏽", tombstone),
      messageEvent("MessageDeleted", 8, "grace", tombstone),
      left(9, "alan"),
      messageEvent("MessagePosted", 10, "grace", bye),
    ];
    equal(events, {
      data: {
        roomEvents: {
          __typename: "RoomEventConnection",
          edges: now.map((node) => ({ __typename: "RoomEventEdge", node: node(expected) })),
          pageInfo: { __typename: "PageInfo", hasPreviousPage: false },
        },
      },
    });
  } finally {
    subscription.unsubscribe();
    for (const client of [grace, alan, watcher]) client.stop();
    await socket.dispose();
  }
});

/** The payload as a client that does not add __typename receives it: the event's only. */
function bare(value: unknown, top = true): unknown {
  if (Array.isArray(value)) return value.map((item) => bare(item, false));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value).filter(([key]) => top || key !== "__typename");
  return Object.fromEntries(entries.map(([key, item]) => [key, bare(item, false)]));
}

test("subscriptions-transport-ws on the graphql-ws subprotocol: roomEvents, completed after your own MemberLeft", async () => {
  const room = "legacy-events";
  const barbara = chatClient(httpUrl, wsUrl, await signUp("barbara"));
  const token = await signUp("ken");
  const ken = chatClient(httpUrl, wsUrl, token);
  const [asBarbara, asKen] = [mutations(barbara), mutations(ken)];
  await asBarbara(CreateRoom, { name: room });

  const legacy = new SubscriptionClient(
    wsUrl,
    { connectionParams: { authToken: token }, reconnect: false },
    WebSocket,
  );
  const inbox = new Inbox<unknown>();
  const subscription = legacy
    .request({ query: print(RoomEvents), variables: { room, afterEventSeq: 0 } })
    .subscribe({ next: inbox.push, error: inbox.push, complete: () => inbox.push("complete") });
  const expected = new Expected(room);
  const expectEvent = async (event: (e: Expected) => Json) => {
    const result = (await nextEvent(inbox)) as { data: { roomEvents: unknown } };
    equal(Object.keys(result), ["data"]);
    expected.check(result.data.roomEvents, (e) => bare(event(e)) as Json);
  };
  try {
    await expectEvent(joined(1, "barbara"));
    await asKen(JoinRoom, { room });
    await expectEvent(joined(2, "ken"));
    const { sendMessage: posted } = await asBarbara(Send, { room, text: "old school" });
    const first: MessageState = { id: posted.id, seq: 1, text: "old school", author: "barbara" };
    await expectEvent(messageEvent("MessagePosted", 3, "barbara", first));
    const { sendMessage: replied } = await asKen(Send, {
      room,
      text: "still here",
      replyTo: first.id,
    });
    const quote = { id: first.id, text: "old school", deleted: false };
    const reply = { id: replied.id, seq: 2, text: "still here", author: "ken", replyTo: quote };
    await expectEvent(messageEvent("MessagePosted", 4, "ken", reply));

    const { editMessage } = await asBarbara(Edit, { id: first.id, text: "older school" });
    assert.match(editMessage.editedAt ?? "", ISO_TIME);
    const edited = { ...first, text: "older school", editedAt: editMessage.editedAt };
    await expectEvent(messageEvent("MessageEdited", 5, "barbara", edited));
    // Ken reacted: reactedByMe is his (the subscriber's).
    await asKen(React, { id: first.id, emoji: ":tada:" });
    const tada = { emoji: ":tada:", reactedByMe: true, users: ["ken"] };
    await expectEvent(
      reactionEvent("ReactionAdded", 6, "ken", ":tada:", { ...edited, reactions: [tada] }),
    );
    await asKen(Unreact, { id: first.id, emoji: ":tada:" });
    await expectEvent(reactionEvent("ReactionRemoved", 7, "ken", ":tada:", edited));
    await asBarbara(Delete, { id: first.id });
    const tombstone = { ...edited, text: "", deleted: true };
    await expectEvent(messageEvent("MessageDeleted", 8, "barbara", tombstone));
    await asKen(LeaveRoom, { room });
    await expectEvent(left(9, "ken"));
    assert.equal(await inbox.next(), "complete");
  } finally {
    subscription.unsubscribe();
    legacy.close();
    for (const client of [barbara, ken]) client.stop();
  }
});
