// GraphiQL for the chat service, served from our static files (no CDN).
//
// Queries and mutations go over HTTP POST with the headers from GraphiQL's headers editor.
// Subscriptions go over the websocket at the same URL (graphql-transport-ws, graphql-ws
// client); the websocket takes the token as {"authToken": "<token>"} in connection_init
// (internals/websocket.py), so `Authorization: Bearer <token>` from the headers editor is turned
// into that payload, with one websocket client per distinct token.
import "./workers.js";
import "graphiql/style.css";

import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import { getOperationAST, parse } from "graphql";
import { createClient } from "graphql-ws";
import { createElement } from "react";
import { createRoot } from "react-dom/client";

const container = document.getElementById("graphiql");
const endpoint = new URL(container.dataset.endpoint || window.location.pathname, window.location.href);
const subscriptionUrl = new URL(endpoint);
subscriptionUrl.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

function cookie(name) {
  const prefix = `${name}=`;
  const found = document.cookie.split("; ").find((item) => item.startsWith(prefix));
  return found ? decodeURIComponent(found.slice(prefix.length)) : undefined;
}

// Requests that carry the session cookie (after login/register in GraphiQL) need the
// CSRF token; it is read on every request because login rotates it.
function fetchWithCsrf(url, init) {
  const headers = new Headers(init.headers);
  const csrf = cookie("csrftoken");
  if (csrf && !headers.has("x-csrftoken")) {
    headers.set("x-csrftoken", csrf);
  }
  return window.fetch(url, { ...init, headers, credentials: "same-origin" });
}

function bearerToken(headers) {
  for (const [name, value] of Object.entries(headers || {})) {
    if (name.toLowerCase() === "authorization" && typeof value === "string") {
      const [scheme, token] = value.trim().split(/\s+/, 2);
      if (scheme.toLowerCase() === "bearer" && token) {
        return token;
      }
    }
  }
  return null;
}

const fetchers = new Map();

function fetcherFor(token) {
  let fetcher = fetchers.get(token);
  if (fetcher === undefined) {
    const wsClient = createClient({
      url: subscriptionUrl.toString(),
      connectionParams: token ? { authToken: token } : {},
      lazy: true,
    });
    fetcher = createGraphiQLFetcher({ url: endpoint.toString(), fetch: fetchWithCsrf, wsClient });
    fetchers.set(token, fetcher);
  }
  return fetcher;
}

// The toolkit's fetcher takes the websocket only when `documentAST` shows the selected
// operation is a subscription. GraphiQL passes its editor's last parse and the operation
// name it selected then, both made 100 ms after the last keystroke (a debounce): a
// subscription typed or pasted and run at once went out as an HTTP POST, under the name
// of an operation of the previous text. Decide from the text being sent instead; a name
// that is not in it, when it has one operation only, is that stale selection.
function sent(params, options) {
  let documentAST;
  try {
    documentAST = parse(params.query);
  } catch {
    return [params, options]; // the server reports the syntax error
  }
  let operation = getOperationAST(documentAST, params.operationName || undefined);
  if (!operation && params.operationName) {
    operation = getOperationAST(documentAST);
  }
  const operationName = operation ? (operation.name?.value ?? null) : params.operationName;
  return [{ ...params, operationName }, { ...options, documentAST }];
}

function fetcher(params, options) {
  return fetcherFor(bearerToken(options?.headers))(...sent(params, options));
}

// What GraphiQL opens with (until the visitor's own work is stored in the browser).
const EXAMPLE = `# Queries and mutations go over HTTP, subscriptions over the websocket.
# Sign in with the register or login mutation: this page then uses its session cookie.
# Or put the token they return in the Headers tab below (the websocket gets it too):
#   {"Authorization": "Bearer <token>"}

query Room {
  room(name: "lobby") {
    name
    lastSeq
    members { username }
  }
}

mutation SendMessage {
  sendMessage(room: "lobby", text: "Hello from GraphiQL") {
    seq
    text
    author { username }
  }
}

subscription MessageAdded {
  messageAdded(room: "lobby") {
    seq
    text
    author { username }
  }
}
`;

const HEADERS = `{
  // "Authorization": "Bearer <token from register or login>"
}
`;

createRoot(container).render(
  createElement(GraphiQL, {
    fetcher,
    defaultQuery: EXAMPLE,
    defaultHeaders: HEADERS,
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
  }),
);
