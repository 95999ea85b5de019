"""GraphQL types of ``roomSignals`` and ``inbox`` (values: chat.signalling)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from chat import signalling
from schema.types import MessageType, RoomType, UserType

__all__ = ["SIGNAL_TYPES", "InboxEvent", "RoomSignal"]


def _of(value_class: type) -> classmethod:  # type: ignore[type-arg]
    """Which GraphQL type a value is: by its class."""

    def is_type_of(cls: type, obj: object, _info: object) -> bool:
        return isinstance(obj, value_class)

    return classmethod(is_type_of)


@strawberry.type(
    name="TypingChanged",
    description="Who is typing in the room now (you included): the first 10, in order of "
    "starting; `count` of all.",
)
class TypingChangedType:
    users: list[UserType]
    count: int
    is_type_of = _of(signalling.TypingChanged)


@strawberry.type(name="PresenceChanged", description="One user came online or went offline.")
class PresenceChangedType:
    user: UserType
    online: bool
    is_type_of = _of(signalling.PresenceChanged)


@strawberry.type(
    name="ReadUpTo",
    description="A member's read marker moved to `seq` (rooms of at most 100 members).",
)
class ReadUpToType:
    user: UserType
    seq: int
    is_type_of = _of(signalling.ReadUpTo)


@strawberry.type(
    name="RoomActivity",
    description="A new message in one of your rooms (yours too), with the room's unread "
    "count after it.",
)
class RoomActivityType:
    room: RoomType
    message: MessageType
    unread_count: int
    is_type_of = _of(signalling.RoomActivity)


@strawberry.type(
    name="UnreadChanged",
    description="Your unread count in a room changed without a new message: markRead on "
    "any of your devices, or an unread message deleted.",
)
class UnreadChangedType:
    room: RoomType
    unread_count: int
    is_type_of = _of(signalling.UnreadChanged)


@strawberry.type(name="Mentioned", description="A new message mentions you.")
class MentionedType:
    message: MessageType
    is_type_of = _of(signalling.Mentioned)


@strawberry.type(
    name="RoomJoined",
    description="You became a member of a room (joined, invited, created, direct room).",
)
class RoomJoinedType:
    room: RoomType
    is_type_of = _of(signalling.RoomJoined)


@strawberry.type(name="RoomLeft", description="You are no longer a member of a room.")
class RoomLeftType:
    room: RoomType
    is_type_of = _of(signalling.RoomLeft)


RoomSignal = Annotated[
    TypingChangedType | PresenceChangedType | ReadUpToType,
    strawberry.union("RoomSignal", description="Ephemeral room state: not stored, not resumable."),
]
InboxEvent = Annotated[
    RoomActivityType | UnreadChangedType | MentionedType | RoomJoinedType | RoomLeftType,
    strawberry.union("InboxEvent", description="Something in any of your rooms."),
]

SIGNAL_TYPES = (
    TypingChangedType,
    PresenceChangedType,
    ReadUpToType,
    RoomActivityType,
    UnreadChangedType,
    MentionedType,
    RoomJoinedType,
    RoomLeftType,
)
