"""Group names and channel-layer payloads: the only module that knows their shape."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import time
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from chat.loops import loop_local
from chat.mailbox import Mailbox
from chat.metrics import MESSAGES_PUBLISHED, PUBLISH_FAILURES
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
    "event_publish",
    "event_publish_sync",
    "events_merge",
    "events_publish",
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


async def event_publish(event: Event) -> None:
    """Send the event to the room's group; a failure is logged, never raised.

    The message is already committed, so a lost publish costs latency, not data:
    subscribers notice the seq gap on the next event and backfill from the database.
    """
    await events_publish([event])


async def events_publish(events: list[Event]) -> None:
    """Publish events in order, as event_publish does each.

    On channels-redis pub/sub, the events of each shard go in one pipelined round trip
    (measured on bench rooms: publishing was 16% of the server's CPU one event at a
    time). This reads channels-redis' shard internals, which are pinned with it in
    pyproject.toml; tests/test_scale_out.py runs it against two Redis shards.
    """
    layer = get_channel_layer()
    if layer is None or not events:
        return
    now = time.time()
    for event in events:
        if event["type"] in (MESSAGE_EVENT_TYPE, MESSAGES_EVENT_TYPE):
            event["published_at"] = now
    if len(events) == 1 or not isinstance(layer, RedisPubSubChannelLayer):
        for event in events:
            await _publish_guarded([event], layer.group_send(event_group_name(event), event))
        return
    loop_layer = layer._get_layer()
    shards: dict[Any, list[tuple[str, Event]]] = {}
    for event in events:
        channel = loop_layer._get_group_channel_name(event_group_name(event))
        shards.setdefault(loop_layer._get_shard(channel), []).append((channel, event))
    for shard, items in shards.items():
        await _publish_guarded([event for _, event in items], _shard_publish(layer, shard, items))


async def _shard_publish(layer: Any, shard: Any, items: list[tuple[str, Event]]) -> None:
    # As RedisSingleShardConnection.publish, for several messages.
    async with shard._lock:
        shard._ensure_redis()
        pipe = shard._redis.pipeline(transaction=False)
        for channel, event in items:
            pipe.publish(channel, layer.serialize(event))
        await pipe.execute()


async def _publish_guarded(events: list[Event], publish: Coroutine[Any, Any, None]) -> None:
    try:
        # asyncio.timeout, not wait_for: no task per publish.
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
            await publish
    except Exception:
        for event in events:
            PUBLISH_FAILURES.inc()
            logger.exception(
                "publish of %s failed for room %s",
                event["type"],
                event.get("room"),
                extra={"event": "publish.failed", "room": event.get("room")},
            )
        return
    for event in events:
        if event["type"] == MESSAGE_EVENT_TYPE:
            MESSAGES_PUBLISHED.inc()
        elif event["type"] == MESSAGES_EVENT_TYPE:
            MESSAGES_PUBLISHED.inc(len(event["messages"]))


def events_merge(events: list[PublishedEvent]) -> list[Event]:
    """Fold the message events of each room into chat.messages events, keeping each
    room's events in order: a publish is a Redis round trip, and a receive a parse, per
    event in every process, so a burst of posts to a room costs one of each."""
    merged: list[Event] = []
    # Per room, the position in ``merged`` of the event its next message joins.
    open_: dict[str, int] = {}
    for event in events:
        room = event.get("room", "")
        position = open_.get(room)
        if event["type"] != MESSAGE_EVENT_TYPE:
            # The room's later messages go after it.
            open_.pop(room, None)
            merged.append(event)
        elif position is None:
            open_[room] = len(merged)
            merged.append(event)
        else:
            current = merged[position]
            if current["type"] == MESSAGE_EVENT_TYPE:
                current = merged[position] = {
                    "type": MESSAGES_EVENT_TYPE,
                    "room": room,
                    "messages": [current["message"]],
                }
            assert current["type"] == MESSAGES_EVENT_TYPE
            current["messages"].append(event["message"])
            if len(current["messages"]) >= MAX_MESSAGES_PER_EVENT:
                del open_[room]
    return merged


class _Publisher:
    """Publishes one event loop's events in order, one at a time, from its own task."""

    def __init__(self) -> None:
        self._queue: Mailbox[MessageEvent | MemberRemovedEvent | AccessChangedEvent] = Mailbox(
            MAX_PENDING_PUBLISHES
        )
        self._task: asyncio.Task[None] | None = None

    def put(self, event: PublishedEvent) -> None:
        """Queue ``event`` (on the loop's thread)."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # Redis has been unreachable for a while: drop it, the resync delivers it.
            PUBLISH_FAILURES.inc()
            logger.error("publish queue full; event for room %s dropped", event.get("room"))
            return
        if self._task is None:
            self._task = asyncio.create_task(self._run(), context=contextvars.Context())

    async def _run(self) -> None:
        try:
            while not self._queue.empty():
                queued = []
                while not self._queue.empty():
                    queued.append(self._queue.get_nowait())
                await events_publish(events_merge(queued))
        finally:
            self._task = None


_publisher = loop_local(_Publisher)


def event_publish_sync(event: PublishedEvent) -> None:
    """Publish ``event`` from ORM code (an on_commit hook) without waiting for Redis.

    ORM calls run in chat.db's few threads: waiting there for the publish (up to its
    timeout while Redis is unreachable) would hold up every query of the process. The
    event goes to the serving event loop's publisher instead, which keeps the process's
    events in commit order. Outside an event loop (management commands) it is sent here.
    """
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is not None and loop.is_running():
        loop.call_soon_threadsafe(lambda: _publisher().put(event))
        return
    async_to_sync(event_publish)(event)
