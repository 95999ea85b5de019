"""What an ``inbox`` subscription starts from: the user's rooms with their read state,
each read in one statement so that a room's lastSeq and unread count agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chat.models import Room
from chat.reads import rooms_read_state

__all__ = ["InboxRoom", "inbox_rooms"]


@dataclass(frozen=True, slots=True)
class InboxRoom:
    room: Room
    # The room's last seq as of ``unread``: a later message is not in it.
    last_seq: int
    last_read: int
    unread: int


def inbox_rooms(
    *, user_id: int, limit: int, room_ids: Sequence[int] | None = None
) -> list[InboxRoom]:
    """The rooms ``user_id`` is a member of (the ``limit`` most recently active, or those
    of ``room_ids``), each with its read marker and unread count: one query."""
    rooms = rooms_read_state(user_id=user_id)
    if room_ids is not None:
        rooms = rooms.filter(pk__in=room_ids)
    page = rooms.order_by("-last_activity_at", "-id")[:limit]
    # (rooms_read_state's annotations are not in its QuerySet's type.)
    return [
        InboxRoom(room=room, last_seq=room.last_seq, last_read=room.marker, unread=room.unread)  # type: ignore[attr-defined]
        for room in page
    ]
