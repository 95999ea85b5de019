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
    "\n  fragment ChatMessage on Message {\n    id\n    seq\n    text\n    createdAt\n    editedAt\n    deleted\n    author {\n      username\n    }\n    replyTo {\n      id\n      seq\n      text\n      deleted\n      author {\n        username\n      }\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n    mentions {\n      username\n    }\n  }\n": typeof types.ChatMessageFragmentDoc,
    "\n  fragment ChatRoomEvent on RoomEvent {\n    __typename\n    eventSeq\n    at\n    ... on MessagePosted {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MessageEdited {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MessageDeleted {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on ReactionAdded {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on ReactionRemoved {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MemberJoined {\n      user {\n        username\n      }\n    }\n    ... on MemberLeft {\n      user {\n        username\n      }\n      removedBy {\n        username\n      }\n    }\n  }\n": typeof types.ChatRoomEventFragmentDoc,
    "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": typeof types.RegisterDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": typeof types.LoginDocument,
    "\n  mutation Logout {\n    logout\n  }\n": typeof types.LogoutDocument,
    "\n  query RoomPosition($room: String!) {\n    room(name: $room) {\n      lastEventSeq\n    }\n  }\n": typeof types.RoomPositionDocument,
    "\n  query MessagePage($room: String!, $before: String) {\n    messages(room: $room, last: 50, before: $before) {\n      edges {\n        node {\n          ...ChatMessage\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n": typeof types.MessagePageDocument,
    "\n  mutation SendMessage($room: String!, $text: String!, $replyTo: ID, $clientId: String) {\n    sendMessage(room: $room, text: $text, replyTo: $replyTo, clientId: $clientId) {\n      seq\n    }\n  }\n": typeof types.SendMessageDocument,
    "\n  mutation EditMessage($id: ID!, $text: String!) {\n    editMessage(id: $id, text: $text) {\n      id\n    }\n  }\n": typeof types.EditMessageDocument,
    "\n  mutation DeleteMessage($id: ID!) {\n    deleteMessage(id: $id) {\n      id\n    }\n  }\n": typeof types.DeleteMessageDocument,
    "\n  mutation AddReaction($id: ID!, $emoji: String!) {\n    addReaction(messageId: $id, emoji: $emoji) {\n      id\n    }\n  }\n": typeof types.AddReactionDocument,
    "\n  mutation RemoveReaction($id: ID!, $emoji: String!) {\n    removeReaction(messageId: $id, emoji: $emoji) {\n      id\n    }\n  }\n": typeof types.RemoveReactionDocument,
    "\n  subscription RoomEvents($room: String!, $afterEventSeq: Int) {\n    roomEvents(room: $room, afterEventSeq: $afterEventSeq) {\n      ...ChatRoomEvent\n    }\n  }\n": typeof types.RoomEventsDocument,
    "\n  fragment ChatRoomItem on Room {\n    name\n    private\n    direct\n    unreadCount\n    members {\n      username\n    }\n  }\n": typeof types.ChatRoomItemFragmentDoc,
    "\n  query MyRooms {\n    myRooms(first: 50) {\n      edges {\n        node {\n          ...ChatRoomItem\n        }\n      }\n    }\n  }\n": typeof types.MyRoomsDocument,
    "\n  subscription Inbox {\n    inbox {\n      __typename\n      ... on RoomActivity {\n        room {\n          ...ChatRoomItem\n        }\n        unreadCount\n      }\n      ... on UnreadChanged {\n        room {\n          name\n        }\n        unreadCount\n      }\n      ... on Mentioned {\n        message {\n          room {\n            name\n          }\n        }\n      }\n      ... on RoomJoined {\n        room {\n          ...ChatRoomItem\n        }\n      }\n      ... on RoomLeft {\n        room {\n          name\n        }\n      }\n    }\n  }\n": typeof types.InboxDocument,
    "\n  mutation DirectRoom($username: String!) {\n    directRoom(username: $username) {\n      name\n    }\n  }\n": typeof types.DirectRoomDocument,
    "\n  mutation CreateRoom($name: String!, $private: Boolean!) {\n    createRoom(name: $name, private: $private) {\n      name\n    }\n  }\n": typeof types.CreateRoomDocument,
    "\n  mutation InviteToRoom($room: String!, $username: String!) {\n    inviteToRoom(room: $room, username: $username) {\n      name\n    }\n  }\n": typeof types.InviteToRoomDocument,
    "\n  mutation LeaveRoom($room: String!) {\n    leaveRoom(room: $room)\n  }\n": typeof types.LeaveRoomDocument,
    "\n  query RoomPresence($room: String!) {\n    room(name: $room) {\n      direct\n      lastReadSeq\n      onlineCount\n      online(first: 50) {\n        username\n      }\n      members {\n        username\n      }\n    }\n  }\n": typeof types.RoomPresenceDocument,
    "\n  mutation SetTyping($room: String!, $typing: Boolean!) {\n    setTyping(room: $room, typing: $typing)\n  }\n": typeof types.SetTypingDocument,
    "\n  mutation MarkRead($room: String!, $seq: Int!) {\n    markRead(room: $room, seq: $seq) {\n      name\n      unreadCount\n    }\n  }\n": typeof types.MarkReadDocument,
    "\n  subscription RoomSignals($room: String!) {\n    roomSignals(room: $room) {\n      __typename\n      ... on TypingChanged {\n        users {\n          username\n        }\n        count\n      }\n      ... on PresenceChanged {\n        user {\n          username\n        }\n        online\n      }\n      ... on ReadUpTo {\n        user {\n          username\n        }\n        seq\n      }\n    }\n  }\n": typeof types.RoomSignalsDocument,
};
const documents: Documents = {
    "\n  fragment ChatMessage on Message {\n    id\n    seq\n    text\n    createdAt\n    editedAt\n    deleted\n    author {\n      username\n    }\n    replyTo {\n      id\n      seq\n      text\n      deleted\n      author {\n        username\n      }\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n    mentions {\n      username\n    }\n  }\n": types.ChatMessageFragmentDoc,
    "\n  fragment ChatRoomEvent on RoomEvent {\n    __typename\n    eventSeq\n    at\n    ... on MessagePosted {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MessageEdited {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MessageDeleted {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on ReactionAdded {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on ReactionRemoved {\n      message {\n        ...ChatMessage\n      }\n    }\n    ... on MemberJoined {\n      user {\n        username\n      }\n    }\n    ... on MemberLeft {\n      user {\n        username\n      }\n      removedBy {\n        username\n      }\n    }\n  }\n": types.ChatRoomEventFragmentDoc,
    "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": types.RegisterDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": types.LoginDocument,
    "\n  mutation Logout {\n    logout\n  }\n": types.LogoutDocument,
    "\n  query RoomPosition($room: String!) {\n    room(name: $room) {\n      lastEventSeq\n    }\n  }\n": types.RoomPositionDocument,
    "\n  query MessagePage($room: String!, $before: String) {\n    messages(room: $room, last: 50, before: $before) {\n      edges {\n        node {\n          ...ChatMessage\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n    }\n  }\n": types.MessagePageDocument,
    "\n  mutation SendMessage($room: String!, $text: String!, $replyTo: ID, $clientId: String) {\n    sendMessage(room: $room, text: $text, replyTo: $replyTo, clientId: $clientId) {\n      seq\n    }\n  }\n": types.SendMessageDocument,
    "\n  mutation EditMessage($id: ID!, $text: String!) {\n    editMessage(id: $id, text: $text) {\n      id\n    }\n  }\n": types.EditMessageDocument,
    "\n  mutation DeleteMessage($id: ID!) {\n    deleteMessage(id: $id) {\n      id\n    }\n  }\n": types.DeleteMessageDocument,
    "\n  mutation AddReaction($id: ID!, $emoji: String!) {\n    addReaction(messageId: $id, emoji: $emoji) {\n      id\n    }\n  }\n": types.AddReactionDocument,
    "\n  mutation RemoveReaction($id: ID!, $emoji: String!) {\n    removeReaction(messageId: $id, emoji: $emoji) {\n      id\n    }\n  }\n": types.RemoveReactionDocument,
    "\n  subscription RoomEvents($room: String!, $afterEventSeq: Int) {\n    roomEvents(room: $room, afterEventSeq: $afterEventSeq) {\n      ...ChatRoomEvent\n    }\n  }\n": types.RoomEventsDocument,
    "\n  fragment ChatRoomItem on Room {\n    name\n    private\n    direct\n    unreadCount\n    members {\n      username\n    }\n  }\n": types.ChatRoomItemFragmentDoc,
    "\n  query MyRooms {\n    myRooms(first: 50) {\n      edges {\n        node {\n          ...ChatRoomItem\n        }\n      }\n    }\n  }\n": types.MyRoomsDocument,
    "\n  subscription Inbox {\n    inbox {\n      __typename\n      ... on RoomActivity {\n        room {\n          ...ChatRoomItem\n        }\n        unreadCount\n      }\n      ... on UnreadChanged {\n        room {\n          name\n        }\n        unreadCount\n      }\n      ... on Mentioned {\n        message {\n          room {\n            name\n          }\n        }\n      }\n      ... on RoomJoined {\n        room {\n          ...ChatRoomItem\n        }\n      }\n      ... on RoomLeft {\n        room {\n          name\n        }\n      }\n    }\n  }\n": types.InboxDocument,
    "\n  mutation DirectRoom($username: String!) {\n    directRoom(username: $username) {\n      name\n    }\n  }\n": types.DirectRoomDocument,
    "\n  mutation CreateRoom($name: String!, $private: Boolean!) {\n    createRoom(name: $name, private: $private) {\n      name\n    }\n  }\n": types.CreateRoomDocument,
    "\n  mutation InviteToRoom($room: String!, $username: String!) {\n    inviteToRoom(room: $room, username: $username) {\n      name\n    }\n  }\n": types.InviteToRoomDocument,
    "\n  mutation LeaveRoom($room: String!) {\n    leaveRoom(room: $room)\n  }\n": types.LeaveRoomDocument,
    "\n  query RoomPresence($room: String!) {\n    room(name: $room) {\n      direct\n      lastReadSeq\n      onlineCount\n      online(first: 50) {\n        username\n      }\n      members {\n        username\n      }\n    }\n  }\n": types.RoomPresenceDocument,
    "\n  mutation SetTyping($room: String!, $typing: Boolean!) {\n    setTyping(room: $room, typing: $typing)\n  }\n": types.SetTypingDocument,
    "\n  mutation MarkRead($room: String!, $seq: Int!) {\n    markRead(room: $room, seq: $seq) {\n      name\n      unreadCount\n    }\n  }\n": types.MarkReadDocument,
    "\n  subscription RoomSignals($room: String!) {\n    roomSignals(room: $room) {\n      __typename\n      ... on TypingChanged {\n        users {\n          username\n        }\n        count\n      }\n      ... on PresenceChanged {\n        user {\n          username\n        }\n        online\n      }\n      ... on ReadUpTo {\n        user {\n          username\n        }\n        seq\n      }\n    }\n  }\n": types.RoomSignalsDocument,
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
export function graphql(source: "\n  fragment ChatMessage on Message {\n    id\n    seq\n    text\n    createdAt\n    editedAt\n    deleted\n    author {\n      username\n    }\n    replyTo {\n      id\n      seq\n      text\n      deleted\n      author {\n        username\n      }\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n    mentions {\n      username\n    }\n  }\n"): (typeof documents)["\n  fragment ChatMessage on Message {\n    id\n    seq\n    text\n    createdAt\n    editedAt\n    deleted\n    author {\n      username\n    }\n    replyTo {\n      id\n      seq\n      text\n      deleted\n      author {\n        username\n      }\n    }\n    reactions {\n      emoji\n      count\n      reactedByMe\n    }\n    mentions {\n      username\n    }\n  }\n"];
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
export function graphql(source: "\n  mutation SendMessage($room: String!, $text: String!, $replyTo: ID, $clientId: String) {\n    sendMessage(room: $room, text: $text, replyTo: $replyTo, clientId: $clientId) {\n      seq\n    }\n  }\n"): (typeof documents)["\n  mutation SendMessage($room: String!, $text: String!, $replyTo: ID, $clientId: String) {\n    sendMessage(room: $room, text: $text, replyTo: $replyTo, clientId: $clientId) {\n      seq\n    }\n  }\n"];
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
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ChatRoomItem on Room {\n    name\n    private\n    direct\n    unreadCount\n    members {\n      username\n    }\n  }\n"): (typeof documents)["\n  fragment ChatRoomItem on Room {\n    name\n    private\n    direct\n    unreadCount\n    members {\n      username\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MyRooms {\n    myRooms(first: 50) {\n      edges {\n        node {\n          ...ChatRoomItem\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query MyRooms {\n    myRooms(first: 50) {\n      edges {\n        node {\n          ...ChatRoomItem\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Inbox {\n    inbox {\n      __typename\n      ... on RoomActivity {\n        room {\n          ...ChatRoomItem\n        }\n        unreadCount\n      }\n      ... on UnreadChanged {\n        room {\n          name\n        }\n        unreadCount\n      }\n      ... on Mentioned {\n        message {\n          room {\n            name\n          }\n        }\n      }\n      ... on RoomJoined {\n        room {\n          ...ChatRoomItem\n        }\n      }\n      ... on RoomLeft {\n        room {\n          name\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription Inbox {\n    inbox {\n      __typename\n      ... on RoomActivity {\n        room {\n          ...ChatRoomItem\n        }\n        unreadCount\n      }\n      ... on UnreadChanged {\n        room {\n          name\n        }\n        unreadCount\n      }\n      ... on Mentioned {\n        message {\n          room {\n            name\n          }\n        }\n      }\n      ... on RoomJoined {\n        room {\n          ...ChatRoomItem\n        }\n      }\n      ... on RoomLeft {\n        room {\n          name\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DirectRoom($username: String!) {\n    directRoom(username: $username) {\n      name\n    }\n  }\n"): (typeof documents)["\n  mutation DirectRoom($username: String!) {\n    directRoom(username: $username) {\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateRoom($name: String!, $private: Boolean!) {\n    createRoom(name: $name, private: $private) {\n      name\n    }\n  }\n"): (typeof documents)["\n  mutation CreateRoom($name: String!, $private: Boolean!) {\n    createRoom(name: $name, private: $private) {\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation InviteToRoom($room: String!, $username: String!) {\n    inviteToRoom(room: $room, username: $username) {\n      name\n    }\n  }\n"): (typeof documents)["\n  mutation InviteToRoom($room: String!, $username: String!) {\n    inviteToRoom(room: $room, username: $username) {\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation LeaveRoom($room: String!) {\n    leaveRoom(room: $room)\n  }\n"): (typeof documents)["\n  mutation LeaveRoom($room: String!) {\n    leaveRoom(room: $room)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RoomPresence($room: String!) {\n    room(name: $room) {\n      direct\n      lastReadSeq\n      onlineCount\n      online(first: 50) {\n        username\n      }\n      members {\n        username\n      }\n    }\n  }\n"): (typeof documents)["\n  query RoomPresence($room: String!) {\n    room(name: $room) {\n      direct\n      lastReadSeq\n      onlineCount\n      online(first: 50) {\n        username\n      }\n      members {\n        username\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetTyping($room: String!, $typing: Boolean!) {\n    setTyping(room: $room, typing: $typing)\n  }\n"): (typeof documents)["\n  mutation SetTyping($room: String!, $typing: Boolean!) {\n    setTyping(room: $room, typing: $typing)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MarkRead($room: String!, $seq: Int!) {\n    markRead(room: $room, seq: $seq) {\n      name\n      unreadCount\n    }\n  }\n"): (typeof documents)["\n  mutation MarkRead($room: String!, $seq: Int!) {\n    markRead(room: $room, seq: $seq) {\n      name\n      unreadCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RoomSignals($room: String!) {\n    roomSignals(room: $room) {\n      __typename\n      ... on TypingChanged {\n        users {\n          username\n        }\n        count\n      }\n      ... on PresenceChanged {\n        user {\n          username\n        }\n        online\n      }\n      ... on ReadUpTo {\n        user {\n          username\n        }\n        seq\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription RoomSignals($room: String!) {\n    roomSignals(room: $room) {\n      __typename\n      ... on TypingChanged {\n        users {\n          username\n        }\n        count\n      }\n      ... on PresenceChanged {\n        user {\n          username\n        }\n        online\n      }\n      ... on ReadUpTo {\n        user {\n          username\n        }\n        seq\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;