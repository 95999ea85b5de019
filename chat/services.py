"""Writes. ``*_check`` functions validate, the others change state; events go out on commit."""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, transaction
from django.db.models import F
from django.utils import timezone

from chat import events
from chat.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from chat.models import AuthToken, Message, Room
from chat.ratelimit import send_rate_check
from chat.selectors import room_get, room_is_visible, token_digest

__all__ = [
    "MAX_TEXT_LENGTH",
    "ROOM_NAME_RE",
    "message_create",
    "message_text_check",
    "room_access_check",
    "room_create",
    "room_get_or_create",
    "room_invite",
    "room_join",
    "room_leave",
    "room_member_remove",
    "room_name_check",
    "token_create",
    "token_revoke",
    "user_authenticate",
    "user_register",
]

logger = logging.getLogger(__name__)

ROOM_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_TEXT_LENGTH = 4000


def room_name_check(name: str) -> str:
    if not ROOM_NAME_RE.fullmatch(name):
        raise InvalidInput("Room name must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'.")
    return name


def message_text_check(text: str) -> str:
    """Return the trimmed text, or raise if it is empty, too long or not storable."""
    trimmed = text.strip()
    if not trimmed:
        raise InvalidInput("Message text must not be empty.")
    if len(trimmed) > MAX_TEXT_LENGTH:
        raise InvalidInput(f"Message text must be at most {MAX_TEXT_LENGTH} characters.")
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
    if "\x00" in trimmed:
        raise InvalidInput("Message text must not contain NUL characters.")
    return trimmed


def room_access_check(*, name: str, user: User | AnonymousUser) -> None:
    """Raise FORBIDDEN unless ``user`` may post to and subscribe to the room."""
    if not room_is_visible(name=name, user=user):
        raise Forbidden("You are not a member of this room.")


def room_create(*, name: str, private: bool, creator: User) -> Room:
    """Create a room with ``creator`` as its first member."""
    room_name_check(name)
    try:
        with transaction.atomic():
            room = Room.objects.create(name=name, is_private=private, created_by=creator)
            room.members.add(creator)
    except IntegrityError as error:
        raise InvalidInput("That room name is taken.") from error
    return room


def _visible_room(*, name: str, user: User) -> Room:
    room = room_get(name=room_name_check(name), user=user)
    if room is None:
        raise NotFound("No such room.")
    return room


def room_invite(*, name: str, username: str, inviter: User) -> Room:
    """Add ``username`` to a room ``inviter`` can see (a member, for private rooms)."""
    room = _visible_room(name=name, user=inviter)
    invitee = User.objects.filter(username=username).first()
    if invitee is None:
        raise NotFound("No such user.")
    room.members.add(invitee)
    return room


def room_member_remove(*, name: str, username: str, remover: User) -> Room:
    """Remove a member from a private room ``remover`` created; their live
    subscriptions to it end (in every process)."""
    room = _visible_room(name=name, user=remover)
    if not room.is_private:
        raise InvalidInput("Members can only be removed from private rooms.")
    if room.created_by_id != remover.pk:
        raise Forbidden("Only the room's creator can remove members.")
    member = room.members.filter(username=username).first()
    if member is None:
        raise NotFound("No such member.")
    if member.pk == remover.pk:
        raise InvalidInput("Use leaveRoom to leave a room.")
    room.members.remove(member)
    _member_removed_publish(room=room, user=member)
    return room


def room_join(*, name: str, user: User) -> Room:
    """Join a public room (created on first use, as for posting)."""
    room = room_get_or_create(name=name)
    if not room_is_visible(name=name, user=user):
        raise Forbidden("Private rooms are joined by invitation.")
    room.members.add(user)
    return room


def room_leave(*, name: str, user: User) -> None:
    """Leave a room; the user's live subscriptions to it end (in every process)."""
    room = _visible_room(name=name, user=user)
    room.members.remove(user)
    _member_removed_publish(room=room, user=user)


def _member_removed_publish(*, room: Room, user: User) -> None:
    # If this event is lost (Redis down), each process's hub still ends the
    # subscriptions at its next resync, which re-reads private rooms' members.
    event = events.member_removed_event_build(room=room, user=user)
    transaction.on_commit(lambda: events.event_publish_sync(event), robust=True)


def room_get_or_create(*, name: str) -> Room:
    """Return the public room called ``name``, creating it on first use."""
    room, _ = Room.objects.get_or_create(name=room_name_check(name))
    return room


def _room_seq_bump(*, name: str) -> int:
    """Take the room's next seq; return the number of rooms updated (0 if none yet)."""
    return Room.objects.filter(name=name).update(
        last_seq=F("last_seq") + 1, last_activity_at=timezone.now()
    )


# PostgreSQL: check access, bump the seq and insert in one statement, one round trip and
# no explicit transaction. The UPDATE holds the room's row lock until the statement
# commits, so concurrent posters, in any process, get consecutive seqs. A private room
# the author is not a member of matches no row, like a missing one (see message_create).
_INSERT_NEXT_SEQ = """
WITH room AS (
    UPDATE chat_room SET last_seq = last_seq + 1, last_activity_at = clock_timestamp()
    WHERE name = %(room)s AND (NOT is_private OR EXISTS (
        SELECT 1 FROM chat_room_members AS m
        WHERE m.room_id = chat_room.id AND m.user_id = %(author)s
    ))
    RETURNING id, last_seq, created_at, is_private, created_by_id
)
INSERT INTO chat_message (room_id, seq, author_id, text, created_at)
SELECT id, last_seq, %(author)s, %(text)s, clock_timestamp() FROM room
RETURNING id, room_id, seq, created_at,
    (SELECT created_at FROM room), (SELECT is_private FROM room), (SELECT created_by_id FROM room)
"""


def _message_insert(*, room_name: str, author: User, text: str) -> Message | None:
    """Insert the message with the room's next seq; None if the room does not exist or
    is private and ``author`` is not a member."""
    connection = connections[Message.objects.db]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_NEXT_SEQ, {"room": room_name, "author": author.pk, "text": text})
            row = cursor.fetchone()
        if row is None:
            return None
        message_id, room_id, seq, created_at, room_created_at, private, created_by_id = row
        room = Room(
            pk=room_id,
            name=room_name,
            created_at=room_created_at,
            last_seq=seq,
            is_private=private,
            created_by_id=created_by_id,
        )
        return Message(
            pk=message_id, room=room, seq=seq, author=author, text=text, created_at=created_at
        )
    # Elsewhere (SQLite): the UPDATE takes the write lock until commit.
    if not room_is_visible(name=room_name, user=author):
        return None
    with transaction.atomic():
        if not _room_seq_bump(name=room_name):
            return None
        room = Room.objects.get(name=room_name)
        return Message.objects.create(
            room=room,
            seq=room.last_seq,
            author=author,
            text=text,
            # Taken under the lock, so created_at grows with seq.
            created_at=timezone.now(),
        )


def message_create(*, room_name: str, author: User, text: str) -> Message:
    """Persist a message with the room's next seq and publish it after commit.

    Every attempt counts towards the author's rate limit, refused ones included: the
    access check is part of the insert, so that a post is one round trip.
    """
    room_name_check(room_name)
    text = message_text_check(text)
    send_rate_check(user_id=author.pk)
    message = _message_insert(room_name=room_name, author=author, text=text)
    if message is None:
        # A missing room (created now: public rooms are made by their first post) or a
        # private one the author may not post to.
        room_access_check(name=room_name, user=author)
        room_get_or_create(name=room_name)
        message = _message_insert(room_name=room_name, author=author, text=text)
        if message is None:
            # Someone created it as a private room in between.
            raise Forbidden("You are not a member of this room.")
    logger.info(
        "message posted",
        extra={
            "event": "message.posted",
            "room": room_name,
            "seq": message.seq,
            "message_id": message.pk,
            "user_id": author.pk,
        },
    )
    event = events.message_event_build(message)
    # Immediate in autocommit; after the caller's commit inside an atomic block.
    transaction.on_commit(lambda: events.event_publish_sync(event), robust=True)
    return message


def user_register(*, username: str, password: str) -> User:
    """Create a user after Django's username and password validation."""
    user_model = get_user_model()
    user = user_model(username=username)
    try:
        if not username or len(username) > 150:
            raise ValidationError("Username must be 1 to 150 characters.")
        user_model.username_validator(username)
        validate_password(password, user=user)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages)) from error
    user.set_password(password)
    try:
        with transaction.atomic():
            if user_model.objects.filter(username__iexact=username).exists():
                raise InvalidInput("That username is taken.")
            user.save()
    except IntegrityError as error:
        raise InvalidInput("That username is taken.") from error
    return user


def user_authenticate(*, username: str, password: str) -> User:
    # No stored username holds NUL (PostgreSQL text cannot), so such a login cannot match.
    if "\x00" in username:
        raise Unauthenticated("Invalid username or password.")
    user = authenticate(username=username, password=password)
    if user is None:
        raise Unauthenticated("Invalid username or password.")
    return user


def token_create(*, user: User) -> str:
    """Issue a bearer token for ``user``; only its digest is stored."""
    raw = secrets.token_urlsafe(32)
    AuthToken.objects.create(
        digest=token_digest(raw),
        user=user,
        expires_at=timezone.now() + timedelta(seconds=settings.CHAT["TOKEN_TTL_SECONDS"]),
    )
    return raw


def token_revoke(*, raw: str) -> None:
    AuthToken.objects.filter(digest=token_digest(raw), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
