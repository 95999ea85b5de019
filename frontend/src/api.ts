// GraphQL transport for the browser: queries and mutations over HTTP POST with the
// bearer token, subscriptions over graphql-ws (graphql-transport-ws protocol).
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { type Client, createClient } from "graphql-ws";

export interface Auth {
  token: string;
  username: string;
}

const AUTH_KEY = "chat.auth";

export function authGet(): Auth | null {
  try {
    const stored = JSON.parse(localStorage.getItem(AUTH_KEY) ?? "null") as Auth | null;
    return stored && typeof stored.token === "string" ? stored : null;
  } catch {
    return null;
  }
}

export function authSet(auth: Auth | null): void {
  if (auth) {
    localStorage.setItem(AUTH_KEY, JSON.stringify(auth));
  } else {
    localStorage.removeItem(AUTH_KEY);
  }
  window.dispatchEvent(new Event("chat:auth"));
}

/** A GraphQL error the server reported, with its extensions.code. */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

interface Response<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** POST one operation to the GraphQL endpoint; throw its first error, if any. */
export async function request<T, V>(
  endpoint: string,
  document: TypedDocumentNode<T, V>,
  variables: V,
): Promise<T> {
  const auth = authGet();
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (auth) headers.Authorization = `Bearer ${auth.token}`;
  // No cookies: the bearer token is the only credential, so CSRF does not apply.
  const response = await fetch(endpoint, {
    method: "POST",
    credentials: "omit",
    headers,
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as Response<T>;
  const error = body.errors?.[0];
  if (error) {
    if (response.status === 401) authSet(null);
    throw new GraphQLRequestError(error.message, error.extensions?.code);
  }
  if (!body.data) throw new GraphQLRequestError(`HTTP ${response.status}`, undefined);
  return body.data;
}

/** A failure worth sending the same request again for: the network, a proxy's error page
 * (not JSON), or a server that is restarting (SERVICE_UNAVAILABLE). */
function transient(error: unknown): boolean {
  if (error instanceof GraphQLRequestError) return error.code === "SERVICE_UNAVAILABLE";
  return error instanceof TypeError || error instanceof SyntaxError;
}

/** As request, sent again after a transient failure (`attempts` in all, 0.5 s, 1 s, 2 s
 * apart). Only for operations that are safe to repeat: sendMessage with its clientId. */
export async function requestRetrying<T, V>(
  endpoint: string,
  document: TypedDocumentNode<T, V>,
  variables: V,
  attempts = 4,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request(endpoint, document, variables);
    } catch (error) {
      if (attempt >= attempts || !transient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** (attempt - 1)));
    }
  }
}

/** A new idempotency key for sendMessage's clientId (a UUID). crypto.randomUUID needs a
 * secure context (https or localhost); getRandomValues does not. */
export function newClientId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) =>
    byte.toString(16).padStart(2, "0"),
  ).join("");
}

/** The websocket URL of the endpoint, on this page's host. */
export function websocketUrl(endpoint: string): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${endpoint}`;
}

/** A graphql-ws client that reconnects for ever, with the current token each time. */
export function subscriptionClient(url: string): Client {
  return createClient({
    url,
    lazy: true,
    connectionParams: () => {
      const auth = authGet();
      return auth ? { authToken: auth.token } : {};
    },
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (event) => {
      // 4403: the stored token was refused; carry on anonymously.
      if (event instanceof CloseEvent && event.code === 4403) authSet(null);
      return true;
    },
    // 0.5 s, 1 s, 2 s, ... up to 8 s between attempts.
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(8000, 500 * 2 ** retries))),
  });
}
