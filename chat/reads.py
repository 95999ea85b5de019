"""Read markers: how far each user has read each room, and what is left unread.

A marker only rises: ``read_mark`` is one upsert that moves it up or changes nothing,
so two devices marking at once (in any order, in any process) end at the higher seq.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from chat import notify
from chat.db import statement_cursor
from chat.errors import Forbidden, InvalidInput, NotFound
from chat.models import Message, ReadMarker, Room, model_columns, model_from_row
from chat.ratelimit import send_rate_check
from chat.services import room_name_check

__all__ = [
    "READ_BROADCAST_MAX_MEMBERS",
    "read_mark",
    "read_markers",
    "rooms_read_state",
    "unread_count_sql",
    "unread_counts",
]

# Rooms of at most this many members tell their signal subscribers who read how far
# (ReadUpTo); in bigger rooms that would be one frame per reader for every member.
READ_BROADCAST_MAX_MEMBERS = 100

# Inserts a marker or raises it; returns a row only if it did either. (PostgreSQL and
# SQLite >= 3.35 both take ON CONFLICT ... DO UPDATE ... WHERE and RETURNING.)
_UPSERT = """
INSERT INTO {table} (room_id, user_id, seq) VALUES (%s, %s, %s)
ON CONFLICT (room_id, user_id) DO UPDATE SET seq = excluded.seq
WHERE {table}.seq < excluded.seq
RETURNING seq
"""


def read_mark(*, room_name: str, user: User, seq: int) -> Room:
    """Raise ``user``'s read marker in the room to ``seq`` (a lower one changes nothing)
    and, if it moved, tell their devices the new unread count after commit.

    Anyone who may read the room may mark it (any signed-in user for a public room, its
    members for a private one); only members' markers count towards unreadCount.
    The room is returned with the viewer's ``last_read_seq`` and ``unread_count`` set.
    """
    room_name_check(room_name)
    if seq < 0:
        raise InvalidInput("`seq` must not be negative.")
    connection = connections[ReadMarker.objects.db]
    if connection.vendor == "postgresql":
        return _read_mark_statements(connection, room_name=room_name, user=user, seq=seq)
    room = Room.objects.filter(name=room_name).first()
    if room is None:
        raise NotFound("No such room.")
    member = not room.is_private or room.members.filter(pk=user.pk).exists()
    _read_mark_check(room, user=user, seq=seq, member=member)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                _UPSERT.format(table=connection.ops.quote_name(ReadMarker._meta.db_table)),
                [room.pk, user.pk, seq],
            )
            moved = cursor.fetchone() is not None
        marker = seq if moved else read_markers(user_id=user.pk, room_ids=[room.pk])[room.pk]
        state = rooms_read_state(user_id=user.pk).filter(pk=room.pk)
        # (The annotation is not in the returned QuerySet's type; a non-member has none.)
        unread, last_seq = state.values_list("unread", "last_seq").first() or (0, room.last_seq)  # type: ignore[misc]
        if moved:
            members = Room.members.through.objects.filter(room_id=room.pk).count()
            _read_marked(
                room, user=user, seq=seq, unread=unread, last_seq=last_seq, members=members
            )
    room.last_read_seq = marker
    room.unread_count = unread
    return room


def _read_mark_check(room: Room, *, user: User, seq: int, member: bool) -> None:
    if room.is_private and not member:
        raise Forbidden("You are not a member of this room.")
    if seq > room.last_seq:
        raise InvalidInput(f"`seq` must be at most the room's lastSeq ({room.last_seq}).")
    # Every attempt counts, as for other writes: marking is a write and a notice.
    send_rate_check(user.pk)


def _read_marked(
    room: Room, *, user: User, seq: int, unread: int, last_seq: int, members: int
) -> None:
    notify.read_marked(
        room=room,
        user=user,
        seq=seq,
        unread_count=unread,
        last_seq=last_seq,
        broadcast=members <= READ_BROADCAST_MAX_MEMBERS,
    )


# PostgreSQL: the room with the viewer's membership and (up to one past the broadcast
# bound) its member count...
_ROOM = f"""
SELECT {model_columns(Room, "r")},
    EXISTS (SELECT 1 FROM chat_room_members AS m WHERE m.room_id = r.id AND m.user_id = %s),
    (SELECT count(*) FROM (SELECT 1 FROM chat_room_members AS m WHERE m.room_id = r.id
        LIMIT %s) AS c)
FROM chat_room AS r WHERE r.name = %s
"""


def unread_count_sql(*, room: str, marker: str) -> str:
    """PostgreSQL: rooms_read_state's ``unread`` as a scalar subquery, for the room and
    marker these SQL expressions give, and the viewer ``%(user)s``."""
    return f"""(
        SELECT count(*) FROM chat_message AS m
        WHERE m.room_id = {room} AND m.seq > {marker} AND NOT m.deleted
            AND m.author_id IS DISTINCT FROM %(user)s
    )"""


# ... then the marker raised (or not), and in the same statement, so that they agree, the
# room's lastSeq and the viewer's unread count after the marker (members only).
_MARK = f"""
WITH moved AS (
    INSERT INTO chat_readmarker (room_id, user_id, seq) VALUES (%(room)s, %(user)s, %(seq)s)
    ON CONFLICT (room_id, user_id) DO UPDATE SET seq = excluded.seq
    WHERE chat_readmarker.seq < excluded.seq
    RETURNING seq
),
state AS (
    SELECT COALESCE(
        (SELECT seq FROM moved),
        (SELECT seq FROM chat_readmarker WHERE room_id = %(room)s AND user_id = %(user)s),
        0
    ) AS marker
)
SELECT EXISTS (SELECT 1 FROM moved), s.marker,
    (SELECT last_seq FROM chat_room WHERE id = %(room)s),
    CASE WHEN %(member)s THEN {unread_count_sql(room="%(room)s", marker="s.marker")} ELSE 0 END
FROM state AS s
"""


def _read_mark_statements(
    connection: BaseDatabaseWrapper, *, room_name: str, user: User, seq: int
) -> Room:
    """read_mark on PostgreSQL: two prepared statements, no ORM query to build. (markRead
    is the most frequent call a chat client makes: one per room read, every few seconds.)"""
    with statement_cursor(connection) as cursor:
        cursor.execute(_ROOM, [user.pk, READ_BROADCAST_MAX_MEMBERS + 1, room_name])
        row = cursor.fetchone()
        if row is None:
            raise NotFound("No such room.")
        room = model_from_row(Room, connection.alias, row)
        member, members = row[-2], row[-1]
        _read_mark_check(room, user=user, seq=seq, member=member)
        # One statement, committed on its own: the notice goes out after it.
        cursor.execute(_MARK, {"room": room.pk, "user": user.pk, "seq": seq, "member": member})
        moved, marker, last_seq, unread = cursor.fetchone()
    if moved:
        _read_marked(room, user=user, seq=seq, unread=unread, last_seq=last_seq, members=members)
    room.last_read_seq = marker
    room.unread_count = unread
    return room


def read_markers(*, user_id: int, room_ids: list[int]) -> dict[int, int]:
    """The marker of ``user_id`` in each of these rooms that has one, in one query."""
    rows = ReadMarker.objects.filter(user_id=user_id, room_id__in=room_ids)
    return dict(rows.values_list("room_id", "seq"))


def rooms_read_state(*, user_id: int) -> QuerySet[Room]:
    """The rooms ``user_id`` is a member of, each annotated with ``marker`` (their read
    marker, 0 without one) and ``unread`` (its messages after the marker that are neither
    theirs nor deleted), both read in the same statement as the room, so that a room's
    ``last_seq`` and ``unread`` agree. Each count is read by the (room, seq) index from
    the marker on."""
    marker = ReadMarker.objects.filter(room_id=OuterRef("pk"), user_id=user_id).values("seq")[:1]
    unread = (
        Message.objects.filter(room_id=OuterRef("pk"), seq__gt=OuterRef("marker"), deleted=False)
        .exclude(author_id=user_id)
        .order_by()
        .values("room_id")
        .annotate(count=Count("*"))
        .values("count")
    )
    return (
        Room.objects.filter(members=user_id)
        .annotate(marker=Coalesce(Subquery(marker), Value(0)))
        .annotate(unread=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)))
    )


def unread_counts(*, user_id: int, room_ids: list[int]) -> dict[int, int]:
    """For each of these rooms: rooms_read_state's ``unread``; 0 in rooms ``user_id`` is
    not a member of. One query."""
    rooms = rooms_read_state(user_id=user_id).filter(pk__in=room_ids)
    # (The annotation is not in the returned QuerySet's type.)
    rows = rooms.values_list("pk", "unread")  # type: ignore[misc]
    counts = dict.fromkeys(room_ids, 0)
    counts.update(rows)
    return counts
