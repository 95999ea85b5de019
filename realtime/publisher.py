"""The publisher: events reach the channel layer after commit, in commit order, without
holding up the ORM threads."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Coroutine
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer

from chat.events import (
    MAX_MESSAGES_PER_EVENT,
    MAX_PENDING_PUBLISHES,
    MESSAGE_EVENT_TYPE,
    MESSAGES_EVENT_TYPE,
    PUBLISH_TIMEOUT_SECONDS,
    Event,
    PublishedEvent,
    event_group_name,
)
from chat.metrics import MESSAGES_PUBLISHED, PUBLISH_FAILURES
from realtime.loops import loop_local
from realtime.mailbox import Mailbox

__all__ = ["event_publish", "event_publish_sync", "events_merge", "events_publish"]

logger = logging.getLogger(__name__)


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
        self._queue: Mailbox[PublishedEvent] = Mailbox(MAX_PENDING_PUBLISHES)
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
