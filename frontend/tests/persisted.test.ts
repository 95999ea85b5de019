// Apollo's automatic persisted queries against real daphne processes: the link's miss,
// then the query registered with its hash, then the hash alone; over POST and over GET
// (useGETForHashedQueries); a hash registered on one process found on another; the link in
// front of the README's split link, subscriptions over graphql-ws.
// Run by tests/frontend/test_persisted_clients.py, with CHAT_HTTP_URL_2 a second process.
import { createHash, randomUUID } from "node:crypto";
import { test } from "node:test";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { OperationTypeNode, parse } from "graphql";
import { chatSocket } from "./apollo";
import { equal, httpUrl, Inbox, signUp, wsUrl } from "./support";

const otherHttpUrl = process.env.CHAT_HTTP_URL_2 ?? "";

type Sent = { method: string; query: boolean; hash: boolean };

/** An Apollo Client with the persisted-queries link in front of HttpLink, and every
 * request it sends: its method, and whether it carried the query and the hash. */
function persistedClient(uri: string, useGETForHashedQueries = false) {
  const sent: Sent[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const body = init?.body ? JSON.parse(String(init.body)) : {};
    const extensions = body.extensions ?? JSON.parse(url.searchParams.get("extensions") ?? "{}");
    sent.push({
      method: init?.method ?? "GET",
      query: Boolean(body.query ?? url.searchParams.get("query")),
      hash: typeof extensions.persistedQuery?.sha256Hash === "string",
    });
    return fetch(input, init);
  };
  const link = new PersistedQueryLink({
    sha256,
    useGETForHashedQueries,
  }).concat(new HttpLink({ uri, fetch: recordingFetch }));
  return { client: new ApolloClient({ link, cache: new InMemoryCache() }), sent };
}

/** A document no earlier run registered. */
function freshQuery() {
  return parse(`query Apq_${randomUUID().replaceAll("-", "")} { __typename }`);
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const TYPENAME = { __typename: "Query" };
const HASH_ONLY = { query: false, hash: true };
const WITH_QUERY = { method: "POST", query: true, hash: true };

test("persisted queries over POST: a miss, registered with the query, then the hash alone", async () => {
  const { client, sent } = persistedClient(httpUrl);
  const query = freshQuery();
  equal((await client.query({ query, fetchPolicy: "network-only" })).data, TYPENAME);
  equal((await client.query({ query, fetchPolicy: "network-only" })).data, TYPENAME);
  equal(sent, [
    { method: "POST", ...HASH_ONLY },
    WITH_QUERY,
    { method: "POST", ...HASH_ONLY },
  ]);
  client.stop();
});

test("persisted queries over GET (useGETForHashedQueries), and found by another process", async () => {
  const { client, sent } = persistedClient(httpUrl, true);
  const query = freshQuery();
  equal((await client.query({ query, fetchPolicy: "network-only" })).data, TYPENAME);
  equal((await client.query({ query, fetchPolicy: "network-only" })).data, TYPENAME);
  // The miss is retried as a POST with the query (Apollo sends large documents by POST).
  equal(sent, [{ method: "GET", ...HASH_ONLY }, WITH_QUERY, { method: "GET", ...HASH_ONLY }]);
  client.stop();

  const other = persistedClient(otherHttpUrl, true);
  equal((await other.client.query({ query, fetchPolicy: "network-only" })).data, TYPENAME);
  equal(other.sent, [{ method: "GET", ...HASH_ONLY }]);
  other.client.stop();
});

test("persisted queries in front of the split link: mutation over HTTP, subscription over graphql-ws", async () => {
  const token = await signUp("persia");
  const socket = chatSocket(wsUrl, token);
  const link = new PersistedQueryLink({ sha256 }).concat(
    ApolloLink.split(
      ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
      new GraphQLWsLink(socket),
      new HttpLink({ uri: httpUrl, headers: { Authorization: `Bearer ${token}` } }),
    ),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const room = `apq${randomUUID().slice(0, 8)}`;
  const send = parse(
    `mutation SendApq($room: String!, $text: String!) { sendMessage(room: $room, text: $text) { seq } }`,
  );
  const sent = await client.mutate({ mutation: send, variables: { room, text: "hashed" } });
  equal(sent.data, { sendMessage: { __typename: "Message", seq: 1 } });

  // graphql-ws sends the whole document with its hash: the server checks the hash.
  const feed = parse(
    `subscription FeedApq($room: String!) { messageAdded(room: $room, afterSeq: 0) { seq text } }`,
  );
  const inbox = new Inbox<unknown>();
  const subscription = client
    .subscribe({ query: feed, variables: { room } })
    .subscribe({ next: inbox.push, error: inbox.push });
  try {
    equal(await inbox.next(), {
      data: { messageAdded: { __typename: "Message", seq: 1, text: "hashed" } },
    });
  } finally {
    subscription.unsubscribe();
    client.stop();
    await socket.dispose();
  }
});
