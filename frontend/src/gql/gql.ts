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
    "\n  fragment ChatMessage on Message {\n    seq\n    text\n    createdAt\n    author {\n      username\n    }\n  }\n": typeof types.ChatMessageFragmentDoc,
    "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": typeof types.RegisterDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": typeof types.LoginDocument,
    "\n  mutation Logout {\n    logout\n  }\n": typeof types.LogoutDocument,
    "\n  query RecentMessages($room: String!, $last: Int!) {\n    messages(room: $room, last: $last) {\n      edges {\n        node {\n          ...ChatMessage\n        }\n      }\n    }\n  }\n": typeof types.RecentMessagesDocument,
    "\n  mutation SendMessage($room: String!, $text: String!) {\n    sendMessage(room: $room, text: $text) {\n      seq\n    }\n  }\n": typeof types.SendMessageDocument,
    "\n  subscription MessageAdded($room: String!, $afterSeq: Int) {\n    messageAdded(room: $room, afterSeq: $afterSeq) {\n      ...ChatMessage\n    }\n  }\n": typeof types.MessageAddedDocument,
};
const documents: Documents = {
    "\n  fragment ChatMessage on Message {\n    seq\n    text\n    createdAt\n    author {\n      username\n    }\n  }\n": types.ChatMessageFragmentDoc,
    "\n  mutation Register($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": types.RegisterDocument,
    "\n  mutation Login($username: String!, $password: String!) {\n    login(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": types.LoginDocument,
    "\n  mutation Logout {\n    logout\n  }\n": types.LogoutDocument,
    "\n  query RecentMessages($room: String!, $last: Int!) {\n    messages(room: $room, last: $last) {\n      edges {\n        node {\n          ...ChatMessage\n        }\n      }\n    }\n  }\n": types.RecentMessagesDocument,
    "\n  mutation SendMessage($room: String!, $text: String!) {\n    sendMessage(room: $room, text: $text) {\n      seq\n    }\n  }\n": types.SendMessageDocument,
    "\n  subscription MessageAdded($room: String!, $afterSeq: Int) {\n    messageAdded(room: $room, afterSeq: $afterSeq) {\n      ...ChatMessage\n    }\n  }\n": types.MessageAddedDocument,
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
export function graphql(source: "\n  fragment ChatMessage on Message {\n    seq\n    text\n    createdAt\n    author {\n      username\n    }\n  }\n"): (typeof documents)["\n  fragment ChatMessage on Message {\n    seq\n    text\n    createdAt\n    author {\n      username\n    }\n  }\n"];
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
export function graphql(source: "\n  query RecentMessages($room: String!, $last: Int!) {\n    messages(room: $room, last: $last) {\n      edges {\n        node {\n          ...ChatMessage\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query RecentMessages($room: String!, $last: Int!) {\n    messages(room: $room, last: $last) {\n      edges {\n        node {\n          ...ChatMessage\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendMessage($room: String!, $text: String!) {\n    sendMessage(room: $room, text: $text) {\n      seq\n    }\n  }\n"): (typeof documents)["\n  mutation SendMessage($room: String!, $text: String!) {\n    sendMessage(room: $room, text: $text) {\n      seq\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription MessageAdded($room: String!, $afterSeq: Int) {\n    messageAdded(room: $room, afterSeq: $afterSeq) {\n      ...ChatMessage\n    }\n  }\n"): (typeof documents)["\n  subscription MessageAdded($room: String!, $afterSeq: Int) {\n    messageAdded(room: $room, afterSeq: $afterSeq) {\n      ...ChatMessage\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;