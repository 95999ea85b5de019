"""What ``roomSignals`` and ``inbox`` deliver: their layer payloads and their values.

Signals are ephemeral: typing, presence and read markers are state a client reads again
(``Room.onlineCount``, ``Room.lastReadSeq``) when it reconnects; nothing replays them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

from chat.models import Message, Room

__all__ = [
    "MAX_ONLINE_LISTED",
    "SIGNAL_EVENT_TYPE",
    "TYPING_SHOWN",
    "USER_EVENT_TYPE",
    "InboxEventValue",
    "Mentioned",
    "PresenceChanged",
    "ReadUpTo",
    "RoomActivity",
    "RoomJoined",
    "RoomLeft",
    "RoomSignalPayload",
    "RoomSignalValue",
    "TypingChanged",
    "UnreadChanged",
    "UserNoticePayload",
    "user_key",
]

USER_EVENT_TYPE: Literal["chat.user"] = "chat.user"
SIGNAL_EVENT_TYPE: Literal["chat.signal"] = "chat.signal"
# TypingChanged names at most this many users (``count`` has them all).
TYPING_SHOWN = 10
# Room.online lists at most this many users.
MAX_ONLINE_LISTED = 100


def user_key(user_id: int) -> str:
    """The hub key (and group, see chat.events.room_group_name) of one user's notices: a
    '.' is never part of a room name, so it names no room."""
    return f"user.{user_id}"


class UserNoticePayload(TypedDict):
    kind: Literal["room_joined", "room_left", "unread_changed"]
    room_id: int
    room_name: str
    unread_count: NotRequired[int]
    last_read_seq: NotRequired[int]
    # unread_changed: the room's lastSeq as of unread_count (later posts are not in it).
    # A device's inbox that has counted no further takes the count as it is, without
    # reading it again (absent from a process of an earlier version: it reads).
    last_seq: NotRequired[int]


class RoomSignalPayload(TypedDict):
    # "read": a member's read marker moved; "typing": a member types until ``until``
    # (epoch seconds; 0: stopped); "presence": a member came online or went offline.
    kind: Literal["read", "typing", "presence"]
    user_id: int
    username: str
    seq: NotRequired[int]
    until: NotRequired[float]
    online: NotRequired[bool]


@dataclass(frozen=True, slots=True)
class TypingChanged:
    # The first TYPING_SHOWN typing, in order of starting.
    users: tuple[Any, ...]
    count: int


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    user: Any
    online: bool


@dataclass(frozen=True, slots=True)
class ReadUpTo:
    user: Any
    seq: int


RoomSignalValue = TypingChanged | PresenceChanged | ReadUpTo


@dataclass(frozen=True, slots=True)
class RoomActivity:
    room: Room
    message: Message
    unread_count: int


@dataclass(frozen=True, slots=True)
class UnreadChanged:
    room: Room
    unread_count: int


@dataclass(frozen=True, slots=True)
class Mentioned:
    message: Message


@dataclass(frozen=True, slots=True)
class RoomJoined:
    room: Room


@dataclass(frozen=True, slots=True)
class RoomLeft:
    room: Room


InboxEventValue = RoomActivity | UnreadChanged | Mentioned | RoomJoined | RoomLeft
