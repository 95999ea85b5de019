// Client compatibility: Apollo Client (graphql-ws link + HTTP link) and the legacy
// subscriptions-transport-ws client, against a real daphne (CHAT_HTTP_URL, CHAT_WS_URL).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { print } from "graphql";
import { SubscriptionClient } from "subscriptions-transport-ws";
import WebSocket from "ws";
import { chatClient } from "./apollo";
import { Feed, History, Post } from "./operations";
import { equal, httpUrl, Inbox, ISO_TIME, signUp, wsUrl } from "./support";

test("Apollo Client: mutation and query over HTTP, live subscription over graphql-ws", async () => {
  const client = chatClient(httpUrl, wsUrl, await signUp("ada"));
  // A new clientId per message, the same one when a post is retried (its answer lost).
  const post = async (text: string, clientId: string = randomUUID()) => {
    const variables = { room: "apollo", text, clientId };
    const { data } = await client.mutate({ mutation: Post, variables });
    assert.ok(data);
    return data.sendMessage;
  };

  const key = randomUUID();
  const first = await post("first", key);
  // The retry answers with the message first posted, and posts nothing.
  equal(await post("first", key), first);
  assert.match(first.id, /^\S+$/);
  assert.match(first.createdAt, ISO_TIME);
  equal(first, {
    __typename: "Message",
    id: first.id,
    seq: 1,
    text: "first",
    createdAt: first.createdAt,
    author: { __typename: "User", username: "ada" },
    room: { __typename: "Room", name: "apollo", lastSeq: 1 },
  });

  const inbox = new Inbox<unknown>();
  const subscription = client
    .subscribe({ query: Feed, variables: { room: "apollo", afterSeq: 0 } })
    .subscribe({ next: inbox.push, error: inbox.push });
  try {
    // The replay of seq 1 shows the subscription is live; seq 2 then arrives live.
    equal(await inbox.next(), { data: { messageAdded: first } });
    const second = await post("second");
    assert.equal(second.seq, 2);
    equal(await inbox.next(), { data: { messageAdded: second } });

    const { data } = await client.query({ query: History, variables: { room: "apollo" } });
    const node = (m: typeof first) => ({
      __typename: "Message",
      id: m.id,
      seq: m.seq,
      text: m.text,
      author: { __typename: "User", username: "ada" },
    });
    equal(data, {
      messages: {
        __typename: "MessageConnection",
        edges: [first, second].map((m) => ({ __typename: "MessageEdge", node: node(m) })),
        pageInfo: { __typename: "PageInfo", hasPreviousPage: false },
      },
    });
  } finally {
    subscription.unsubscribe();
    client.stop();
  }
});

test("subscriptions-transport-ws on the graphql-ws subprotocol receives live messages", async () => {
  const token = await signUp("lee");
  const http = chatClient(httpUrl, wsUrl, token);
  const post = async (text: string) => {
    const { data } = await http.mutate({ mutation: Post, variables: { room: "legacy", text } });
    assert.ok(data);
    // Apollo added __typename to the selection; the legacy client sends it as written.
    return JSON.parse(
      JSON.stringify(data.sendMessage, (key, value) => (key === "__typename" ? undefined : value)),
    ) as unknown;
  };

  const legacy = new SubscriptionClient(
    wsUrl,
    { connectionParams: { authToken: token }, reconnect: false },
    WebSocket,
  );
  const inbox = new Inbox<unknown>();
  const subscription = legacy
    .request({ query: print(Feed), variables: { room: "legacy", afterSeq: 0 } })
    .subscribe({ next: inbox.push, error: inbox.push });
  try {
    const first = await post("old school");
    equal(await inbox.next(), { data: { messageAdded: first } });
    const second = await post("still here");
    equal(await inbox.next(), { data: { messageAdded: second } });
  } finally {
    subscription.unsubscribe();
    legacy.close();
    http.stop();
  }
});
