"""Writing the room event log: one event numbered with its room's next eventSeq in the
caller's transaction, published after commit (chat.roomevents has the reads).

Posts are logged by chat.posting in the same statement as their insert; everything
else that happens in a room (chat.messaging, chat.services) through ``room_event_record``.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from chat import events
from chat.models import Message, Room, RoomEvent

__all__ = ["room_event_record", "room_lock"]


def room_lock(room_id: int) -> Room:
    """Lock the room's row until the caller's transaction ends (PostgreSQL; SQLite's
    first write locks the whole database), and return it as it is now: every writer of
    the room's event log and of its messages' state takes this lock first, so what is
    read after it cannot change before commit."""
    assert transaction.get_connection().in_atomic_block, "room_lock needs a transaction"
    return Room.objects.select_for_update().get(pk=room_id)


def room_event_record(
    *,
    room: Room,
    kind: RoomEvent.Kind,
    actor: User | None,
    message: Message | None = None,
    user: User | None = None,
    emoji: str = "",
    removed_by: User | None = None,
) -> RoomEvent:
    """Log an event with the room's next eventSeq (in the caller's transaction, which
    holds the room's lock from here to its commit, so eventSeqs are gapless in commit
    order in every process) and publish it after commit. ``room`` is updated to the
    room as of the event."""
    assert transaction.get_connection().in_atomic_block, "room events are transactional"
    Room.objects.filter(pk=room.pk).update(last_event_seq=F("last_event_seq") + 1)
    room.refresh_from_db(fields=["last_event_seq", "last_seq", "access_version", "is_private"])
    event = RoomEvent.objects.create(
        room=room,
        seq=room.last_event_seq,
        kind=kind,
        at=timezone.now(),
        actor=actor,
        message=message,
        user=user,
        emoji=emoji,
        removed_by=removed_by,
    )
    if message is not None:
        Message.room.field.set_cached_value(message, room)
    events.event_send_on_commit(
        events.room_event_build(
            kind=kind,
            event_seq=event.seq,
            room=room,
            at=event.at,
            actor=actor,
            message=message,
            user=user,
            emoji=emoji,
            removed_by=removed_by,
        )
    )
    return event
