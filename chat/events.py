"""Group names and channel-layer payloads: the only module that knows their shape."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Literal, NotRequired, TypedDict

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from chat.models import Message, Room, message_with_relations, model_restore

__all__ = [
    "ACCESS_CHANGED_EVENT_TYPE",
    "ACCESS_GROUP",
    "MEMBER_REMOVED_EVENT_TYPE",
    "MESSAGES_EVENT_TYPE",
    "MESSAGE_EVENT_TYPE",
    "AccessChangedEvent",
    "Event",
    "MemberRemovedEvent",
    "MessageEvent",
    "MessagePayload",
    "MessagesEvent",
    "access_changed_event_build",
    "event_group_name",
    "event_send_on_commit",
    "events_sink_set",
    "member_removed_event_build",
    "message_event_build",
    "message_from_payload",
    "room_group_name",
    "session_credential_key",
    "token_credential_key",
]

logger = logging.getLogger(__name__)

MESSAGE_EVENT_TYPE: Literal["chat.message"] = "chat.message"
# A publish that takes longer than this is abandoned: subscribers backfill the gap.
PUBLISH_TIMEOUT_SECONDS = 2.0
# Events a process may have waiting for Redis; beyond, they are dropped (and recovered by
# the subscribers' resync) rather than held in memory.
MAX_PENDING_PUBLISHES = 10_000


class MessagePayload(TypedDict):
    id: int
    seq: int
    text: str
    created_at: str
    author_id: int
    author_username: str
    room_id: int
    room_name: str
    room_created_at: str
    room_private: NotRequired[bool]
    room_created_by_id: NotRequired[int | None]
    # Room.access_version as of this message (absent: 0, from a previous version).
    room_access_version: NotRequired[int]


class MessageEvent(TypedDict):
    type: Literal["chat.message"]
    room: str
    message: MessagePayload
    # time.time() at publish, for the delivery latency histogram (chat.metrics).
    published_at: NotRequired[float]


class MessagesEvent(TypedDict):
    """Several messages of one room, in seq order: what a publisher sends for the
    events of a room that queued up while it waited for Redis."""

    type: Literal["chat.messages"]
    room: str
    messages: list[MessagePayload]
    published_at: NotRequired[float]


class MemberRemovedEvent(TypedDict):
    type: Literal["chat.member_removed"]
    room: str
    user_id: int


class AccessChangedEvent(TypedDict):
    """Someone may have lost access: every process re-checks what it serves.

    With ``room``: the room's ``access_version`` is now ``access_version``; it goes to the
    room's group, in order with the room's messages. Without: the sockets authenticated by
    ``credential`` (chat.access.credential_key), or every socket of ``user_id``, end; it goes
    to ACCESS_GROUP, which every process joins.
    """

    type: Literal["chat.access"]
    room: NotRequired[str]
    access_version: NotRequired[int]
    user_id: NotRequired[int]
    credential: NotRequired[str]


ACCESS_CHANGED_EVENT_TYPE: Literal["chat.access"] = "chat.access"
ACCESS_GROUP = "chat.access"
MEMBER_REMOVED_EVENT_TYPE: Literal["chat.member_removed"] = "chat.member_removed"
MESSAGES_EVENT_TYPE: Literal["chat.messages"] = "chat.messages"
# Messages in one chat.messages event at most.
MAX_MESSAGES_PER_EVENT = 50

Event = MessageEvent | MessagesEvent | MemberRemovedEvent | AccessChangedEvent
# What ORM code publishes (chat.messages are made by merging chat.message events).
PublishedEvent = MessageEvent | MemberRemovedEvent | AccessChangedEvent


def member_removed_event_build(*, room: Room, user: AbstractBaseUser) -> MemberRemovedEvent:
    return {"type": MEMBER_REMOVED_EVENT_TYPE, "room": room.name, "user_id": user.pk}


def access_changed_event_build(
    *,
    room: Room | None = None,
    user_id: int | None = None,
    credential: str | None = None,
) -> AccessChangedEvent:
    event: AccessChangedEvent = {"type": ACCESS_CHANGED_EVENT_TYPE}
    if room is not None:
        event["room"] = room.name
        event["access_version"] = room.access_version
    if user_id is not None:
        event["user_id"] = user_id
    if credential is not None:
        event["credential"] = credential
    return event


def token_credential_key(digest: str) -> str:
    """The key of a bearer token (by its stored digest) in access notices."""
    return f"token:{digest}"


def session_credential_key(session_key: str) -> str:
    """The key of a session in access notices: hashed, since notices travel through
    Redis and a session key is a credential."""
    return f"session:{hashlib.sha256(session_key.encode()).hexdigest()}"


def event_group_name(event: Event) -> str:
    """Return the group an event goes to: its room's, else every process's."""
    room = event.get("room")
    return room_group_name(room) if isinstance(room, str) else ACCESS_GROUP


def room_group_name(room_name: str) -> str:
    """Return the channel-layer group of a room (names are already Channels-safe)."""
    return f"chat.room.{room_name}"


def message_event_build(message: Message) -> MessageEvent:
    # Everything a subscriber can select travels in the event, so delivering it
    # needs no database read per subscriber.
    room = message.room
    return {
        "type": MESSAGE_EVENT_TYPE,
        "room": room.name,
        "message": {
            "id": message.pk,
            "seq": message.seq,
            "text": message.text,
            "created_at": message.created_at.isoformat(),
            "author_id": message.author.pk,
            "author_username": message.author.get_username(),
            "room_id": room.pk,
            "room_name": room.name,
            "room_created_at": room.created_at.isoformat(),
            "room_private": room.is_private,
            "room_created_by_id": room.created_by_id,
            "room_access_version": room.access_version,
        },
    }


def message_from_payload(payload: MessagePayload) -> Message:
    """Rebuild an unsaved, fully cached Message (with room and author) from an event.

    As the ORM builds instances from rows, once per event per process. The author has only
    id and username; the room has no ``last_activity_at`` (both deferred: reading them
    would query).
    """
    db = Message.objects.db
    author = model_restore(
        get_user_model(), db, {"id": payload["author_id"], "username": payload["author_username"]}
    )
    room = model_restore(
        Room,
        db,
        {
            "id": payload["room_id"],
            "name": payload["room_name"],
            "created_at": datetime.fromisoformat(payload["room_created_at"]),
            # The room's lastSeq as of this message.
            "last_seq": payload["seq"],
            # .get: events from a process still on the previous version lack these.
            "is_private": payload.get("room_private", False),
            "created_by_id": payload.get("room_created_by_id"),
        },
    )
    message = model_restore(
        Message,
        db,
        {
            "id": payload["id"],
            "room_id": payload["room_id"],
            "seq": payload["seq"],
            "author_id": payload["author_id"],
            "text": payload["text"],
            "created_at": datetime.fromisoformat(payload["created_at"]),
        },
    )
    return message_with_relations(message, room=room, author=author)


_sink: Callable[[PublishedEvent], None] | None = None


def events_sink_set(sink: Callable[[PublishedEvent], None]) -> None:
    """Install what delivers events once their transaction commits (the realtime engine's
    publisher, set by its AppConfig)."""
    global _sink
    _sink = sink


def event_send_on_commit(event: PublishedEvent) -> None:
    """Publish ``event`` once the current transaction commits (at once outside one), so a
    subscriber never sees what was rolled back."""
    transaction.on_commit(lambda: _event_send(event), robust=True)


def _event_send(event: PublishedEvent) -> None:
    if _sink is None:
        logger.error(
            "no event sink installed; %s for room %s dropped", event["type"], event.get("room")
        )
        return
    _sink(event)
