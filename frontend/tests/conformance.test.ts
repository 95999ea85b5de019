// GraphQL over HTTP as third parties check it, against a real daphne (CHAT_HTTP_URL):
// the graphql-http package's server audits, and what Apollo Client reads of a request
// refused for a stale token.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ApolloClient, HttpLink, InMemoryCache } from "@apollo/client";
import { CombinedGraphQLErrors } from "@apollo/client/errors";
import { parse } from "graphql";
import { serverAudits } from "graphql-http";
import { equal, httpUrl, signUp } from "./support";

test("graphql-http server audits: every one passes", async () => {
  const results = await Promise.all(serverAudits({ url: httpUrl }).map(({ fn }) => fn()));
  const failed = results
    .filter((result) => result.status !== "ok")
    .map((result) => `${result.id} ${result.name}: ${result.status}: ${"reason" in result ? result.reason : ""}`);
  equal(failed, []);
  assert.ok(results.length >= 60, `only ${results.length} audits ran`);
});

// Plain strings (not graphql() calls): codegen types only the app's own operations.
const ME = parse("query Me { me { username } }");
const LOGOUT = parse("mutation Logout { logout }");
const LOGIN = parse(
  "mutation SignIn($username: String!, $password: String!) { login(username: $username, password: $password) { token } }",
);

function httpClient(token: string, accept?: string): ApolloClient {
  return new ApolloClient({
    link: new HttpLink({
      uri: httpUrl,
      headers: { Authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) },
    }),
    cache: new InMemoryCache(),
  });
}

test("Apollo Client: a stale token's refusal is a GraphQL error with its code; login still works", async () => {
  const token = await signUp("stale");
  const signedIn = httpClient(token);
  equal((await signedIn.mutate({ mutation: LOGOUT })).data, { logout: true });

  // Apollo Client 4 sends Accept: application/graphql-response+json,application/json;q=0.9
  // (a 401 it reads, since that media type vouches for the body), or application/json
  // when told (a 200: it makes a ServerError of any application/json status >= 300).
  for (const accept of [undefined, "application/json"]) {
    const client = httpClient(token, accept);
    await assert.rejects(client.query({ query: ME, fetchPolicy: "no-cache" }), (error: unknown) => {
      assert.ok(CombinedGraphQLErrors.is(error), `not CombinedGraphQLErrors: ${String(error)}`);
      equal(
        error.errors.map(({ message, extensions }) => ({ message, extensions })),
        [{ message: "Invalid or expired token.", extensions: { code: "UNAUTHENTICATED" } }],
      );
      return true;
    });
    const { data } = await client.mutate({
      mutation: LOGIN,
      variables: { username: "stale", password: "correct horse battery staple" },
    });
    assert.match((data as { login: { token: string } }).login.token, /^\S{20,}$/);
    client.stop();
  }
  signedIn.stop();
});
