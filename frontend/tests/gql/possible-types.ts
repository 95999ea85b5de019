
      export type PossibleTypesResultData = {
  "possibleTypes": {
    "RoomEvent": [
      "MemberJoined",
      "MemberLeft",
      "MessageDeleted",
      "MessageEdited",
      "MessagePosted",
      "ReactionAdded",
      "ReactionRemoved"
    ]
  }
};
      const result: PossibleTypesResultData = {
  "possibleTypes": {
    "RoomEvent": [
      "MemberJoined",
      "MemberLeft",
      "MessageDeleted",
      "MessageEdited",
      "MessagePosted",
      "ReactionAdded",
      "ReactionRemoved"
    ]
  }
};
      export default result;
    