"""A room's live stream of one event kind: for durable kinds, replay from the database
then live events, gap-free; for ephemeral kinds, live events as they come."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

from prometheus_client import Counter

from chat.db import in_thread
from chat.errors import Forbidden
from chat.kinds import EventKind
from chat.metrics import DELIVERIES_BACKFILL, DELIVERIES_LIVE, DELIVERIES_REPLAY
from realtime.hub import RoomHub, get_hub
from realtime.loops import cancel_requested
from realtime.subscriber import Deliver, Envelope, Subscriber

__all__ = ["event_stream"]

BACKFILL_PAGE = 500


async def _backfill(
    subscriber: Subscriber, after: int, counter: Counter
) -> AsyncIterator[Envelope]:
    # Per event and per subscriber: this path reads the database for each subscriber
    # anyway, so a counter increment is noise here (unlike the hub's direct path).
    kind = subscriber.kind
    assert kind.history is not None and kind.value_position is not None
    while not subscriber.revoked:
        page = await in_thread(kind.history)(
            room_name=subscriber.room,
            after=after,
            limit=BACKFILL_PAGE,
            viewer_id=subscriber.user_id,
        )
        for value in page:
            if subscriber.revoked:
                # Removed from the room: not one more event, even from this page.
                return
            counter.inc()
            yield Envelope(kind, subscriber.room, kind.value_position(value), value)
        if len(page) < BACKFILL_PAGE:
            return
        after = kind.value_position(page[-1])


async def event_stream(
    *,
    kind: EventKind[Any],
    room_name: str,
    after: int | None = None,
    user_id: int | None = None,
    access_version: int = 0,
    direct: Deliver | None = None,
    username: str | None = None,
) -> AsyncGenerator[Envelope, None]:
    """Yield the room's events of ``kind`` in order: for a durable kind, every one with a
    position after ``after`` (default: from now).

    The start position is read before the hub subscription starts, and the replay after,
    so nothing committed after that read can be missed; live events at or below the last
    position delivered are duplicates of the replay and are skipped. A live position that
    skips ahead (a dropped or reordered publish, or an overflowed buffer) is filled from
    the database, where every lower position is already committed.

    With ``direct``, in-order live events are not yielded but handed to ``direct`` by the
    hub as they arrive, while this generator is caught up and waiting; the caller must
    send what is yielded and what ``direct`` gets the same way.

    The stream ends when ``user_id`` leaves the room, and raises Forbidden when they lose
    access to it (removed, or the room made private). Access is checked by the caller
    before it starts (chat.services.room_subscribe_check, which gives ``access_version``);
    the hub re-checks it whenever the room's access version moves past that.
    """
    durable = kind.durable
    if durable and after is None:
        # Read the start position before joining, so that once the hub lists this
        # subscriber, every event committed later is certain to be delivered.
        assert kind.last_position is not None
        after = await in_thread(kind.last_position)(room_name=room_name)
    hub = get_hub()
    async with hub.subscribe(
        kind, room_name, user_id, access_version, username=username
    ) as subscriber:
        stream: AsyncGenerator[Envelope, None]
        if durable:
            assert after is not None
            stream = _durable(hub, subscriber, after, direct)
        else:
            stream = _ephemeral(subscriber, direct)
        async with aclosing(stream):
            async for envelope in stream:
                yield envelope
        if subscriber.forbidden and not subscriber.finished:
            raise Forbidden("You are not a member of this room.")


def _ends(subscriber: Subscriber, last: int) -> bool:
    """Whether the subscription has delivered its last event (its ``end_after``)."""
    end = subscriber.end_after
    if end is not None and last >= end:
        subscriber.finished = True
        return True
    return False


async def _durable(
    hub: RoomHub, subscriber: Subscriber, after: int, direct: Deliver | None
) -> AsyncGenerator[Envelope, None]:
    last = after
    async for envelope in _backfill(subscriber, last, DELIVERIES_REPLAY):
        yield envelope
        last = envelope.position  # type: ignore[assignment]
        if _ends(subscriber, last):
            return
    hub.note_seen(subscriber.kind, subscriber.room, last)
    held: list[Envelope] = []
    while not subscriber.revoked:
        if _ends(subscriber, last):
            return
        if subscriber.overflowed:
            subscriber.overflowed = False
            async for envelope in _backfill(subscriber, last, DELIVERIES_BACKFILL):
                yield envelope
                last = envelope.position  # type: ignore[assignment]
                if _ends(subscriber, last):
                    return
        live = await _next(subscriber, direct, last)
        last = max(last, subscriber.position)
        if subscriber.revoked:
            held = [live] if live is not None else []
            break
        if live is None or live.position is None or live.position <= last:
            continue
        if live.position > last + 1:
            async for missed in _backfill(subscriber, last, DELIVERIES_BACKFILL):
                yield missed
                last = missed.position  # type: ignore[assignment]
                if _ends(subscriber, last):
                    return
            if live.position <= last:
                continue
        DELIVERIES_LIVE.inc()
        yield live
        last = live.position
    # Revoked (removed, say) after its last event reached the hub but before this reader
    # sent it: what it still holds up to that event was published while access held.
    end = subscriber.end_after
    if end is not None and last < end:
        for envelope in sorted(held + subscriber.drain(), key=lambda e: e.position or 0):
            if envelope.position == last + 1 and envelope.position <= end:
                DELIVERIES_LIVE.inc()
                yield envelope
                last = envelope.position
        _ends(subscriber, last)


async def _ephemeral(
    subscriber: Subscriber, direct: Deliver | None
) -> AsyncGenerator[Envelope, None]:
    while not subscriber.revoked:
        # Lossy by design: an overflow only means events were dropped.
        subscriber.overflowed = False
        live = await _next(subscriber, direct, 0)
        if live is not None and not subscriber.revoked:
            DELIVERIES_LIVE.inc()
            yield live


async def _next(subscriber: Subscriber, direct: Deliver | None, last: int) -> Envelope | None:
    """Wait for the next buffered event, letting the hub deliver directly meanwhile."""
    if cancel_requested():
        # Cancelled, but an await above swallowed it: whoever cancelled will not do it
        # again, so never wait for events.
        raise asyncio.CancelledError
    # Caught up: let the hub deliver in-order events itself until the next one that
    # needs sorting out arrives in the buffer.
    subscriber.position, subscriber.direct = last, direct
    try:
        live = await subscriber.queue.get()
    finally:
        subscriber.direct = None
    await subscriber.wait_delivery()
    return live
