"""Rooms: writes and checks. ``*_check`` functions validate, the others change state;
events go out on commit."""

from __future__ import annotations

import logging
import re
import unicodedata

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import F

from chat import events, notify
from chat.accounts import user_by_name, username_text_check
from chat.errors import Forbidden, InvalidInput, NotFound
from chat.eventlog import room_event_record, room_lock
from chat.models import (
    Room,
    RoomEvent,
)
from chat.ratelimit import send_rate_check, typing_rate_check
from chat.selectors import room_access_members, room_get, room_is_visible
from chat.usernames import (
    text_storable,
)

__all__ = [
    "MAX_TEXT_LENGTH",
    "ROOM_NAME_RE",
    "message_text_check",
    "room_access_check",
    "room_access_narrowed",
    "room_create",
    "room_get_or_create",
    "room_invite",
    "room_join",
    "room_leave",
    "room_member_remove",
    "room_members_staff_changed",
    "room_name_check",
    "room_name_creatable_check",
    "room_subscribe_check",
    "typing_check",
]

logger = logging.getLogger(__name__)

ROOM_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The names of direct rooms (chat.direct): no other room may take one.
DIRECT_NAME_RE = re.compile(r"dm-[0-9]+-[0-9]+")
MAX_TEXT_LENGTH = 4000


def room_name_check(name: str) -> str:
    if not ROOM_NAME_RE.fullmatch(name):
        raise InvalidInput("Room name must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'.")
    return name


def room_name_creatable_check(name: str) -> str:
    """As room_name_check, for a name a new room would take: direct rooms' names
    (``dm-<id>-<id>``) are reserved for chat.direct."""
    room_name_check(name)
    if DIRECT_NAME_RE.fullmatch(name):
        raise InvalidInput("Room names of the form dm-<number>-<number> are kept for direct rooms.")
    return name


def _invisible(char: str) -> bool:
    # Format characters (Cf: zero-width space and joiners, word joiner, BOM, soft hyphen,
    # direction marks) show nothing on their own.
    return char.isspace() or unicodedata.category(char) == "Cf"


def message_text_check(text: str) -> str:
    """Return the trimmed text, or raise if it is empty, too long or not storable."""
    if not text_storable(text):
        raise InvalidInput("Message text must be valid Unicode text.")
    trimmed = text.strip()
    if all(_invisible(char) for char in trimmed):
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


def room_subscribe_check(*, name: str, user: User | AnonymousUser) -> tuple[int, bool]:
    """Raise FORBIDDEN unless ``user`` may subscribe to the room; return the room's access
    version the check held at (the hub re-checks at any later one) and whether the room
    exists."""
    user_ids = {user.pk} if user.is_authenticated else set()
    access = room_access_members(name=name, user_ids=user_ids)
    if access.allowed is not None and not access.allowed & user_ids:
        raise Forbidden("You are not a member of this room.")
    return access.version, access.exists


def room_create(*, name: str, private: bool, creator: User) -> Room:
    """Create a room with ``creator`` as its first member."""
    room_name_creatable_check(name)
    try:
        with transaction.atomic():
            # Private: version 1, so that every process re-checks the subscribers it had
            # on this name while it did not exist (and was public) before the next event.
            room = Room.objects.create(
                name=name, is_private=private, created_by=creator, access_version=int(private)
            )
            room.members.add(creator)
            if private:
                _access_changed_publish(room=room)
            room_event_record(
                room=room, kind=RoomEvent.Kind.MEMBER_JOINED, actor=creator, user=creator
            )
            notify.room_joined(room=room, user_id=creator.pk)
    except IntegrityError as error:
        raise InvalidInput("That room name is taken.") from error
    return room


def _visible_room(*, name: str, user: User) -> Room:
    room = room_get(name=room_name_check(name), user=user)
    if room is None:
        raise NotFound("No such room.")
    return room


def typing_check(*, name: str, user: User) -> Room:
    """The room ``user`` says they type in: one they can see (a member, for private
    rooms) that exists; counted against their typing limit."""
    room = _visible_room(name=name, user=user)
    typing_rate_check(user.pk)
    return room


def _membership_rate_check(user: User) -> None:
    """Count a change of membership (one that would log an event) against ``user``'s
    limit on posts: joining and leaving in a loop would otherwise make an event for
    every subscriber of the room each time. Before the room's lock, as for posts: a Redis
    round trip is not held under it."""
    send_rate_check(user.pk)


def _is_member(room: Room, user: User) -> bool:
    return room.members.filter(pk=user.pk).exists()


def room_invite(*, name: str, username: str, inviter: User) -> Room:
    """Add ``username`` to a room ``inviter`` can see (a member, for private rooms)."""
    username_text_check(username)
    room = _visible_room(name=name, user=inviter)
    if room.direct:
        raise InvalidInput("A direct room has its two members only: open another direct room.")
    invitee = user_by_name(username)
    if invitee is None:
        raise NotFound("No such user.")
    if not _is_member(room, invitee):
        _membership_rate_check(inviter)
    _member_add(room, invitee, actor=inviter)
    return room


def _member_add(room: Room, user: User, *, actor: User) -> None:
    """Add a member, logging MemberJoined and telling their devices (RoomJoined);
    someone already a member: nothing happens."""
    with transaction.atomic():
        locked = room_lock(room.pk)
        if locked.members.filter(pk=user.pk).exists():
            return
        locked.members.add(user)
        room_event_record(room=locked, kind=RoomEvent.Kind.MEMBER_JOINED, actor=actor, user=user)
        notify.room_joined(room=locked, user_id=user.pk)


def room_member_remove(*, name: str, username: str, remover: User) -> Room:
    """Remove a member from a private room ``remover`` created; their live
    subscriptions to it end (in every process)."""
    username_text_check(username)
    room = _visible_room(name=name, user=remover)
    if not room.is_private:
        raise InvalidInput("Members can only be removed from private rooms.")
    if room.created_by_id != remover.pk:
        raise Forbidden("Only the room's creator can remove members.")
    member = user_by_name(username)
    if member is None or not room.members.filter(pk=member.pk).exists():
        raise NotFound("No such member.")
    if member.pk == remover.pk:
        raise InvalidInput("Use leaveRoom to leave a room.")
    _membership_rate_check(remover)
    with transaction.atomic():
        locked = room_lock(room.pk)
        if not locked.members.filter(pk=member.pk).exists():
            raise NotFound("No such member.")
        locked.members.remove(member)
        # Logged at the access version they still had, before it moves: they receive
        # their own MemberLeft, then lose access (chat.events' ROOM_EVENT_KIND).
        room_event_record(
            room=locked,
            kind=RoomEvent.Kind.MEMBER_LEFT,
            actor=remover,
            user=member,
            removed_by=remover,
        )
        room_access_narrowed(room=locked)
        notify.room_left(room=locked, user_id=member.pk)
    return locked


def room_members_staff_changed(
    *, room: Room, before: set[int], after: set[int], staff: User
) -> None:
    """Log the membership changes staff made in the admin (already saved in the caller's
    transaction, under the room's lock): MemberJoined for each user added and MemberLeft
    with removedBy for each removed, as inviteToRoom and removeFromRoom do. Call it before
    the room's access narrows, so that the removed receive their own MemberLeft."""
    locked = room_lock(room.pk)
    added = User.objects.filter(pk__in=after - before).order_by("pk")
    removed = User.objects.filter(pk__in=before - after).order_by("pk")
    for user in added:
        room_event_record(room=locked, kind=RoomEvent.Kind.MEMBER_JOINED, actor=staff, user=user)
        notify.room_joined(room=locked, user_id=user.pk)
    for user in removed:
        room_event_record(
            room=locked, kind=RoomEvent.Kind.MEMBER_LEFT, actor=staff, user=user, removed_by=staff
        )
        notify.room_left(room=locked, user_id=user.pk)


def room_join(*, name: str, user: User) -> Room:
    """Join a public room (created on first use, as for posting)."""
    if not Room.objects.filter(name=room_name_check(name), members=user).exists():
        # Counted before anything is stored, the room included (refused attempts count
        # too, as for posts).
        _membership_rate_check(user)
    room = room_get_or_create(name=name)
    if not room_is_visible(name=name, user=user):
        raise Forbidden("Private rooms are joined by invitation.")
    _member_add(room, user, actor=user)
    return room


def room_leave(*, name: str, user: User) -> None:
    """Leave a room; the user's live subscriptions to it end (in every process)."""
    room = _visible_room(name=name, user=user)
    if _is_member(room, user):
        _membership_rate_check(user)
    with transaction.atomic():
        locked = room_lock(room.pk)
        member = locked.members.filter(pk=user.pk).exists()
        locked.members.remove(user)
        if member:
            # At the access version they still had: they receive it, then their
            # subscriptions end.
            room_event_record(room=locked, kind=RoomEvent.Kind.MEMBER_LEFT, actor=user, user=user)
            notify.room_left(room=locked, user_id=user.pk)
        if locked.is_private:
            _access_version_bump(locked)
        _member_removed_publish(room=locked, user=user)


def _member_removed_publish(*, room: Room, user: User) -> None:
    # The leaver's subscriptions complete. If this event is lost: in a private room, the
    # access version bumped with it still has their process re-check before the room's
    # next event; in a public one, nothing is lost but the completion (they may read it).
    event = events.member_removed_event_build(room=room, user=user)
    events.event_send_on_commit(event)


def _access_version_bump(room: Room) -> None:
    """Bump the room's access version (in the caller's transaction): the messages posted
    after it carry the new one, and every process re-checks its subscribers' access
    before delivering them, even if the notice sent with it is lost."""
    Room.objects.filter(pk=room.pk).update(access_version=F("access_version") + 1)
    room.refresh_from_db(fields=["access_version"])


def room_access_narrowed(*, room: Room) -> None:
    """Record that some may have lost access to the room (made private, members removed,
    in the admin or here): every process re-checks its subscribers of it before
    delivering its next event, and at once when the notice arrives."""
    with transaction.atomic():
        _access_version_bump(room)
        _access_changed_publish(room=room)


def _access_changed_publish(*, room: Room) -> None:
    """Tell every process, after commit, that the room's access narrowed."""
    event = events.access_changed_event_build(room=room)
    events.event_send_on_commit(event)


def room_get_or_create(*, name: str) -> Room:
    """Return the room called ``name``, creating it (public) on first use; a direct
    room's name is never created here (BAD_USER_INPUT)."""
    if DIRECT_NAME_RE.fullmatch(room_name_check(name)):
        existing = Room.objects.filter(name=name).first()
        if existing is not None:
            return existing
        room_name_creatable_check(name)
    room, _ = Room.objects.get_or_create(name=name)
    return room
