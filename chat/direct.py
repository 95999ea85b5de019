"""Direct rooms: one private room per pair of users, opened by either of them."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from chat import events, notify
from chat.accounts import user_by_name, username_text_check
from chat.errors import InvalidInput, NotFound
from chat.eventlog import room_event_record, room_lock
from chat.models import Room, RoomEvent
from chat.ratelimit import send_rate_check

__all__ = ["direct_room_open"]


def direct_room_open(*, user: User, username: str) -> Room:
    """Return the direct room of ``user`` and ``username`` (whichever of them asks),
    creating it on first use; either of them who left is a member again."""
    username_text_check(username)
    other = user_by_name(username)
    if other is None:
        raise NotFound("No such user.")
    if other.pk == user.pk:
        raise InvalidInput("A direct room needs another user than yourself.")
    low, high = sorted((user.pk, other.pk))
    key = f"{low}:{high}"
    pair = (user, other)
    room = Room.objects.filter(direct_key=key).first()
    if room is not None and _members(room, pair) == {user.pk, other.pk}:
        return room
    # Counted only when it changes something, as joining is (chat.services).
    send_rate_check(user.pk)
    if room is None:
        room = _created(name=f"dm-{low}-{high}", key=key, opener=user, other=other)
    return _members_ensure(room, pair, actor=user)


def _members(room: Room, users: tuple[User, User]) -> set[int]:
    present = room.members.filter(pk__in=[member.pk for member in users])
    return set(present.values_list("pk", flat=True))


def _created(*, name: str, key: str, opener: User, other: User) -> Room:
    """Create the pair's room with both as members, or (someone made it meanwhile, in
    any process: the unique direct_key refused this insert) return theirs."""
    try:
        with transaction.atomic():
            # Version 1 and an access notice, as for a private room made by createRoom:
            # processes that had subscribers on this name while it did not exist re-check.
            # No creator: nobody may remove the other member or delete their messages.
            room = Room.objects.create(
                name=name, is_private=True, direct=True, direct_key=key, access_version=1
            )
            events.event_send_on_commit(events.access_changed_event_build(room=room))
            for member in (opener, other):
                room.members.add(member)
                room_event_record(
                    room=room, kind=RoomEvent.Kind.MEMBER_JOINED, actor=opener, user=member
                )
                notify.room_joined(room=room, user_id=member.pk)
            return room
    except IntegrityError as error:
        found = Room.objects.filter(direct_key=key).first()
        if found is None:
            # A room of the previous version took the name before it was reserved.
            raise InvalidInput(f"The room name {name} is taken.") from error
        return found


def _members_ensure(room: Room, users: tuple[User, User], *, actor: User) -> Room:
    """Add whichever of ``users`` is not a member (MemberJoined, RoomJoined)."""
    with transaction.atomic():
        locked = room_lock(room.pk)
        present = _members(locked, users)
        for member in users:
            if member.pk in present:
                continue
            locked.members.add(member)
            room_event_record(
                room=locked, kind=RoomEvent.Kind.MEMBER_JOINED, actor=actor, user=member
            )
            notify.room_joined(room=locked, user_id=member.pk)
    return locked
