"""Notices to one user's devices (their ``inbox``) and a room's ephemeral signals: what
the services publish after commit for the inbox and ``roomSignals``. Not durable: a
device that was not connected reads the state (myRooms, unreadCount) instead."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from chat import events
from chat.models import Room
from chat.signalling import (
    SIGNAL_EVENT_TYPE,
    USER_EVENT_TYPE,
    RoomSignalPayload,
    UserNoticePayload,
    user_key,
)

__all__ = ["read_marked", "room_joined", "room_left"]


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
    *,
    room: Room,
    user: AbstractBaseUser,
    seq: int,
    unread_count: int,
    last_seq: int,
    broadcast: bool,
) -> None:
    """``user``'s read marker in ``room`` moved to ``seq``: their devices learn the new
    unread count (as of the room's ``last_seq``); with ``broadcast`` (small rooms), the
    room's signal subscribers learn the marker (ReadUpTo)."""
    _user_notice(
        user.pk,
        {
            "kind": "unread_changed",
            "room_id": room.pk,
            "room_name": room.name,
            "unread_count": unread_count,
            "last_read_seq": seq,
            "last_seq": last_seq,
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
