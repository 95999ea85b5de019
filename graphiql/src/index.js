// GraphiQL for the chat service, served from our static files (no CDN).
//
// Queries and mutations go over HTTP POST with the headers from GraphiQL's headers editor.
// Subscriptions go over the websocket at the same URL (graphql-transport-ws, graphql-ws
// client); the websocket takes the token as {"authToken": "<token>"} in connection_init
// (schema/views.py), so `Authorization: Bearer <token>` from the headers editor is turned
// into that payload, with one websocket client per distinct token.
import "./workers.js";
import "graphiql/style.css";

import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
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

function fetcher(params, options) {
  return fetcherFor(bearerToken(options?.headers))(params, options);
}

createRoot(container).render(
  createElement(GraphiQL, {
    fetcher,
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
  }),
);
