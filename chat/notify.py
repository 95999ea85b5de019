"""Notices to one user's devices (their ``inbox``) and a room's ephemeral signals: what
the services publish after commit for the inbox and ``roomSignals``. Not durable: a
device that was not connected reads the state (myRooms, unreadCount) instead."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from django.contrib.auth.models import AbstractBaseUser

from chat import events
from chat.models import Room

__all__ = [
    "SIGNAL_EVENT_TYPE",
    "USER_EVENT_TYPE",
    "RoomSignalPayload",
    "UserNoticePayload",
    "read_marked",
    "room_joined",
    "room_left",
    "user_key",
]

USER_EVENT_TYPE: Literal["chat.user"] = "chat.user"
SIGNAL_EVENT_TYPE: Literal["chat.signal"] = "chat.signal"


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


class RoomSignalPayload(TypedDict):
    # "read": a member's read marker moved; "typing"/"presence": see chat.ephemeral.
    kind: Literal["read", "typing", "presence"]
    user_id: int
    username: str
    seq: NotRequired[int]
    until: NotRequired[float]
    online: NotRequired[bool]


def _user_notice(user_id: int, payload: UserNoticePayload) -> None:
    event: dict[str, Any] = {"type": USER_EVENT_TYPE, "room": user_key(user_id), "notice": payload}
    events.event_send_on_commit(event)


def room_joined(*, room: Room, user_id: int) -> None:
    """``user_id`` became a member of ``room`` (joined, invited, created it, direct room)."""
    _user_notice(user_id, {"kind": "room_joined", "room_id": room.pk, "room_name": room.name})


def room_left(*, room: Room, user_id: int) -> None:
    """``user_id`` is no longer a member of ``room`` (left or removed)."""
    _user_notice(user_id, {"kind": "room_left", "room_id": room.pk, "room_name": room.name})


def read_marked(
    *, room: Room, user: AbstractBaseUser, seq: int, unread_count: int, broadcast: bool
) -> None:
    """``user``'s read marker in ``room`` moved to ``seq``: their devices learn the new
    unread count; with ``broadcast`` (small rooms), the room's signal subscribers learn
    the marker (ReadUpTo)."""
    _user_notice(
        user.pk,
        {
            "kind": "unread_changed",
            "room_id": room.pk,
            "room_name": room.name,
            "unread_count": unread_count,
            "last_read_seq": seq,
        },
    )
    if broadcast:
        signal: RoomSignalPayload = {
            "kind": "read",
            "user_id": user.pk,
            "username": user.get_username(),
            "seq": seq,
        }
        events.event_send_on_commit(
            {"type": SIGNAL_EVENT_TYPE, "room": room.name, "signal": signal}
        )
