// Every operation the browser UI sends; codegen types them from schema.graphql.
import { graphql } from "./gql";

export const ChatMessageFields = graphql(`
  fragment ChatMessage on Message {
    seq
    text
    createdAt
    author {
      username
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

export const RecentMessages = graphql(`
  query RecentMessages($room: String!, $last: Int!) {
    messages(room: $room, last: $last) {
      edges {
        node {
          ...ChatMessage
        }
      }
    }
  }
`);

export const SendMessage = graphql(`
  mutation SendMessage($room: String!, $text: String!) {
    sendMessage(room: $room, text: $text) {
      seq
    }
  }
`);

export const MessageAdded = graphql(`
  subscription MessageAdded($room: String!, $afterSeq: Int) {
    messageAdded(room: $room, afterSeq: $afterSeq) {
      ...ChatMessage
    }
  }
`);
