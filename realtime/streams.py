"""A room's live message stream: replay from the database, then live events, gap-free."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from prometheus_client import Counter

from chat.db import in_thread
from chat.errors import Forbidden
from chat.metrics import DELIVERIES_BACKFILL, DELIVERIES_LIVE, DELIVERIES_REPLAY
from chat.models import Message
from chat.selectors import room_last_seq, room_message_list
from realtime.hub import Deliver, Subscriber, cancel_requested, get_hub

__all__ = ["message_stream"]

BACKFILL_PAGE = 500


async def _backfill(
    subscriber: Subscriber, after_seq: int, counter: Counter
) -> AsyncIterator[Message]:
    # Per message and per subscriber: this path reads the database for each subscriber
    # anyway, so a counter increment is noise here (unlike the hub's direct path).
    room_name = subscriber.room
    while not subscriber.revoked:
        page = await in_thread(room_message_list)(
            room_name=room_name,
            after_seq=after_seq,
            limit=BACKFILL_PAGE,
            viewer_id=subscriber.user_id,
        )
        for message in page:
            if subscriber.revoked:
                # Removed from the room: not one more message, even from this page.
                return
            # As in live events, ``room.last_seq`` is the room as of this message.
            message.room.last_seq = message.seq
            counter.inc()
            yield message
        if len(page) < BACKFILL_PAGE:
            return
        after_seq = page[-1].seq


async def message_stream(
    *,
    room_name: str,
    after_seq: int | None,
    user_id: int | None = None,
    access_version: int = 0,
    direct: Deliver | None = None,
) -> AsyncIterator[Message]:
    """Yield every message of the room with seq > ``after_seq`` (default: from now), in order.

    The start position is read before the hub subscription starts, and the replay after,
    so nothing committed after that read can be missed; live events at or below the last
    seq delivered are duplicates of the replay and are skipped. A live seq that skips
    ahead (a dropped or reordered publish, or an overflowed buffer) is filled from the
    database, where every lower seq is already committed: seqs are taken under the room's
    row lock.

    With ``direct``, in-order live messages are not yielded but handed to ``direct`` by
    the hub as they arrive, while this generator is caught up and waiting; the caller must
    send what is yielded and what ``direct`` gets the same way.

    The stream ends when ``user_id`` leaves the room, and raises Forbidden when they lose
    access to it (removed, or the room made private). Access is checked by the caller
    before it starts (chat.services.room_subscribe_check, which gives ``access_version``);
    the hub re-checks it whenever the room's access version moves past that.
    """
    if after_seq is None:
        # Read the start position before joining, so that once the hub lists this
        # subscriber, every message committed later is certain to be delivered.
        after_seq = await in_thread(room_last_seq)(name=room_name)
    hub = get_hub()
    async with hub.subscribe(room_name, user_id, access_version) as subscriber:
        last = after_seq
        async for message in _backfill(subscriber, last, DELIVERIES_REPLAY):
            yield message
            last = message.seq
        hub.note_seen(room_name, last)
        while not subscriber.revoked:
            if subscriber.overflowed:
                subscriber.overflowed = False
                async for message in _backfill(subscriber, last, DELIVERIES_BACKFILL):
                    yield message
                    last = message.seq
            if cancel_requested():
                # Cancelled, but an await above swallowed it: whoever cancelled will not
                # do it again, so never wait for events.
                raise asyncio.CancelledError
            # Caught up: let the hub deliver in-order messages itself until the next
            # one that needs sorting out arrives in the buffer.
            subscriber.last_seq, subscriber.direct = last, direct
            try:
                live = await subscriber.queue.get()
            finally:
                subscriber.direct = None
            await subscriber.wait_delivery()
            last = max(last, subscriber.last_seq)
            if subscriber.revoked:
                break
            if live is None or live.seq <= last:
                continue
            if live.seq > last + 1:
                async for missed in _backfill(subscriber, last, DELIVERIES_BACKFILL):
                    yield missed
                    last = missed.seq
                if live.seq <= last:
                    continue
            DELIVERIES_LIVE.inc()
            yield live
            last = live.seq
        if subscriber.forbidden:
            raise Forbidden("You are not a member of this room.")
