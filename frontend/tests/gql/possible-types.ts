
      export type PossibleTypesResultData = {
  "possibleTypes": {
    "InboxEvent": [
      "Mentioned",
      "RoomActivity",
      "RoomJoined",
      "RoomLeft",
      "UnreadChanged"
    ],
    "RoomEvent": [
      "MemberJoined",
      "MemberLeft",
      "MessageDeleted",
      "MessageEdited",
      "MessagePosted",
      "ReactionAdded",
      "ReactionRemoved"
    ],
    "RoomSignal": [
      "PresenceChanged",
      "ReadUpTo",
      "TypingChanged"
    ]
  }
};
      const result: PossibleTypesResultData = {
  "possibleTypes": {
    "InboxEvent": [
      "Mentioned",
      "RoomActivity",
      "RoomJoined",
      "RoomLeft",
      "UnreadChanged"
    ],
    "RoomEvent": [
      "MemberJoined",
      "MemberLeft",
      "MessageDeleted",
      "MessageEdited",
      "MessagePosted",
      "ReactionAdded",
      "ReactionRemoved"
    ],
    "RoomSignal": [
      "PresenceChanged",
      "ReadUpTo",
      "TypingChanged"
    ]
  }
};
      export default result;
    