"""The publisher: events reach the channel layer after commit, in commit order, without
holding up the ORM threads."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from chat.db import calling_loop
from chat.events import Event, event_group_name
from chat.kinds import kind_by_type
from chat.metrics import PUBLISH_FAILURES
from realtime.loops import loop_local
from realtime.mailbox import Mailbox

__all__ = [
    "batch_publisher_set",
    "event_publish",
    "event_publish_sync",
    "events_merge",
    "events_publish",
    "local_listeners",
    "loop_finder_set",
    "publisher_flush",
]

logger = logging.getLogger(__name__)

# A publish that takes longer than this is abandoned: subscribers backfill the gap.
PUBLISH_TIMEOUT_SECONDS = 2.0
# Events a process may have waiting for Redis; beyond, they are dropped (and recovered by
# the subscribers' resync) rather than held in memory.
MAX_PENDING_PUBLISHES = 10_000
# Payloads in one batch event at most.
MAX_PAYLOADS_PER_EVENT = 50


async def event_publish(event: Event) -> None:
    """Send the event to the room's group; a failure is logged, never raised.

    The message is already committed, so a lost publish costs latency, not data:
    subscribers notice the seq gap on the next event and backfill from the database.
    """
    await events_publish([event])


# Given the layer and (group, event) pairs: per Redis shard, its events and one awaitable
# that publishes them in one round trip; None where the layer offers no such thing (the
# standard path then sends each with group_send). Installed by internals.channels_redis.
BatchPublisher = Callable[
    [Any, list[tuple[str, dict[str, Any]]]], list[tuple[list[Any], Awaitable[None]]] | None
]
_batch_publisher: BatchPublisher | None = None


def batch_publisher_set(publisher: BatchPublisher | None) -> None:
    global _batch_publisher
    _batch_publisher = publisher


# The event loop serving a thread that is not one of chat.db's (say, Django's thread for
# synchronous views), if it can be told. Installed by internals.asgiref.
_loop_finder: Callable[[], asyncio.AbstractEventLoop | None] | None = None


def loop_finder_set(finder: Callable[[], asyncio.AbstractEventLoop | None] | None) -> None:
    global _loop_finder
    _loop_finder = finder


async def events_publish(events: list[Event]) -> None:
    """Publish events in order, as event_publish does each; where the layer allows it
    (see BatchPublisher), the events of each shard in one round trip."""
    layer = get_channel_layer()
    if layer is None or not events:
        return
    now = time.time()
    for event in events:
        if kind_by_type(event["type"]) is not None:
            cast(dict[str, Any], event)["published_at"] = now
    batches = None
    if len(events) > 1 and _batch_publisher is not None:
        pairs = [(event_group_name(event), cast(dict[str, Any], event)) for event in events]
        batches = _batch_publisher(layer, pairs)
    if batches is None:
        for event in events:
            await _publish_guarded([event], layer.group_send(event_group_name(event), event))
        return
    for shard_events, publish in batches:
        await _publish_guarded(shard_events, publish)


async def _publish_guarded(events: list[Event], publish: Awaitable[None]) -> None:
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
        found = kind_by_type(event["type"])
        if found is None or found[0].published is None:
            continue
        kind, batched = found
        counter = found[0].published
        if batched:
            assert kind.batch_field is not None  # kind_register pairs it with batch_type
            counter.inc(len(cast(dict[str, Any], event)[kind.batch_field]))
        else:
            counter.inc()


def events_merge(events: list[Event]) -> list[Event]:
    """Fold consecutive events of one kind and room into batch events (kinds with a
    ``batch_type``), keeping each room's events in order: a publish is a Redis round
    trip, and a receive a parse, per event in every process, so a burst of posts to a
    room costs one of each."""
    merged: list[Event] = []
    # Per room, the position in ``merged`` of the event its next payload of the same
    # kind joins.
    open_: dict[str, int] = {}
    for event in events:
        room = event.get("room", "")
        found = kind_by_type(event["type"])
        position = open_.get(room)
        kind = found[0] if found is not None and not found[1] else None
        if kind is None or kind.batch_type is None:
            # The room's later events go after it.
            open_.pop(room, None)
            merged.append(event)
            continue
        current = merged[position] if position is not None else None
        if current is None or current["type"] not in (kind.type, kind.batch_type):
            open_[room] = len(merged)
            merged.append(event)
            continue
        assert kind.batch_field is not None
        if current["type"] == kind.type:
            current = merged[position] = {  # type: ignore[index]
                "type": kind.batch_type,
                "room": room,
                kind.batch_field: [current[kind.field]],  # type: ignore[literal-required]
            }
        batch = current[kind.batch_field]  # type: ignore[literal-required]
        batch.append(event[kind.field])  # type: ignore[literal-required]
        if len(batch) >= MAX_PAYLOADS_PER_EVENT:
            del open_[room]
    return merged


class _Publisher:
    """Publishes one event loop's events in order, one at a time, from its own task."""

    def __init__(self) -> None:
        self._queue: Mailbox[Event] = Mailbox(MAX_PENDING_PUBLISHES)
        self._task: asyncio.Task[None] | None = None

    def put(self, event: Event) -> None:
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

    async def flush(self) -> None:
        """Return once the queue is empty and its last publish done."""
        while (task := self._task) is not None:
            await asyncio.shield(task)

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


# Called on the serving loop with each event this process publishes from ORM code, before
# it goes out: what must take effect in this process at once, before the code that
# published it answers (realtime/tokens.py forgets a revoked token), not when the event
# comes back from Redis.
local_listeners: list[Callable[[Event], None]] = []


def _local_then_put(event: Event) -> None:
    for listener in local_listeners:
        try:
            listener(event)
        except Exception:
            logger.exception("a local event listener failed")
    _publisher().put(event)


async def publisher_flush() -> None:
    """Return once every event queued on this loop's publisher is published (or given up:
    see PUBLISH_TIMEOUT_SECONDS), for a graceful stop."""
    await _publisher().flush()


def event_publish_sync(event: Event) -> None:
    """Publish ``event`` from ORM code (an on_commit hook) without waiting for Redis.

    ORM calls run in chat.db's few threads: waiting there for the publish (up to its
    timeout while Redis is unreachable) would hold up every query of the process. The
    event goes to the serving event loop's publisher instead, which keeps the process's
    events in commit order. Outside an event loop (management commands) it is sent here.
    """
    loop = calling_loop()
    if loop is None and _loop_finder is not None:
        loop = _loop_finder()
    if loop is not None and loop.is_running():
        loop.call_soon_threadsafe(_local_then_put, event)
        return
    if loop is not None:
        # The serving loop has stopped (the process is shutting down): a publish through
        # it would wait forever, and hold up the process's exit with this thread. The
        # event is committed: every other process's resync delivers it.
        PUBLISH_FAILURES.inc()
        logger.warning(
            "event loop stopped; %s for room %s left to the resync",
            event["type"],
            event.get("room"),
            extra={"event": "publish.failed", "room": event.get("room")},
        )
        return
    async_to_sync(event_publish)(event)
