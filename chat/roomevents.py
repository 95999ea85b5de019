"""The room event log's values and reads: what ``roomEvents`` streams and pages through.

Every durable thing that happens in a room (a post, an edit, a deletion, a reaction added
or removed, a member joining or leaving) is a RoomEvent row numbered per room by ``seq``
(eventSeq), gapless, taken under the room's row lock in the writer's transaction
(chat.eventlog). A value here is one event as clients see it; the message it is about
is read as it is now (an edited or deleted message shows as such in every older event).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Q

from chat.models import Message, Reaction, ReactionSummary, Room, RoomEvent, model_restore
from chat.selectors import relay_window, room_is_visible

__all__ = [
    "MAX_REACTION_USERS",
    "MemberJoined",
    "MemberLeft",
    "MessageDeleted",
    "MessageEdited",
    "MessagePosted",
    "ReactionAdded",
    "ReactionRemoved",
    "RoomEventPage",
    "RoomEventValue",
    "mention_lists",
    "mentions_attach",
    "reaction_summaries",
    "reactions_attach",
    "room_event_history",
    "room_event_page",
    "room_event_value",
]

# Users named per emoji in a message's reactions (Reaction.users(first) serves up to
# this many); the ids of all of them are carried, for reactedByMe.
MAX_REACTION_USERS = 50

Kind = RoomEvent.Kind


@dataclass(eq=False, slots=True)
class RoomEventValue:
    event_seq: int
    room: Room
    at: datetime
    actor: Any  # the user who did it (None if since deleted)


@dataclass(eq=False, slots=True)
class MessagePosted(RoomEventValue):
    message: Message


@dataclass(eq=False, slots=True)
class MessageEdited(RoomEventValue):
    message: Message


@dataclass(eq=False, slots=True)
class MessageDeleted(RoomEventValue):
    message: Message


@dataclass(eq=False, slots=True)
class ReactionAdded(RoomEventValue):
    message: Message
    emoji: str
    user: Any


@dataclass(eq=False, slots=True)
class ReactionRemoved(RoomEventValue):
    message: Message
    emoji: str
    user: Any


@dataclass(eq=False, slots=True)
class MemberJoined(RoomEventValue):
    user: Any


@dataclass(eq=False, slots=True)
class MemberLeft(RoomEventValue):
    user: Any
    removed_by: Any


_MESSAGE_CLASSES: dict[str, type[MessagePosted | MessageEdited | MessageDeleted]] = {
    Kind.MESSAGE_POSTED: MessagePosted,
    Kind.MESSAGE_EDITED: MessageEdited,
    Kind.MESSAGE_DELETED: MessageDeleted,
}
_REACTION_CLASSES: dict[str, type[ReactionAdded | ReactionRemoved]] = {
    Kind.REACTION_ADDED: ReactionAdded,
    Kind.REACTION_REMOVED: ReactionRemoved,
}


def room_event_value(
    *,
    kind: str,
    event_seq: int,
    room: Room,
    at: datetime,
    actor: Any,
    message: Message | None = None,
    user: Any = None,
    emoji: str = "",
    removed_by: Any = None,
) -> RoomEventValue:
    """The value of one event (from a row or a payload)."""
    if kind in _MESSAGE_CLASSES:
        assert message is not None
        return _MESSAGE_CLASSES[kind](event_seq, room, at, actor, message)
    if kind in _REACTION_CLASSES:
        assert message is not None
        return _REACTION_CLASSES[kind](event_seq, room, at, actor, message, emoji, user)
    if kind == Kind.MEMBER_JOINED:
        return MemberJoined(event_seq, room, at, actor, user)
    if kind == Kind.MEMBER_LEFT:
        return MemberLeft(event_seq, room, at, actor, user, removed_by)
    raise ValueError(f"unknown room event kind {kind!r}")


def reaction_summaries(message_ids: list[int]) -> dict[int, list[ReactionSummary]]:
    """The reactions of each message, emoji in order of first use, in one query."""
    rows = (
        Reaction.objects.filter(message_id__in=message_ids)
        .order_by("message_id", "id")
        .values_list("message_id", "emoji", "user_id", "user__username")
    )
    grouped: dict[int, dict[str, list[tuple[int, str]]]] = defaultdict(dict)
    for message_id, emoji, user_id, username in rows:
        grouped[message_id].setdefault(emoji, []).append((user_id, username))
    user_model = get_user_model()
    db = Reaction.objects.db
    return {
        message_id: [
            ReactionSummary(
                emoji=emoji,
                count=len(users),
                user_ids=tuple(user_id for user_id, _ in users),
                users=tuple(
                    model_restore(user_model, db, {"id": user_id, "username": username})
                    for user_id, username in users[:MAX_REACTION_USERS]
                ),
            )
            for emoji, users in by_emoji.items()
        ]
        for message_id, by_emoji in grouped.items()
    }


def reactions_attach(messages: list[Message]) -> None:
    """Read the reactions of ``messages`` (and of the messages they reply to) into their
    ``reaction_summary``, in one query."""
    everything = messages + [
        m.reply_to for m in messages if _reply_cached(m) and m.reply_to is not None
    ]
    summaries = reaction_summaries(sorted({message.pk for message in everything}))
    for message in everything:
        message.reaction_summary = summaries.get(message.pk, [])


def mention_lists(message_ids: list[int]) -> dict[int, list[Any]]:
    """The users each message mentions (id and username), in order, in one query."""
    through = Message.mentions.through
    rows = (
        through.objects.filter(message_id__in=message_ids)
        .order_by("message_id", "id")
        .values_list("message_id", "user_id", "user__username")
    )
    user_model = get_user_model()
    db = through.objects.db
    mentions: dict[int, list[Any]] = defaultdict(list)
    for message_id, user_id, username in rows:
        mentions[message_id].append(
            model_restore(user_model, db, {"id": user_id, "username": username})
        )
    return mentions


def mentions_attach(messages: list[Message]) -> None:
    """Read the mentions of ``messages`` into their ``mention_list``, in one query."""
    if not messages:
        return
    mentions = mention_lists(sorted({message.pk for message in messages}))
    for message in messages:
        message.mention_list = mentions.get(message.pk, [])


def _reply_cached(message: Message) -> bool:
    return message.reply_to_id is not None and Message.reply_to.is_cached(message)


_EVENT_RELATIONS = (
    "room",
    "actor",
    "user",
    "removed_by",
    "message__author",
    "message__reply_to__author",
)


def _values(rows: list[RoomEvent]) -> list[RoomEventValue]:
    reactions_attach([row.message for row in rows if row.message is not None])
    mentions_attach([row.message for row in rows if row.message is not None])
    values = []
    for row in rows:
        room = row.room
        # The room as of this event, as live events carry it.
        room.last_event_seq = row.seq
        message = row.message
        if message is not None:
            Message.room.field.set_cached_value(message, room)
        values.append(
            room_event_value(
                kind=row.kind,
                event_seq=row.seq,
                room=room,
                at=row.at,
                actor=row.actor,
                message=message,
                user=row.user,
                emoji=row.emoji,
                removed_by=row.removed_by,
            )
        )
    return values


def room_event_history(
    *, room_name: str, after: int, limit: int, viewer_id: int | None
) -> list[RoomEventValue]:
    """Up to ``limit`` events with eventSeq > ``after``, in order; none if the room is
    private and ``viewer_id`` (None: anonymous) not a member (access is part of the read,
    as for chat.selectors.room_message_list)."""
    visible = Q(room__is_private=False)
    if viewer_id is not None:
        member = Room.members.through.objects.filter(room_id=OuterRef("room_id"), user_id=viewer_id)
        visible |= Q(Exists(member))
    rows = list(
        RoomEvent.objects.filter(visible, room__name=room_name, seq__gt=after)
        .select_related(*_EVENT_RELATIONS)
        .order_by("seq")[:limit]
    )
    return _values(rows)


@dataclass(frozen=True)
class RoomEventPage:
    events: list[RoomEventValue]
    has_previous: bool
    has_next: bool


def room_event_page(
    *,
    room_name: str,
    user: AbstractBaseUser | AnonymousUser,
    after_seq: int | None,
    before_seq: int | None,
    first: int | None,
    last: int | None,
) -> RoomEventPage:
    """One Relay page of a room's events by eventSeq (after/before exclusive); a private
    room ``user`` is not a member of has none, like a missing one."""
    if not room_is_visible(name=room_name, user=user):  # type: ignore[arg-type]
        return RoomEventPage(events=[], has_previous=False, has_next=False)
    base = RoomEvent.objects.filter(room__name=room_name)
    rows, has_previous, has_next = relay_window(
        base.select_related(*_EVENT_RELATIONS),
        base,
        after=after_seq,
        before=before_seq,
        first=first,
        last=last,
    )
    return RoomEventPage(events=_values(rows), has_previous=has_previous, has_next=has_next)
