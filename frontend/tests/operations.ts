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
  mutation Post($room: String!, $text: String!) {
    sendMessage(room: $room, text: $text) {
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
