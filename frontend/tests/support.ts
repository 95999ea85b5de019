// What the client tests share: the server's URLs, sign-up, and an inbox of pushed values.
import assert from "node:assert/strict";
import { chatClient } from "./apollo";
import { SignUp } from "./operations";

export const httpUrl = process.env.CHAT_HTTP_URL ?? "";
export const wsUrl = process.env.CHAT_WS_URL ?? "";
assert.ok(httpUrl && wsUrl, "set CHAT_HTTP_URL and CHAT_WS_URL");
const PASSWORD = "correct horse battery staple";
// assert.deepEqual narrows its argument's type; these comparisons must not.
export const equal: (actual: unknown, expected: unknown) => void = assert.deepEqual;
export const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)$/;

/** Values pushed by a callback, awaited one at a time. */
export class Inbox<T> {
  private items: T[] = [];
  private waiting: ((item: T) => void)[] = [];

  push = (item: T): void => {
    const waiter = this.waiting.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  };

  next(timeoutMs = 10_000): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("nothing received in time")), timeoutMs);
      this.waiting.push((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }
}

/** Register `username` over HTTP (asserting the whole answer); its bearer token. */
export async function signUp(username: string): Promise<string> {
  const client = chatClient(httpUrl, wsUrl);
  const { data } = await client.mutate({
    mutation: SignUp,
    variables: { username, password: PASSWORD },
  });
  client.stop();
  assert.ok(data);
  assert.match(data.register.token, /^\S{20,}$/);
  equal(data, {
    register: {
      __typename: "AuthPayload",
      token: data.register.token,
      user: { __typename: "User", username },
    },
  });
  return data.register.token;
}
