// Apollo's automatic persisted queries against real daphne processes: the link's miss,
// then the query registered with its hash, then the hash alone; over POST and over GET
// (useGETForHashedQueries); a hash registered on one process found on another.
// Run by tests/frontend/test_persisted_clients.py, with CHAT_HTTP_URL_2 a second process.
import { createHash, randomUUID } from "node:crypto";
import { test } from "node:test";
import { ApolloClient, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { parse } from "graphql";
import { equal, httpUrl } from "./support";

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
    sha256: (text: string) => createHash("sha256").update(text).digest("hex"),
    useGETForHashedQueries,
  }).concat(new HttpLink({ uri, fetch: recordingFetch }));
  return { client: new ApolloClient({ link, cache: new InMemoryCache() }), sent };
}

/** A document no earlier run registered. */
function freshQuery() {
  return parse(`query Apq_${randomUUID().replaceAll("-", "")} { __typename }`);
}

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
