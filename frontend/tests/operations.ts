// Operations of the client compatibility tests, typed by codegen like the UI's.
import { graphql } from "./gql";

export const SignUp = graphql(`
  mutation SignUp($username: String!, $password: String!) {
    register(username: $username, password: $password) {
      token
      user {
        username
      }
    }
  }
`);

export const PostedMessageFields = graphql(`
  fragment PostedMessage on Message {
    id
    seq
    text
    createdAt
    author {
      username
    }
    room {
      name
      lastSeq
    }
  }
`);

export const Post = graphql(`
  mutation Post($room: String!, $text: String!, $clientId: String) {
    sendMessage(room: $room, text: $text, clientId: $clientId) {
      ...PostedMessage
    }
  }
`);

export const History = graphql(`
  query History($room: String!) {
    messages(room: $room, last: 10) {
      edges {
        node {
          id
          seq
          text
          author {
            username
          }
        }
      }
      pageInfo {
        hasPreviousPage
      }
    }
  }
`);

export const Feed = graphql(`
  subscription Feed($room: String!, $afterSeq: Int) {
    messageAdded(room: $room, afterSeq: $afterSeq) {
      ...PostedMessage
    }
  }
`);

// The room event stream: a fragment on the RoomEvent interface for what every event has,
// and one on each event type. Apollo's cache matches `... on RoomEvent` against a
// MessagePosted only through possibleTypes (tests/gql/possible-types.ts).
export const EventMessageFields = graphql(`
  fragment EventMessage on Message {
    id
    seq
    text
    deleted
    editedAt
    author {
      username
    }
    replyTo {
      id
      text
      deleted
    }
    reactions {
      emoji
      count
      reactedByMe
      users {
        username
      }
    }
  }
`);

export const RoomEventFields = graphql(`
  fragment AnyRoomEvent on RoomEvent {
    __typename
    eventSeq
    at
    actor {
      username
    }
    room {
      name
      lastEventSeq
    }
    ...Posted
    ...Edited
    ...Deleted
    ...Reacted
    ...Unreacted
    ...Joined
    ...Left
  }
  fragment Posted on MessagePosted {
    message {
      ...EventMessage
    }
  }
  fragment Edited on MessageEdited {
    message {
      ...EventMessage
    }
  }
  fragment Deleted on MessageDeleted {
    message {
      ...EventMessage
    }
  }
  fragment Reacted on ReactionAdded {
    emoji
    user {
      username
    }
    message {
      ...EventMessage
    }
  }
  fragment Unreacted on ReactionRemoved {
    emoji
    user {
      username
    }
    message {
      ...EventMessage
    }
  }
  fragment Joined on MemberJoined {
    user {
      username
    }
  }
  fragment Left on MemberLeft {
    user {
      username
    }
    removedBy {
      username
    }
  }
`);

export const RoomEvents = graphql(`
  subscription RoomEvents($room: String!, $afterEventSeq: Int) {
    roomEvents(room: $room, afterEventSeq: $afterEventSeq) {
      ...AnyRoomEvent
    }
  }
`);

// A literal page size: the cost model counts a variable one as the largest page.
export const RoomHistory = graphql(`
  query RoomHistory($room: String!) {
    roomEvents(room: $room, last: 10) {
      edges {
        node {
          ...AnyRoomEvent
        }
      }
      pageInfo {
        hasPreviousPage
      }
    }
  }
`);

export const Messages = graphql(`
  query Messages($room: String!) {
    messages(room: $room, last: 10) {
      edges {
        node {
          ...EventMessage
        }
      }
    }
  }
`);

export const CreateRoom = graphql(`
  mutation CreateRoom($name: String!) {
    createRoom(name: $name) {
      name
    }
  }
`);

export const JoinRoom = graphql(`
  mutation JoinRoom($room: String!) {
    joinRoom(room: $room) {
      name
    }
  }
`);

export const LeaveRoom = graphql(`
  mutation LeaveRoom($room: String!) {
    leaveRoom(room: $room)
  }
`);

export const Send = graphql(`
  mutation Send($room: String!, $text: String!, $replyTo: ID) {
    sendMessage(room: $room, text: $text, replyTo: $replyTo) {
      ...EventMessage
    }
  }
`);

export const Edit = graphql(`
  mutation Edit($id: ID!, $text: String!) {
    editMessage(id: $id, text: $text) {
      ...EventMessage
    }
  }
`);

export const Delete = graphql(`
  mutation Delete($id: ID!) {
    deleteMessage(id: $id) {
      ...EventMessage
    }
  }
`);

export const React = graphql(`
  mutation React($id: ID!, $emoji: String!) {
    addReaction(messageId: $id, emoji: $emoji) {
      ...EventMessage
    }
  }
`);

export const Unreact = graphql(`
  mutation Unreact($id: ID!, $emoji: String!) {
    removeReaction(messageId: $id, emoji: $emoji) {
      ...EventMessage
    }
  }
`);
