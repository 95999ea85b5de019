/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment ChatMessage on Message {\n    id\n    seq\n    text\n    createdAt\n    editedAt\n    deleted\n    author {\n      username\n    }\n    replyTo {\n      id\n      seq\n      text\n      deleted\n      author {\n        username\n      }\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n  }\n": typeof types.ChatMessageFragmentDoc,
    "\n  fragment ChatRoomEvent on RoomEvent {\n    __typename\n    eventSeq\n    at\n    ... on MessagePosted {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MessageEdited {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MessageDeleted {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on ReactionAdded {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on ReactionRemoved {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MemberJoined {\n      user {\n        username\n      }\n    }\n    ... on MemberLeft {\n      user {\n        username\n      }\n      removedBy {\n        username\n      }\n    }\n  }\n": typeof types.ChatRoomEventFragmentDoc,
    "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": typeof types.RegisterDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": typeof types.LoginDocument,
    "\n  mutation Logout {\n    logout\n  }\n": typeof types.LogoutDocument,
    "\n  query RoomPosition($room: String!) {\n    room(name: $room) {\n      lastEventSeq\n    }\n  }\n": typeof types.RoomPositionDocument,
    "\n  query MessagePage($room: String!, $before: String) {\n    messages(room: $room, last: 50, before: $before) {\n      edges {\n        node {\n          ...ChatMessage\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n": typeof types.MessagePageDocument,
    "\n  mutation SendMessage($room: String!, $text: String!, $replyTo: ID) {\n    sendMessage(room: $room, text: $text, replyTo: $replyTo) {\n      seq\n    }\n  }\n": typeof types.SendMessageDocument,
    "\n  mutation EditMessage($id: ID!, $text: String!) {\n    editMessage(id: $id, text: $text) {\n      id\n    }\n  }\n": typeof types.EditMessageDocument,
    "\n  mutation DeleteMessage($id: ID!) {\n    deleteMessage(id: $id) {\n      id\n    }\n  }\n": typeof types.DeleteMessageDocument,
    "\n  mutation AddReaction($id: ID!, $emoji: String!) {\n    addReaction(messageId: $id, emoji: $emoji) {\n      id\n    }\n  }\n": typeof types.AddReactionDocument,
    "\n  mutation RemoveReaction($id: ID!, $emoji: String!) {\n    removeReaction(messageId: $id, emoji: $emoji) {\n      id\n    }\n  }\n": typeof types.RemoveReactionDocument,
    "\n  subscription RoomEvents($room: String!, $afterEventSeq: Int) {\n    roomEvents(room: $room, afterEventSeq: $afterEventSeq) {\n      ...ChatRoomEvent\n    }\n  }\n": typeof types.RoomEventsDocument,
};
const documents: Documents = {
    "\n  fragment ChatMessage on Message {\n    id\n    seq\n    text\n    createdAt\n    editedAt\n    deleted\n    author {\n      username\n    }\n    replyTo {\n      id\n      seq\n      text\n      deleted\n      author {\n        username\n      }\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n  }\n": types.ChatMessageFragmentDoc,
    "\n  fragment ChatRoomEvent on RoomEvent {\n    __typename\n    eventSeq\n    at\n    ... on MessagePosted {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MessageEdited {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MessageDeleted {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on ReactionAdded {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on ReactionRemoved {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MemberJoined {\n      user {\n        username\n      }\n    }\n    ... on MemberLeft {\n      user {\n        username\n      }\n      removedBy {\n        username\n      }\n    }\n  }\n": types.ChatRoomEventFragmentDoc,
    "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": types.RegisterDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": types.LoginDocument,
    "\n  mutation Logout {\n    logout\n  }\n": types.LogoutDocument,
    "\n  query RoomPosition($room: String!) {\n    room(name: $room) {\n      lastEventSeq\n    }\n  }\n": types.RoomPositionDocument,
    "\n  query MessagePage($room: String!, $before: String) {\n    messages(room: $room, last: 50, before: $before) {\n      edges {\n        node {\n          ...ChatMessage\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n": types.MessagePageDocument,
    "\n  mutation SendMessage($room: String!, $text: String!, $replyTo: ID) {\n    sendMessage(room: $room, text: $text, replyTo: $replyTo) {\n      seq\n    }\n  }\n": types.SendMessageDocument,
    "\n  mutation EditMessage($id: ID!, $text: String!) {\n    editMessage(id: $id, text: $text) {\n      id\n    }\n  }\n": types.EditMessageDocument,
    "\n  mutation DeleteMessage($id: ID!) {\n    deleteMessage(id: $id) {\n      id\n    }\n  }\n": types.DeleteMessageDocument,
    "\n  mutation AddReaction($id: ID!, $emoji: String!) {\n    addReaction(messageId: $id, emoji: $emoji) {\n      id\n    }\n  }\n": types.AddReactionDocument,
    "\n  mutation RemoveReaction($id: ID!, $emoji: String!) {\n    removeReaction(messageId: $id, emoji: $emoji) {\n      id\n    }\n  }\n": types.RemoveReactionDocument,
    "\n  subscription RoomEvents($room: String!, $afterEventSeq: Int) {\n    roomEvents(room: $room, afterEventSeq: $afterEventSeq) {\n      ...ChatRoomEvent\n    }\n  }\n": types.RoomEventsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ChatMessage on Message {\n    id\n    seq\n    text\n    createdAt\n    editedAt\n    deleted\n    author {\n      username\n    }\n    replyTo {\n      id\n      seq\n      text\n      deleted\n      author {\n        username\n      }\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n  }\n"): (typeof documents)["\n  fragment ChatMessage on Message {\n    id\n    seq\n    text\n    createdAt\n    editedAt\n    deleted\n    author {\n      username\n    }\n    replyTo {\n      id\n      seq\n      text\n      deleted\n      author {\n        username\n      }\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ChatRoomEvent on RoomEvent {\n    __typename\n    eventSeq\n    at\n    ... on MessagePosted {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MessageEdited {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MessageDeleted {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on ReactionAdded {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on ReactionRemoved {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MemberJoined {\n      user {\n        username\n      }\n    }\n    ... on MemberLeft {\n      user {\n        username\n      }\n      removedBy {\n        username\n      }\n    }\n  }\n"): (typeof documents)["\n  fragment ChatRoomEvent on RoomEvent {\n    __typename\n    eventSeq\n    at\n    ... on MessagePosted {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MessageEdited {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MessageDeleted {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on ReactionAdded {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on ReactionRemoved {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MemberJoined {\n      user {\n        username\n      }\n    }\n    ... on MemberLeft {\n      user {\n        username\n      }\n      removedBy {\n        username\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Logout {\n    logout\n  }\n"): (typeof documents)["\n  mutation Logout {\n    logout\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RoomPosition($room: String!) {\n    room(name: $room) {\n      lastEventSeq\n    }\n  }\n"): (typeof documents)["\n  query RoomPosition($room: String!) {\n    room(name: $room) {\n      lastEventSeq\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MessagePage($room: String!, $before: String) {\n    messages(room: $room, last: 50, before: $before) {\n      edges {\n        node {\n          ...ChatMessage\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query MessagePage($room: String!, $before: String) {\n    messages(room: $room, last: 50, before: $before) {\n      edges {\n        node {\n          ...ChatMessage\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendMessage($room: String!, $text: String!, $replyTo: ID) {\n    sendMessage(room: $room, text: $text, replyTo: $replyTo) {\n      seq\n    }\n  }\n"): (typeof documents)["\n  mutation SendMessage($room: String!, $text: String!, $replyTo: ID) {\n    sendMessage(room: $room, text: $text, replyTo: $replyTo) {\n      seq\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EditMessage($id: ID!, $text: String!) {\n    editMessage(id: $id, text: $text) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation EditMessage($id: ID!, $text: String!) {\n    editMessage(id: $id, text: $text) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteMessage($id: ID!) {\n    deleteMessage(id: $id) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteMessage($id: ID!) {\n    deleteMessage(id: $id) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddReaction($id: ID!, $emoji: String!) {\n    addReaction(messageId: $id, emoji: $emoji) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation AddReaction($id: ID!, $emoji: String!) {\n    addReaction(messageId: $id, emoji: $emoji) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveReaction($id: ID!, $emoji: String!) {\n    removeReaction(messageId: $id, emoji: $emoji) {\n      id\n    }\n  }\n"): (typeof documents)["\n  mutation RemoveReaction($id: ID!, $emoji: String!) {\n    removeReaction(messageId: $id, emoji: $emoji) {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RoomEvents($room: String!, $afterEventSeq: Int) {\n    roomEvents(room: $room, afterEventSeq: $afterEventSeq) {\n      ...ChatRoomEvent\n    }\n  }\n"): (typeof documents)["\n  subscription RoomEvents($room: String!, $afterEventSeq: Int) {\n    roomEvents(room: $room, afterEventSeq: $afterEventSeq) {\n      ...ChatRoomEvent\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;