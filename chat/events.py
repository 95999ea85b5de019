"""Group names, channel-layer payloads and the event kinds that carry them (chat.kinds):
the only module that knows their shape."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from chat.kinds import EventKind, kind_register
from chat.metrics import MESSAGES_PUBLISHED
from chat.models import Message, Room, message_with_relations, model_restore
from chat.selectors import room_last_seq, room_last_seqs_and_access, room_message_list

__all__ = [
    "ACCESS_CHANGED_EVENT_TYPE",
    "ACCESS_GROUP",
    "MEMBER_REMOVED_EVENT_TYPE",
    "MEMBER_REMOVED_KIND",
    "MESSAGES_EVENT_TYPE",
    "MESSAGE_EVENT_TYPE",
    "MESSAGE_KIND",
    "AccessChangedEvent",
    "Event",
    "MemberRemovedEvent",
    "MemberRemovedPayload",
    "MessageEvent",
    "MessagePayload",
    "access_changed_event_build",
    "event_group_name",
    "event_send_on_commit",
    "events_sink_set",
    "member_removed_event_build",
    "message_event_build",
    "message_from_payload",
    "message_history",
    "room_group_name",
    "session_credential_key",
    "token_credential_key",
]

logger = logging.getLogger(__name__)

MESSAGE_EVENT_TYPE: Literal["chat.message"] = "chat.message"


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


class MemberRemovedPayload(TypedDict):
    user_id: int


class MemberRemovedEvent(TypedDict):
    type: Literal["chat.member_removed"]
    room: str
    member: MemberRemovedPayload
    # The same, as a process of the version before event kinds sends and reads it.
    user_id: int


class AccessChangedEvent(TypedDict):
    """Someone may have lost access: every process re-checks what it serves.

    With ``room``: the room's ``access_version`` is now ``access_version``; it goes to the
    room's group, in order with the room's messages. Without: the sockets authenticated by
    ``credential`` (token_credential_key, session_credential_key), or every socket of
    ``user_id``, end; it goes to ACCESS_GROUP, which every process joins.
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

# What ORM code publishes; the engine treats every event as a plain mapping, by kind.
PublishedEvent = MessageEvent | MemberRemovedEvent | AccessChangedEvent
Event = PublishedEvent | dict[str, Any]


def member_removed_event_build(*, room: Room, user: AbstractBaseUser) -> MemberRemovedEvent:
    return {
        "type": MEMBER_REMOVED_EVENT_TYPE,
        "room": room.name,
        "member": {"user_id": user.pk},
        "user_id": user.pk,
    }


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


def message_history(
    *, room_name: str, after: int, limit: int, viewer_id: int | None
) -> list[Message]:
    """Stored messages after seq ``after`` that ``viewer_id`` may read, each with
    ``room.last_seq`` as of that message, as live events carry it."""
    page = room_message_list(room_name=room_name, after_seq=after, limit=limit, viewer_id=viewer_id)
    for message in page:
        message.room.last_seq = message.seq
    return page


# messageAdded's kind: durable, positioned by the room's gapless message seq.
MESSAGE_KIND: EventKind[Message] = kind_register(
    EventKind(
        name="message",
        type=MESSAGE_EVENT_TYPE,
        field="message",
        batch_type=MESSAGES_EVENT_TYPE,
        batch_field="messages",
        restore=message_from_payload,
        position=lambda payload: payload["seq"],
        value_position=lambda message: message.seq,
        history=message_history,
        last_position=lambda *, room_name: room_last_seq(name=room_name),
        committed=lambda *, room_names: room_last_seqs_and_access(names=room_names),
        # .get: 0 from a process still on a version before access versions.
        access_version=lambda payload: payload.get("room_access_version", 0),
        published=MESSAGES_PUBLISHED,
    )
)

# A member left or was removed: their subscriptions to the room end, whatever their kind.
MEMBER_REMOVED_KIND: EventKind[MemberRemovedPayload] = kind_register(
    EventKind(
        name="member_removed",
        type=MEMBER_REMOVED_EVENT_TYPE,
        field="member",
        restore=lambda payload: payload,
        ends_subscription=lambda payload, user_id: payload["user_id"] == user_id,
        # Events from a process of the previous version carry only ``user_id``.
        payload_of=lambda event: event.get("member") or {"user_id": event["user_id"]},
    )
)


_sink: Callable[[Event], None] | None = None


def events_sink_set(sink: Callable[[Event], None]) -> None:
    """Install what delivers events once their transaction commits (the realtime engine's
    publisher, set by its AppConfig)."""
    global _sink
    _sink = sink


def event_send_on_commit(event: Event) -> None:
    """Publish ``event`` once the current transaction commits (at once outside one), so a
    subscriber never sees what was rolled back."""
    transaction.on_commit(lambda: _event_send(event), robust=True)


def _event_send(event: Event) -> None:
    if _sink is None:
        logger.error(
            "no event sink installed; %s for room %s dropped", event["type"], event.get("room")
        )
        return
    _sink(event)
