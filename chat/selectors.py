"""Reads. Plain functions with keyword-only arguments; callers in async code wrap them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q
from django.utils import timezone

from chat.models import AuthToken, Message, Room

__all__ = [
    "MessagePage",
    "RoomPage",
    "room_get",
    "room_is_visible",
    "room_last_seq",
    "room_last_seqs",
    "room_list",
    "room_member_list",
    "room_message_list",
    "room_message_page",
    "room_private_member_ids",
    "room_visible_q",
    "token_digest",
    "token_user_get",
]


def token_digest(raw: str) -> str:
    # surrogatepass: a token with a lone surrogate (JSON's "\ud800") is one more that
    # matches nothing, not an encoding error.
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def token_user_get(*, raw: str) -> User | None:
    """Return the active user a live (unexpired, unrevoked) token belongs to, or None."""
    token = (
        AuthToken.objects.select_related("user")
        .filter(digest=token_digest(raw), revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    return token.user


def room_visible_q(*, user: User | AnonymousUser) -> Q:
    """Rooms ``user`` may see: public ones, and private ones they are a member of."""
    if not user.is_authenticated:
        return Q(is_private=False)
    return Q(is_private=False) | Q(members=user)


def room_get(*, name: str, user: User | AnonymousUser) -> Room | None:
    """Return the room if ``user`` may see it; a private room of others looks missing."""
    return Room.objects.filter(room_visible_q(user=user), name=name).distinct().first()


def room_is_visible(*, name: str, user: User | AnonymousUser) -> bool:
    """True for a missing room (public rooms are created on first use) and visible ones."""
    private = Room.objects.filter(name=name, is_private=True)
    if not private.exists():
        return True
    return user.is_authenticated and private.filter(members=user).exists()


def room_member_list(*, room: Room) -> list[User]:
    return list(room.members.order_by("username"))


def room_last_seq(*, name: str) -> int:
    """Return the room's highest seq, 0 for a room that does not exist yet."""
    seq = Room.objects.filter(name=name).values_list("last_seq", flat=True).first()
    return seq or 0


def room_last_seqs(*, names: list[str]) -> dict[str, int]:
    """Return the highest seq of each of the named rooms that exists."""
    return dict(Room.objects.filter(name__in=names).values_list("name", "last_seq"))


def room_private_member_ids(*, names: list[str]) -> dict[str, set[int]]:
    """Return the member ids of each of the named rooms that is private."""
    members: dict[str, set[int]] = {
        name: set()
        for name in Room.objects.filter(name__in=names, is_private=True).values_list(
            "name", flat=True
        )
    }
    if members:
        memberships = Room.members.through.objects.filter(room__name__in=list(members))
        for name, user_id in memberships.values_list("room__name", "user_id"):
            members[name].add(user_id)
    return members


def room_message_list(*, room_name: str, after_seq: int, limit: int) -> list[Message]:
    """Return up to ``limit`` messages with ``seq > after_seq``, in seq order."""
    return list(
        Message.objects.filter(room__name=room_name, seq__gt=after_seq)
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
    window = base
    if after_seq is not None:
        window = window.filter(seq__gt=after_seq)
    if before_seq is not None:
        window = window.filter(seq__lt=before_seq)
    window = window.select_related("author", "room")

    if last is not None and first is None:
        messages = list(window.order_by("-seq")[:last])
        messages.reverse()
    else:
        messages = list(window.order_by("seq")[:first])
        if last is not None:
            messages = messages[-last:] if last else []

    if not messages:
        return MessagePage(messages=[], has_previous=False, has_next=False)
    return MessagePage(
        messages=messages,
        has_previous=base.filter(seq__lt=messages[0].seq).exists(),
        has_next=base.filter(seq__gt=messages[-1].seq).exists(),
    )


@dataclass(frozen=True)
class RoomPage:
    rooms: list[Room]
    has_next: bool


def room_list(
    *, user: User | AnonymousUser, after: tuple[datetime, int] | None, first: int
) -> RoomPage:
    """Return the rooms ``user`` may see by most recent activity (keyset pagination)."""
    rooms = (
        Room.objects.filter(room_visible_q(user=user))
        .distinct()
        .order_by("-last_activity_at", "-id")
    )
    if after is not None:
        activity, room_id = after
        rooms = rooms.filter(
            Q(last_activity_at__lt=activity) | Q(last_activity_at=activity, id__lt=room_id)
        )
    page = list(rooms[: first + 1])
    return RoomPage(rooms=page[:first], has_next=len(page) > first)
