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
    "\n  mutation Post($room: String!, $text: String!) {\n    sendMessage(room: $room, text: $text) {\n      ...PostedMessage\n    }\n  }\n": typeof types.PostDocument,
    "\n  query History($room: String!) {\n    messages(room: $room, last: 10) {\n      edges {\n        node {\n          id\n          seq\n          text\n          author {\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n      }\n    }\n  }\n": typeof types.HistoryDocument,
    "\n  subscription Feed($room: String!, $afterSeq: Int) {\n    messageAdded(room: $room, afterSeq: $afterSeq) {\n      ...PostedMessage\n    }\n  }\n": typeof types.FeedDocument,
};
const documents: Documents = {
    "\n  mutation SignUp($username: String!, $password: String!) {\n    register(username: $username, password: $password) {\n      token\n      user {\n        username\n      }\n    }\n  }\n": types.SignUpDocument,
    "\n  fragment PostedMessage on Message {\n    id\n    seq\n    text\n    createdAt\n    author {\n      username\n    }\n    room {\n      name\n      lastSeq\n    }\n  }\n": types.PostedMessageFragmentDoc,
    "\n  mutation Post($room: String!, $text: String!) {\n    sendMessage(room: $room, text: $text) {\n      ...PostedMessage\n    }\n  }\n": types.PostDocument,
    "\n  query History($room: String!) {\n    messages(room: $room, last: 10) {\n      edges {\n        node {\n          id\n          seq\n          text\n          author {\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n      }\n    }\n  }\n": types.HistoryDocument,
    "\n  subscription Feed($room: String!, $afterSeq: Int) {\n    messageAdded(room: $room, afterSeq: $afterSeq) {\n      ...PostedMessage\n    }\n  }\n": types.FeedDocument,
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
export function graphql(source: "\n  mutation Post($room: String!, $text: String!) {\n    sendMessage(room: $room, text: $text) {\n      ...PostedMessage\n    }\n  }\n"): (typeof documents)["\n  mutation Post($room: String!, $text: String!) {\n    sendMessage(room: $room, text: $text) {\n      ...PostedMessage\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query History($room: String!) {\n    messages(room: $room, last: 10) {\n      edges {\n        node {\n          id\n          seq\n          text\n          author {\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n      }\n    }\n  }\n"): (typeof documents)["\n  query History($room: String!) {\n    messages(room: $room, last: 10) {\n      edges {\n        node {\n          id\n          seq\n          text\n          author {\n            username\n          }\n        }\n      }\n      pageInfo {\n        hasPreviousPage\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Feed($room: String!, $afterSeq: Int) {\n    messageAdded(room: $room, afterSeq: $afterSeq) {\n      ...PostedMessage\n    }\n  }\n"): (typeof documents)["\n  subscription Feed($room: String!, $afterSeq: Int) {\n    messageAdded(room: $room, afterSeq: $afterSeq) {\n      ...PostedMessage\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;