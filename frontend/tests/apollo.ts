// The Apollo Client setup the README quotes: HTTP for queries and mutations,
// graphql-ws for subscriptions, the bearer token on both.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { OperationTypeNode } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws"; // Node only: browsers have WebSocket built in

export function chatClient(httpUrl: string, wsUrl: string, token?: string): ApolloClient {
  const http = new HttpLink({
    uri: httpUrl,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  const ws = new GraphQLWsLink(
    createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: () => (token ? { authToken: token } : {}),
    }),
  );
  return new ApolloClient({
    link: ApolloLink.split(
      ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
      ws,
      http,
    ),
    cache: new InMemoryCache(),
  });
}
