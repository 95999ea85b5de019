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
    "\n  mutation SignUp($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": typeof types.SignUpDocument,
    "\n  fragment PostedMessage on Message {\n    id\n    seq\n    text\n    createdAt\n    author {\n      username\n    }\n    room {\n      name\n      lastSeq\n    }\n  }\n": typeof types.PostedMessageFragmentDoc,
    "\n  mutation Post($room: String!, $text: String!, $clientId: String) {\n    sendMessage(room: $room, text: $text, clientId: $clientId) {\n      ...PostedMessage\n    }\n  }\n": typeof types.PostDocument,
    "\n  query History($room: String!) {\n    messages(room: $room, last: 10) {\n      edges {\n        node {\n          id\n          seq\n          text\n          author {\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n      }\n    }\n  }\n": typeof types.HistoryDocument,
    "\n  subscription Feed($room: String!, $afterSeq: Int) {\n    messageAdded(room: $room, afterSeq: $afterSeq) {\n      ...PostedMessage\n    }\n  }\n": typeof types.FeedDocument,
    "\n  fragment EventMessage on Message {\n    id\n    seq\n    text\n    deleted\n    editedAt\n    author {\n      username\n    }\n    replyTo {\n      id\n      text\n      deleted\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n      users {\n        username\n      }\n    }\n  }\n": typeof types.EventMessageFragmentDoc,
    "\n  fragment AnyRoomEvent on RoomEvent {\n    __typename\n    eventSeq\n    at\n    actor {\n      username\n    }\n    room {\n      name\n      lastEventSeq\n    }\n    ...Posted\n    ...Edited\n    ...Deleted\n    ...Reacted\n    ...Unreacted\n    ...Joined\n    ...Left\n  }\n  fragment Posted on MessagePosted {\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Edited on MessageEdited {\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Deleted on MessageDeleted {\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Reacted on ReactionAdded {\n    emoji\n    user {\n      username\n    }\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Unreacted on ReactionRemoved {\n    emoji\n    user {\n      username\n    }\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Joined on MemberJoined {\n    user {\n      username\n    }\n  }\n  fragment Left on MemberLeft {\n    user {\n      username\n    }\n    removedBy {\n      username\n    }\n  }\n": typeof types.AnyRoomEventFragmentDoc,
    "\n  subscription RoomEvents($room: String!, $afterEventSeq: Int) {\n    roomEvents(room: $room, afterEventSeq: $afterEventSeq) {\n      ...AnyRoomEvent\n    }\n  }\n": typeof types.RoomEventsDocument,
    "\n  query RoomHistory($room: String!) {\n    roomEvents(room: $room, last: 10) {\n      edges {\n        node {\n          ...AnyRoomEvent\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n      }\n    }\n  }\n": typeof types.RoomHistoryDocument,
    "\n  query Messages($room: String!) {\n    messages(room: $room, last: 10) {\n      edges {\n        node {\n          ...EventMessage\n        }\n      }\n    }\n  }\n": typeof types.MessagesDocument,
    "\n  mutation CreateRoom($name: String!) {\n    createRoom(name: $name) {\n      name\n    }\n  }\n": typeof types.CreateRoomDocument,
    "\n  mutation JoinRoom($room: String!) {\n    joinRoom(room: $room) {\n      name\n    }\n  }\n": typeof types.JoinRoomDocument,
    "\n  mutation LeaveRoom($room: String!) {\n    leaveRoom(room: $room)\n  }\n": typeof types.LeaveRoomDocument,
    "\n  mutation Send($room: String!, $text: String!, $replyTo: ID) {\n    sendMessage(room: $room, text: $text, replyTo: $replyTo) {\n      ...EventMessage\n    }\n  }\n": typeof types.SendDocument,
    "\n  mutation Edit($id: ID!, $text: String!) {\n    editMessage(id: $id, text: $text) {\n      ...EventMessage\n    }\n  }\n": typeof types.EditDocument,
    "\n  mutation Delete($id: ID!) {\n    deleteMessage(id: $id) {\n      ...EventMessage\n    }\n  }\n": typeof types.DeleteDocument,
    "\n  mutation React($id: ID!, $emoji: String!) {\n    addReaction(messageId: $id, emoji: $emoji) {\n      ...EventMessage\n    }\n  }\n": typeof types.ReactDocument,
    "\n  mutation Unreact($id: ID!, $emoji: String!) {\n    removeReaction(messageId: $id, emoji: $emoji) {\n      ...EventMessage\n    }\n  }\n": typeof types.UnreactDocument,
};
const documents: Documents = {
    "\n  mutation SignUp($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": types.SignUpDocument,
    "\n  fragment PostedMessage on Message {\n    id\n    seq\n    text\n    createdAt\n    author {\n      username\n    }\n    room {\n      name\n      lastSeq\n    }\n  }\n": types.PostedMessageFragmentDoc,
    "\n  mutation Post($room: String!, $text: String!, $clientId: String) {\n    sendMessage(room: $room, text: $text, clientId: $clientId) {\n      ...PostedMessage\n    }\n  }\n": types.PostDocument,
    "\n  query History($room: String!) {\n    messages(room: $room, last: 10) {\n      edges {\n        node {\n          id\n          seq\n          text\n          author {\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n      }\n    }\n  }\n": types.HistoryDocument,
    "\n  subscription Feed($room: String!, $afterSeq: Int) {\n    messageAdded(room: $room, afterSeq: $afterSeq) {\n      ...PostedMessage\n    }\n  }\n": types.FeedDocument,
    "\n  fragment EventMessage on Message {\n    id\n    seq\n    text\n    deleted\n    editedAt\n    author {\n      username\n    }\n    replyTo {\n      id\n      text\n      deleted\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n      users {\n        username\n      }\n    }\n  }\n": types.EventMessageFragmentDoc,
    "\n  fragment AnyRoomEvent on RoomEvent {\n    __typename\n    eventSeq\n    at\n    actor {\n      username\n    }\n    room {\n      name\n      lastEventSeq\n    }\n    ...Posted\n    ...Edited\n    ...Deleted\n    ...Reacted\n    ...Unreacted\n    ...Joined\n    ...Left\n  }\n  fragment Posted on MessagePosted {\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Edited on MessageEdited {\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Deleted on MessageDeleted {\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Reacted on ReactionAdded {\n    emoji\n    user {\n      username\n    }\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Unreacted on ReactionRemoved {\n    emoji\n    user {\n      username\n    }\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Joined on MemberJoined {\n    user {\n      username\n    }\n  }\n  fragment Left on MemberLeft {\n    user {\n      username\n    }\n    removedBy {\n      username\n    }\n  }\n": types.AnyRoomEventFragmentDoc,
    "\n  subscription RoomEvents($room: String!, $afterEventSeq: Int) {\n    roomEvents(room: $room, afterEventSeq: $afterEventSeq) {\n      ...AnyRoomEvent\n    }\n  }\n": types.RoomEventsDocument,
    "\n  query RoomHistory($room: String!) {\n    roomEvents(room: $room, last: 10) {\n      edges {\n        node {\n          ...AnyRoomEvent\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n      }\n    }\n  }\n": types.RoomHistoryDocument,
    "\n  query Messages($room: String!) {\n    messages(room: $room, last: 10) {\n      edges {\n        node {\n          ...EventMessage\n        }\n      }\n    }\n  }\n": types.MessagesDocument,
    "\n  mutation CreateRoom($name: String!) {\n    createRoom(name: $name) {\n      name\n    }\n  }\n": types.CreateRoomDocument,
    "\n  mutation JoinRoom($room: String!) {\n    joinRoom(room: $room) {\n      name\n    }\n  }\n": types.JoinRoomDocument,
    "\n  mutation LeaveRoom($room: String!) {\n    leaveRoom(room: $room)\n  }\n": types.LeaveRoomDocument,
    "\n  mutation Send($room: String!, $text: String!, $replyTo: ID) {\n    sendMessage(room: $room, text: $text, replyTo: $replyTo) {\n      ...EventMessage\n    }\n  }\n": types.SendDocument,
    "\n  mutation Edit($id: ID!, $text: String!) {\n    editMessage(id: $id, text: $text) {\n      ...EventMessage\n    }\n  }\n": types.EditDocument,
    "\n  mutation Delete($id: ID!) {\n    deleteMessage(id: $id) {\n      ...EventMessage\n    }\n  }\n": types.DeleteDocument,
    "\n  mutation React($id: ID!, $emoji: String!) {\n    addReaction(messageId: $id, emoji: $emoji) {\n      ...EventMessage\n    }\n  }\n": types.ReactDocument,
    "\n  mutation Unreact($id: ID!, $emoji: String!) {\n    removeReaction(messageId: $id, emoji: $emoji) {\n      ...EventMessage\n    }\n  }\n": types.UnreactDocument,
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
export function graphql(source: "\n  mutation SignUp($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SignUp($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment PostedMessage on Message {\n    id\n    seq\n    text\n    createdAt\n    author {\n      username\n    }\n    room {\n      name\n      lastSeq\n    }\n  }\n"): (typeof documents)["\n  fragment PostedMessage on Message {\n    id\n    seq\n    text\n    createdAt\n    author {\n      username\n    }\n    room {\n      name\n      lastSeq\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Post($room: String!, $text: String!, $clientId: String) {\n    sendMessage(room: $room, text: $text, clientId: $clientId) {\n      ...PostedMessage\n    }\n  }\n"): (typeof documents)["\n  mutation Post($room: String!, $text: String!, $clientId: String) {\n    sendMessage(room: $room, text: $text, clientId: $clientId) {\n      ...PostedMessage\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query History($room: String!) {\n    messages(room: $room, last: 10) {\n      edges {\n        node {\n          id\n          seq\n          text\n          author {\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n      }\n    }\n  }\n"): (typeof documents)["\n  query History($room: String!) {\n    messages(room: $room, last: 10) {\n      edges {\n        node {\n          id\n          seq\n          text\n          author {\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Feed($room: String!, $afterSeq: Int) {\n    messageAdded(room: $room, afterSeq: $afterSeq) {\n      ...PostedMessage\n    }\n  }\n"): (typeof documents)["\n  subscription Feed($room: String!, $afterSeq: Int) {\n    messageAdded(room: $room, afterSeq: $afterSeq) {\n      ...PostedMessage\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment EventMessage on Message {\n    id\n    seq\n    text\n    deleted\n    editedAt\n    author {\n      username\n    }\n    replyTo {\n      id\n      text\n      deleted\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n      users {\n        username\n      }\n    }\n  }\n"): (typeof documents)["\n  fragment EventMessage on Message {\n    id\n    seq\n    text\n    deleted\n    editedAt\n    author {\n      username\n    }\n    replyTo {\n      id\n      text\n      deleted\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n      users {\n        username\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AnyRoomEvent on RoomEvent {\n    __typename\n    eventSeq\n    at\n    actor {\n      username\n    }\n    room {\n      name\n      lastEventSeq\n    }\n    ...Posted\n    ...Edited\n    ...Deleted\n    ...Reacted\n    ...Unreacted\n    ...Joined\n    ...Left\n  }\n  fragment Posted on MessagePosted {\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Edited on MessageEdited {\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Deleted on MessageDeleted {\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Reacted on ReactionAdded {\n    emoji\n    user {\n      username\n    }\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Unreacted on ReactionRemoved {\n    emoji\n    user {\n      username\n    }\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Joined on MemberJoined {\n    user {\n      username\n    }\n  }\n  fragment Left on MemberLeft {\n    user {\n      username\n    }\n    removedBy {\n      username\n    }\n  }\n"): (typeof documents)["\n  fragment AnyRoomEvent on RoomEvent {\n    __typename\n    eventSeq\n    at\n    actor {\n      username\n    }\n    room {\n      name\n      lastEventSeq\n    }\n    ...Posted\n    ...Edited\n    ...Deleted\n    ...Reacted\n    ...Unreacted\n    ...Joined\n    ...Left\n  }\n  fragment Posted on MessagePosted {\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Edited on MessageEdited {\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Deleted on MessageDeleted {\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Reacted on ReactionAdded {\n    emoji\n    user {\n      username\n    }\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Unreacted on ReactionRemoved {\n    emoji\n    user {\n      username\n    }\n    message {\n      ...EventMessage\n    }\n  }\n  fragment Joined on MemberJoined {\n    user {\n      username\n    }\n  }\n  fragment Left on MemberLeft {\n    user {\n      username\n    }\n    removedBy {\n      username\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RoomEvents($room: String!, $afterEventSeq: Int) {\n    roomEvents(room: $room, afterEventSeq: $afterEventSeq) {\n      ...AnyRoomEvent\n    }\n  }\n"): (typeof documents)["\n  subscription RoomEvents($room: String!, $afterEventSeq: Int) {\n    roomEvents(room: $room, afterEventSeq: $afterEventSeq) {\n      ...AnyRoomEvent\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RoomHistory($room: String!) {\n    roomEvents(room: $room, last: 10) {\n      edges {\n        node {\n          ...AnyRoomEvent\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n      }\n    }\n  }\n"): (typeof documents)["\n  query RoomHistory($room: String!) {\n    roomEvents(room: $room, last: 10) {\n      edges {\n        node {\n          ...AnyRoomEvent\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Messages($room: String!) {\n    messages(room: $room, last: 10) {\n      edges {\n        node {\n          ...EventMessage\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Messages($room: String!) {\n    messages(room: $room, last: 10) {\n      edges {\n        node {\n          ...EventMessage\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateRoom($name: String!) {\n    createRoom(name: $name) {\n      name\n    }\n  }\n"): (typeof documents)["\n  mutation CreateRoom($name: String!) {\n    createRoom(name: $name) {\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation JoinRoom($room: String!) {\n    joinRoom(room: $room) {\n      name\n    }\n  }\n"): (typeof documents)["\n  mutation JoinRoom($room: String!) {\n    joinRoom(room: $room) {\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LeaveRoom($room: String!) {\n    leaveRoom(room: $room)\n  }\n"): (typeof documents)["\n  mutation LeaveRoom($room: String!) {\n    leaveRoom(room: $room)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Send($room: String!, $text: String!, $replyTo: ID) {\n    sendMessage(room: $room, text: $text, replyTo: $replyTo) {\n      ...EventMessage\n    }\n  }\n"): (typeof documents)["\n  mutation Send($room: String!, $text: String!, $replyTo: ID) {\n    sendMessage(room: $room, text: $text, replyTo: $replyTo) {\n      ...EventMessage\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Edit($id: ID!, $text: String!) {\n    editMessage(id: $id, text: $text) {\n      ...EventMessage\n    }\n  }\n"): (typeof documents)["\n  mutation Edit($id: ID!, $text: String!) {\n    editMessage(id: $id, text: $text) {\n      ...EventMessage\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Delete($id: ID!) {\n    deleteMessage(id: $id) {\n      ...EventMessage\n    }\n  }\n"): (typeof documents)["\n  mutation Delete($id: ID!) {\n    deleteMessage(id: $id) {\n      ...EventMessage\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation React($id: ID!, $emoji: String!) {\n    addReaction(messageId: $id, emoji: $emoji) {\n      ...EventMessage\n    }\n  }\n"): (typeof documents)["\n  mutation React($id: ID!, $emoji: String!) {\n    addReaction(messageId: $id, emoji: $emoji) {\n      ...EventMessage\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Unreact($id: ID!, $emoji: String!) {\n    removeReaction(messageId: $id, emoji: $emoji) {\n      ...EventMessage\n    }\n  }\n"): (typeof documents)["\n  mutation Unreact($id: ID!, $emoji: String!) {\n    removeReaction(messageId: $id, emoji: $emoji) {\n      ...EventMessage\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;