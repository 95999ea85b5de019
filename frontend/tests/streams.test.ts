// Subscriptions over HTTP streaming, for clients and networks without websockets: the
// graphql-sse client (distinct connections mode) and Apollo Client's HttpLink alone
// (multipart subscriptions), against a real daphne (CHAT_HTTP_URL).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache } from "@apollo/client";
import { print } from "graphql";
import { createClient } from "graphql-sse";
import { chatClient } from "./apollo";
import { Feed, Post } from "./operations";
import { equal, httpUrl, Inbox, signUp, wsUrl } from "./support";

async function poster(token: string, room: string) {
  const client = chatClient(httpUrl, wsUrl, token);
  return {
    post: async (text: string) => {
      const { data } = await client.mutate({ mutation: Post, variables: { room, text } });
      assert.ok(data);
      // Apollo added __typename to the selection; the other clients get it as written.
      return JSON.parse(
        JSON.stringify(data.sendMessage, (key, value) => (key === "__typename" ? undefined : value)),
      ) as unknown;
    },
    stop: () => client.stop(),
  };
}

test("graphql-sse (distinct connections): resumed with afterSeq, live messages, errors as results", async () => {
  const token = await signUp("sse");
  const { post, stop } = await poster(token, "sse");
  const first = await post("before");
  const client = createClient({
    url: httpUrl,
    headers: { Authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  const inbox = new Inbox<unknown>();
  const dispose = client.subscribe(
    { query: print(Feed), variables: { room: "sse", afterSeq: 0 } },
    { next: inbox.push, error: inbox.push, complete: () => inbox.push("complete") },
  );
  try {
    // The replay after seq 0 shows the stream is live; seq 2 then arrives live.
    equal(await inbox.next(), { data: { messageAdded: first } });
    const second = await post("after");
    equal(await inbox.next(), { data: { messageAdded: second } });
  } finally {
    dispose();
  }

  // An error before execution is a result on an accepted stream (PROTOCOL.md), then the
  // stream completes.
  const refused = new Inbox<unknown>();
  client.subscribe(
    { query: "subscription { messageAdded(room: \"sse\", afterSeq: -1) { seq } }" },
    { next: refused.push, error: refused.push, complete: () => refused.push("complete") },
  );
  equal(await refused.next(), {
    data: null,
    errors: [
      {
        message: "`afterSeq` must be 0 or more.",
        extensions: { code: "BAD_USER_INPUT" },
      },
    ],
  });
  equal(await refused.next(), "complete");
  client.dispose();
  stop();
});

test("Apollo Client with HttpLink alone: a subscription over multipart HTTP", async () => {
  const token = await signUp("multipart");
  const { post, stop } = await poster(token, "multipart");
  const first = await post("before");
  const client = new ApolloClient({
    link: new HttpLink({ uri: httpUrl, headers: { Authorization: `Bearer ${token}` } }),
    cache: new InMemoryCache(),
  });
  const inbox = new Inbox<unknown>();
  const subscription = client
    .subscribe({ query: Feed, variables: { room: "multipart", afterSeq: 0 } })
    .subscribe({ next: inbox.push, error: inbox.push });
  try {
    const replayed = (await inbox.next()) as { data: { messageAdded: unknown } };
    equal(stripTypenames(replayed.data.messageAdded), first);
    const second = await post("after");
    const live = (await inbox.next()) as { data: { messageAdded: unknown } };
    equal(stripTypenames(live.data.messageAdded), second);
  } finally {
    subscription.unsubscribe();
    client.stop();
    stop();
  }
});

function stripTypenames(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, item) => (key === "__typename" ? undefined : item)),
  ) as unknown;
}

test("Apollo Client with HttpLink alone: a refused subscription's error code is readable", async () => {
  const client = new ApolloClient({
    link: new HttpLink({ uri: httpUrl }),
    cache: new InMemoryCache(),
  });
  const inbox = new Inbox<unknown>();
  const subscription = client
    .subscribe({ query: Feed, variables: { room: "multipart", afterSeq: -1 } })
    .subscribe({ next: inbox.push, error: inbox.push, complete: () => inbox.push("complete") });
  try {
    // A GraphQL result on the stream, not a ServerError: the code reaches the app.
    const { error } = (await inbox.next()) as { error: unknown };
    assert.ok(CombinedGraphQLErrors.is(error));
    equal(error.errors, [
      { message: "`afterSeq` must be 0 or more.", extensions: { code: "BAD_USER_INPUT" } },
    ]);
    equal(await inbox.next(), "complete");
  } finally {
    subscription.unsubscribe();
    client.stop();
  }
});
