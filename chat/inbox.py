"""What an ``inbox`` subscription starts from: the user's rooms with their read state,
each read in one statement so that a room's lastSeq and unread count agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connections

from chat.db import statement_cursor
from chat.models import Room, model_columns, model_from_row
from chat.reads import rooms_read_state, unread_count_sql

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
    connection = connections[Room.objects.db]
    if connection.vendor == "postgresql":
        return _inbox_rooms_statement(
            connection.alias, user_id=user_id, limit=limit, room_ids=room_ids
        )
    rooms = rooms_read_state(user_id=user_id)
    if room_ids is not None:
        rooms = rooms.filter(pk__in=room_ids)
    page = rooms.order_by("-last_activity_at", "-id")[:limit]
    # (rooms_read_state's annotations are not in its QuerySet's type.)
    return [
        InboxRoom(room=room, last_seq=room.last_seq, last_read=room.marker, unread=room.unread)  # type: ignore[attr-defined]
        for room in page
    ]


# PostgreSQL: inbox_rooms as one prepared statement (rooms_read_state's, written out):
# an inbox reads its rooms when it starts, and one room again after a markRead whose notice
# it cannot take as it is. With and without a list of rooms.
_ROOMS = f"""
SELECT {model_columns(Room, "r")}, COALESCE(k.seq, 0),
    {unread_count_sql(room="r.id", marker="COALESCE(k.seq, 0)")}
FROM chat_room AS r
    JOIN chat_room_members AS rm ON rm.room_id = r.id AND rm.user_id = %(user)s
    LEFT JOIN chat_readmarker AS k ON k.room_id = r.id AND k.user_id = %(user)s
{{where}}
ORDER BY r.last_activity_at DESC, r.id DESC LIMIT %(limit)s
"""
_STATEMENTS = {
    False: _ROOMS.format(where=""),
    True: _ROOMS.format(where="WHERE r.id = ANY(%(rooms)s::bigint[])"),
}


def _inbox_rooms_statement(
    alias: str, *, user_id: int, limit: int, room_ids: Sequence[int] | None
) -> list[InboxRoom]:
    params: dict[str, int | list[int]] = {
        "user": user_id,
        "limit": limit,
        "rooms": list(room_ids or ()),
    }
    with statement_cursor(connections[alias]) as cursor:
        cursor.execute(_STATEMENTS[room_ids is not None], params)
        rows = cursor.fetchall()
    entries = []
    for row in rows:
        room = model_from_row(Room, alias, row)
        entries.append(
            InboxRoom(room=room, last_seq=room.last_seq, last_read=row[-2], unread=row[-1])
        )
    return entries
