// Every operation the browser UI sends; codegen types them from schema.graphql.
import { graphql } from "./gql";

// A message as the page shows it. Reactions without their users: over a page of 100
// messages those would cost more than an operation may (QUERY_TOO_COMPLEX).
export const ChatMessageFields = graphql(`
  fragment ChatMessage on Message {
    id
    seq
    text
    createdAt
    editedAt
    deleted
    author {
      username
    }
    replyTo {
      id
      seq
      text
      deleted
      author {
        username
      }
    }
    reactions {
      emoji
      count
      reactedByMe
    }
    mentions {
      username
    }
  }
`);

export const ChatRoomEventFields = graphql(`
  fragment ChatRoomEvent on RoomEvent {
    __typename
    eventSeq
    at
    ... on MessagePosted {
      message {
        ...ChatMessage
      }
    }
    ... on MessageEdited {
      message {
        ...ChatMessage
      }
    }
    ... on MessageDeleted {
      message {
        ...ChatMessage
      }
    }
    ... on ReactionAdded {
      message {
        ...ChatMessage
      }
    }
    ... on ReactionRemoved {
      message {
        ...ChatMessage
      }
    }
    ... on MemberJoined {
      user {
        username
      }
    }
    ... on MemberLeft {
      user {
        username
      }
      removedBy {
        username
      }
    }
  }
`);

export const Register = graphql(`
  mutation Register($username: String!, $password: String!) {
    register(username: $username, password: $password) {
      token
      user {
        username
      }
    }
  }
`);

export const Login = graphql(`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      token
      user {
        username
      }
    }
  }
`);

export const Logout = graphql(`
  mutation Logout {
    logout
  }
`);

// The room's lastEventSeq is read before its messages (a separate request), so the
// roomEvents subscription that resumes after it misses nothing the history lacks.
export const RoomPosition = graphql(`
  query RoomPosition($room: String!) {
    room(name: $room) {
      lastEventSeq
    }
  }
`);

// A literal page size: a variable counts as the largest page (100) in the cost model,
// which leaves this selection little margin under the limit.
export const MessagePage = graphql(`
  query MessagePage($room: String!, $before: String) {
    messages(room: $room, last: 50, before: $before) {
      edges {
        node {
          ...ChatMessage
        }
      }
      pageInfo {
        hasPreviousPage
        startCursor
      }
    }
  }
`);

export const SendMessage = graphql(`
  mutation SendMessage($room: String!, $text: String!, $replyTo: ID, $clientId: String) {
    sendMessage(room: $room, text: $text, replyTo: $replyTo, clientId: $clientId) {
      seq
    }
  }
`);

// The page shows what the roomEvents subscription delivers; these answers are not used.
export const EditMessage = graphql(`
  mutation EditMessage($id: ID!, $text: String!) {
    editMessage(id: $id, text: $text) {
      id
    }
  }
`);

export const DeleteMessage = graphql(`
  mutation DeleteMessage($id: ID!) {
    deleteMessage(id: $id) {
      id
    }
  }
`);

export const AddReaction = graphql(`
  mutation AddReaction($id: ID!, $emoji: String!) {
    addReaction(messageId: $id, emoji: $emoji) {
      id
    }
  }
`);

export const RemoveReaction = graphql(`
  mutation RemoveReaction($id: ID!, $emoji: String!) {
    removeReaction(messageId: $id, emoji: $emoji) {
      id
    }
  }
`);

export const RoomEvents = graphql(`
  subscription RoomEvents($room: String!, $afterEventSeq: Int) {
    roomEvents(room: $room, afterEventSeq: $afterEventSeq) {
      ...ChatRoomEvent
    }
  }
`);

// A line of the room list. Members only to name a direct room by the other person.
export const ChatRoomItemFields = graphql(`
  fragment ChatRoomItem on Room {
    name
    private
    direct
    unreadCount
    members {
      username
    }
  }
`);

export const MyRooms = graphql(`
  query MyRooms {
    myRooms(first: 50) {
      edges {
        node {
          ...ChatRoomItem
        }
      }
    }
  }
`);

export const Inbox = graphql(`
  subscription Inbox {
    inbox {
      __typename
      ... on RoomActivity {
        room {
          ...ChatRoomItem
        }
        unreadCount
      }
      ... on UnreadChanged {
        room {
          name
        }
        unreadCount
      }
      ... on Mentioned {
        message {
          room {
            name
          }
        }
      }
      ... on RoomJoined {
        room {
          ...ChatRoomItem
        }
      }
      ... on RoomLeft {
        room {
          name
        }
      }
    }
  }
`);

export const DirectRoom = graphql(`
  mutation DirectRoom($username: String!) {
    directRoom(username: $username) {
      name
    }
  }
`);

export const CreateRoom = graphql(`
  mutation CreateRoom($name: String!, $private: Boolean!) {
    createRoom(name: $name, private: $private) {
      name
    }
  }
`);

export const InviteToRoom = graphql(`
  mutation InviteToRoom($room: String!, $username: String!) {
    inviteToRoom(room: $room, username: $username) {
      name
    }
  }
`);

export const LeaveRoom = graphql(`
  mutation LeaveRoom($room: String!) {
    leaveRoom(room: $room)
  }
`);

// Who is here when the room opens; PresenceChanged events keep it current after that.
export const RoomPresence = graphql(`
  query RoomPresence($room: String!) {
    room(name: $room) {
      direct
      lastReadSeq
      onlineCount
      online(first: 50) {
        username
      }
      members {
        username
      }
    }
  }
`);

export const SetTyping = graphql(`
  mutation SetTyping($room: String!, $typing: Boolean!) {
    setTyping(room: $room, typing: $typing)
  }
`);

export const MarkRead = graphql(`
  mutation MarkRead($room: String!, $seq: Int!) {
    markRead(room: $room, seq: $seq) {
      name
      unreadCount
    }
  }
`);

export const RoomSignals = graphql(`
  subscription RoomSignals($room: String!) {
    roomSignals(room: $room) {
      __typename
      ... on TypingChanged {
        users {
          username
        }
        count
      }
      ... on PresenceChanged {
        user {
          username
        }
        online
      }
      ... on ReadUpTo {
        user {
          username
        }
        seq
      }
    }
  }
`);
