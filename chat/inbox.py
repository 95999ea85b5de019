"""What an ``inbox`` subscription starts from: the user's rooms with their read state,
each read in one statement so that a room's lastSeq and unread count agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from chat.models import Message, ReadMarker, Room

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
    marker = Coalesce(
        Subquery(ReadMarker.objects.filter(room=OuterRef("pk"), user_id=user_id).values("seq")[:1]),
        Value(0),
        output_field=IntegerField(),
    )
    unread = Coalesce(
        Subquery(
            Message.objects.filter(room=OuterRef("pk"), seq__gt=OuterRef("marker"), deleted=False)
            .exclude(author_id=user_id)
            .order_by()
            .values("room")
            .annotate(n=Count("*"))
            .values("n")
        ),
        Value(0),
        output_field=IntegerField(),
    )
    rooms = Room.objects.filter(members=user_id)
    if room_ids is not None:
        rooms = rooms.filter(pk__in=room_ids)
    rooms = rooms.annotate(marker=marker).annotate(unread=unread)
    page = rooms.order_by("-last_activity_at", "-id")[:limit]
    return [
        InboxRoom(room=room, last_seq=room.last_seq, last_read=room.marker, unread=room.unread)
        for room in page
    ]
