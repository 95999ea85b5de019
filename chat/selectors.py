"""Reads. Plain functions with keyword-only arguments; callers in async code wrap them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.sessions.models import Session
from django.db import connections, models
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from chat.db import statement_cursor
from chat.errors import NotFound
from chat.models import AuthToken, Message, Room, model_columns, model_from_row

__all__ = [
    "MessagePage",
    "RoomAccess",
    "RoomPage",
    "credentials_valid",
    "room_access_members",
    "room_access_versions",
    "room_get",
    "room_is_visible",
    "room_last_messages",
    "room_last_seq",
    "room_last_seqs",
    "room_last_seqs_and_access",
    "room_list",
    "room_list_mine",
    "room_member_lists",
    "room_message_list",
    "room_message_page",
    "room_visible_q",
    "token_credential_get",
    "token_digest",
    "user_list",
]


def token_digest(raw: str) -> str:
    # surrogatepass: a token with a lone surrogate (JSON's "\ud800") is one more that
    # matches nothing, not an encoding error.
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def credentials_valid(
    *, token_digests: set[str], session_keys: set[str], user_ids: set[int]
) -> tuple[set[str], set[str] | None, set[int]]:
    """Return which of these token digests and session keys are still valid, and which
    users active (sessions: None when the session engine cannot be queried in bulk)."""
    now = timezone.now()
    connection = connections[AuthToken.objects.db]
    if connection.vendor == "postgresql":
        # Every process asks this for all its sockets every CHAT_RESYNC_SECONDS: one array
        # parameter each, not thousands of placeholders for the ORM to build.
        with statement_cursor(connection) as cursor:
            cursor.execute(_TOKENS_VALID, [list(token_digests), now])
            tokens = {digest for (digest,) in cursor.fetchall()}
            cursor.execute(_USERS_ACTIVE, [list(user_ids)])
            users = {pk for (pk,) in cursor.fetchall()}
    else:
        tokens = set(
            AuthToken.objects.filter(
                digest__in=token_digests, revoked_at__isnull=True, expires_at__gt=now
            ).values_list("digest", flat=True)
        )
        users = set(
            User.objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True)
        )
    sessions: set[str] | None = None
    if settings.SESSION_ENGINE in _DB_SESSION_ENGINES:
        sessions = set(
            Session.objects.filter(session_key__in=session_keys, expire_date__gt=now).values_list(
                "session_key", flat=True
            )
        )
    return tokens, sessions, users


_TOKENS_VALID = (
    f"SELECT digest FROM {AuthToken._meta.db_table} "
    "WHERE digest = ANY(%s::text[]) AND revoked_at IS NULL AND expires_at > %s"
)
_USERS_ACTIVE = f"SELECT id FROM {User._meta.db_table} WHERE id = ANY(%s::bigint[]) AND is_active"


_DB_SESSION_ENGINES = {
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
}


# PostgreSQL: token_credential_get as one prepared statement (the user, then the token's
# expiry).
_TOKEN = (
    f"SELECT {model_columns(User, 'u')}, t.expires_at FROM {AuthToken._meta.db_table} AS t "
    f"JOIN {User._meta.db_table} AS u ON u.id = t.user_id "
    "WHERE t.digest = %s AND t.revoked_at IS NULL AND t.expires_at > %s AND u.is_active"
)


def token_credential_get(*, raw: str) -> tuple[User, datetime] | None:
    """Return the active user a live token belongs to and when it expires, or None."""
    connection = connections[AuthToken.objects.db]
    if connection.vendor == "postgresql":
        # Every request with a token the process has not verified within the last
        # second asks: one statement, no ORM query to build.
        with statement_cursor(connection) as cursor:
            cursor.execute(_TOKEN, [token_digest(raw), timezone.now()])
            row = cursor.fetchone()
        if row is None:
            return None
        return model_from_row(User, connection.alias, row), row[-1]
    token = (
        AuthToken.objects.select_related("user")
        .filter(digest=token_digest(raw), revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    return token.user, token.expires_at


def room_visible_q(*, user: User | AnonymousUser) -> Q:
    """Rooms ``user`` may see: public ones, and private ones they are a member of."""
    if not user.is_authenticated:
        return Q(is_private=False)
    return Q(is_private=False) | Q(members=user)


def room_get(*, name: str, user: User | AnonymousUser) -> Room | None:
    """Return the room if ``user`` may see it; a private room of others looks missing."""
    connection = connections[Room.objects.db]
    if connection.vendor != "postgresql":
        return Room.objects.filter(room_visible_q(user=user), name=name).distinct().first()
    # (setTyping asks this each time: one prepared statement.)
    with statement_cursor(connection) as cursor:
        cursor.execute(_ROOM_VISIBLE, [name, user.pk if user.is_authenticated else None])
        row = cursor.fetchone()
    return None if row is None else model_from_row(Room, connection.alias, row)


_ROOM_VISIBLE = f"""
SELECT {model_columns(Room, "r")}
FROM chat_room AS r WHERE r.name = %s AND (NOT r.is_private OR EXISTS (
    SELECT 1 FROM chat_room_members AS m WHERE m.room_id = r.id AND m.user_id = %s::bigint
))
"""


def room_is_visible(*, name: str, user: User | AnonymousUser) -> bool:
    """True for a missing room (public rooms are created on first use) and visible ones."""
    private = Room.objects.filter(name=name, is_private=True)
    if not private.exists():
        return True
    return user.is_authenticated and private.filter(members=user).exists()


@dataclass(frozen=True)
class RoomAccess:
    exists: bool
    # 0 for a missing room (public until created).
    version: int
    # Which of the users asked about may read the room; None: everyone (public or missing).
    allowed: set[int] | None


def room_access_members(*, name: str, user_ids: set[int]) -> RoomAccess:
    """Return whether the room exists, its access version, and which of ``user_ids``
    may read it.

    The version is read first: if access changes between the two reads, the members are
    newer than the version, and the next event's version triggers another check.
    """
    found = Room.objects.filter(name=name).values_list("pk", "is_private", "access_version")
    row = found.first()
    if row is None:
        return RoomAccess(exists=False, version=0, allowed=None)
    room_id, private, version = row
    if not private:
        return RoomAccess(exists=True, version=int(version), allowed=None)
    members = Room.members.through.objects.filter(room_id=room_id, user_id__in=user_ids)
    return RoomAccess(
        exists=True, version=int(version), allowed=set(members.values_list("user_id", flat=True))
    )


def room_member_lists(*, room_ids: list[int], limit: int) -> dict[int, list[User]]:
    """Return the first ``limit`` members of each room by username, in one query."""
    members: dict[int, list[User]] = {room_id: [] for room_id in room_ids}
    rank = Window(
        RowNumber(),
        partition_by=F("room_id"),
        order_by=[F("user__username").asc(), F("user_id").asc()],
    )
    memberships = (
        Room.members.through.objects.filter(room_id__in=room_ids)  # type: ignore[misc]
        .select_related("user")
        .annotate(rank=rank)
        .filter(rank__lte=limit)
        .order_by("user__username", "user_id")
    )
    for membership in memberships:
        members[membership.room_id].append(membership.user)
    return members


def room_last_seq(*, name: str) -> int:
    """Return the room's highest seq, 0 for a room that does not exist yet."""
    seq = Room.objects.filter(name=name).values_list("last_seq", flat=True).first()
    return seq or 0


def _rooms_values(names: list[str], *fields: str) -> list[tuple[Any, ...]]:
    """(name, *fields) of each of the named rooms that exists. On PostgreSQL one array
    parameter: each process reads this for all its rooms every CHAT_RESYNC_SECONDS."""
    connection = connections[Room.objects.db]
    if connection.vendor != "postgresql":
        return list(Room.objects.filter(name__in=names).values_list("name", *fields))
    # (Room's own fields: their column names are their names.)
    columns = ", ".join(fields)
    with statement_cursor(connection) as cursor:
        cursor.execute(
            f"SELECT name, {columns} FROM chat_room WHERE name = ANY(%s::text[])", [names]
        )
        return cursor.fetchall()


def room_last_seqs(*, names: list[str]) -> dict[str, int]:
    """Return the highest seq of each of the named rooms that exists."""
    return {name: seq for name, seq in _rooms_values(names, "last_seq")}


def room_access_versions(*, names: list[str]) -> dict[str, int]:
    """Return the access version of each of the named rooms that exists."""
    return {name: version for name, version in _rooms_values(names, "access_version")}


def room_last_seqs_and_access(*, names: list[str]) -> dict[str, tuple[int, int]]:
    """Return the highest seq and the access version of each of the named rooms that exists."""
    rows = _rooms_values(names, "last_seq", "access_version")
    return {name: (seq, version) for name, seq, version in rows}


def message_visible_get(*, message_id: int, user: User | AnonymousUser) -> Message:
    """The message with its room, author and the message it replies to (with its author);
    NOT_FOUND if there is none or its room is private and ``user`` not a member: the two
    look the same."""
    visible = Room.objects.filter(room_visible_q(user=user))
    message = (
        Message.objects.filter(pk=message_id, room__in=visible)
        .select_related("room", "author", "reply_to__author")
        .first()
    )
    if message is None:
        raise NotFound("No such message.")
    return message


def room_last_event_seq(*, name: str) -> int:
    """Return the room's highest eventSeq, 0 for a room that does not exist yet."""
    seq = Room.objects.filter(name=name).values_list("last_event_seq", flat=True).first()
    return seq or 0


def room_last_event_seqs_and_access(*, names: list[str]) -> dict[str, tuple[int, int]]:
    """Return the highest eventSeq and the access version of each named room that exists."""
    rows = _rooms_values(names, "last_event_seq", "access_version")
    return {name: (seq, version) for name, seq, version in rows}


def room_message_list(
    *, room_name: str, after_seq: int, limit: int, viewer_id: int | None
) -> list[Message]:
    """Return up to ``limit`` messages with ``seq > after_seq``, in seq order; none if the
    room is private and ``viewer_id`` (None: anonymous) not a member.

    Access is part of the read: a subscriber catching up from the database reads nothing
    of a room it lost access to, even before its process has noticed.
    """
    visible = Q(room__is_private=False)
    if viewer_id is not None:
        member = Room.members.through.objects.filter(room_id=OuterRef("room_id"), user_id=viewer_id)
        visible |= Q(Exists(member))
    return list(
        Message.objects.filter(visible, room__name=room_name, seq__gt=after_seq)
        .select_related("author", "room")
        .order_by("seq")[:limit]
    )


@dataclass(frozen=True)
class MessagePage:
    messages: list[Message]
    has_previous: bool
    has_next: bool


def room_message_page(
    *,
    room_name: str,
    user: User | AnonymousUser,
    after_seq: int | None,
    before_seq: int | None,
    first: int | None,
    last: int | None,
) -> MessagePage:
    """Return one Relay page of a room's history, ordered by seq (after/before exclusive).

    A private room ``user`` is not a member of has no history for them, like a missing one.
    """
    if not room_is_visible(name=room_name, user=user):
        return MessagePage(messages=[], has_previous=False, has_next=False)
    base = Message.objects.filter(room__name=room_name)
    messages, has_previous, has_next = relay_window(
        base.select_related("author", "room"),
        base,
        after=after_seq,
        before=before_seq,
        first=first,
        last=last,
    )
    return MessagePage(messages=messages, has_previous=has_previous, has_next=has_next)


M = TypeVar("M", bound=models.Model)


def relay_window(
    rows: QuerySet[M],
    base: QuerySet[M],
    *,
    after: int | None,
    before: int | None,
    first: int | None,
    last: int | None,
) -> tuple[list[M], bool, bool]:
    """One Relay page of ``rows`` by ``seq`` (after/before exclusive), and whether
    ``base`` has rows before and after it."""
    window = rows
    if after is not None:
        window = window.filter(seq__gt=after)
    if before is not None:
        window = window.filter(seq__lt=before)
    if last is not None and first is None:
        page = list(window.order_by("-seq")[:last])
        page.reverse()
    else:
        page = list(window.order_by("seq")[:first])
        if last is not None:
            page = page[-last:] if last else []
    if not page:
        return [], False, False
    first_seq, last_seq = page[0].seq, page[-1].seq  # type: ignore[attr-defined]
    return (
        page,
        base.filter(seq__lt=first_seq).exists(),
        base.filter(seq__gt=last_seq).exists(),
    )


@dataclass(frozen=True)
class RoomPage:
    rooms: list[Room]
    has_next: bool


def room_list(
    *, user: User | AnonymousUser, after: tuple[datetime, int] | None, first: int
) -> RoomPage:
    """Return the rooms ``user`` may see by most recent activity (keyset pagination)."""
    return _activity_page(
        Room.objects.filter(room_visible_q(user=user)).distinct(), after=after, first=first
    )


def room_list_mine(
    *, user: User | AnonymousUser, after: tuple[datetime, int] | None, first: int
) -> RoomPage:
    """Return the rooms ``user`` is a member of (none when anonymous) by most recent
    activity, as room_list pages them."""
    if not user.is_authenticated:
        return RoomPage(rooms=[], has_next=False)
    return _activity_page(Room.objects.filter(members=user), after=after, first=first)


def _activity_page(
    rooms: QuerySet[Room], *, after: tuple[datetime, int] | None, first: int
) -> RoomPage:
    """``first`` of ``rooms`` by most recent activity, after the (activity, id) ``after``
    (keyset pagination on room_activity_idx)."""
    rooms = rooms.order_by("-last_activity_at", "-id")
    if after is not None:
        activity, room_id = after
        rooms = rooms.filter(
            Q(last_activity_at__lt=activity) | Q(last_activity_at=activity, id__lt=room_id)
        )
    page = list(rooms[: first + 1])
    return RoomPage(rooms=page[:first], has_next=len(page) > first)


def room_last_messages(*, room_ids: list[int]) -> dict[int, Message]:
    """Return each room's latest message that is not deleted (with room and author), in
    one query: each room's found by the (room, seq) index from its end."""
    latest = (
        Message.objects.filter(room_id=OuterRef("pk"), deleted=False)
        .order_by("-seq")
        .values("pk")[:1]
    )
    ids = Room.objects.filter(pk__in=room_ids).annotate(latest=Subquery(latest)).values("latest")
    messages = Message.objects.filter(pk__in=ids).select_related("room", "author")
    return {message.room_id: message for message in messages}


def message_list(*, ids: list[int]) -> dict[int, Message]:
    """Return the messages with these ids that exist (with room and author), by id."""
    return Message.objects.select_related("room", "author").in_bulk(ids)


def user_list(*, ids: list[int]) -> dict[int, User]:
    """Return the users with these ids that exist, by id."""
    return User.objects.in_bulk(ids)
