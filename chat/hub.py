"""Per-process room hub: one channel-layer channel per process, joined to each room once.

Sockets do not own layer channels. The hub joins a room's group when the first local
subscriber arrives and leaves it when the last one goes, and turns each event into a
Message once. A subscriber that is caught up (``direct`` set, the event's seq exactly the
next one it needs) gets it by a direct call from the hub's task, with no queue and no task
switch; anything else goes to its bounded buffer, for its own task to sort out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from chat.events import MESSAGE_EVENT_TYPE, MessageEvent, message_from_payload, room_group_name
from chat.models import Message

__all__ = ["RoomHub", "Subscriber", "get_hub"]

logger = logging.getLogger(__name__)


Deliver = Callable[[Message], Awaitable[None]]


class Subscriber:
    """One subscription's delivery state.

    ``direct``/``last_seq`` are set by the subscription's reader while it is caught up;
    it clears ``direct`` while it replays from the database. The buffer is bounded: when it
    is full, events are dropped and ``overflowed`` set, and the reader catches up from the
    database instead.
    """

    __slots__ = ("direct", "last_seq", "overflowed", "queue", "room")

    def __init__(self, room: str, capacity: int) -> None:
        self.room = room
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=capacity)
        self.overflowed = False
        self.direct: Deliver | None = None
        self.last_seq = 0

    def offer(self, message: Message) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True


class RoomHub:
    def __init__(self, layer: Any) -> None:
        self._layer = layer
        self._rooms: dict[str, set[Subscriber]] = {}
        self._channel: str | None = None
        self._receiver: asyncio.Task[None] | None = None
        # Serialises joins and leaves so a group is never left while someone is joining it.
        self._lock = asyncio.Lock()

    @property
    def rooms(self) -> dict[str, int]:
        """Local subscriber count per room (for tests and metrics)."""
        return {room: len(subs) for room, subs in self._rooms.items()}

    @contextlib.asynccontextmanager
    async def subscribe(self, room: str) -> AsyncIterator[Subscriber]:
        """Register a subscriber; the room's group is joined before this returns."""
        subscriber = Subscriber(room, settings.CHAT["SUBSCRIBER_BUFFER"])
        async with self._lock:
            await self._start()
            subscribers = self._rooms.get(room)
            if subscribers is None:
                assert self._channel is not None
                await self._layer.group_add(room_group_name(room), self._channel)
                subscribers = self._rooms[room] = set()
            subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            # Finish leaving even if cancelled again meanwhile, and only then return, so
            # that a closed socket has left every group once its consumer has stopped.
            leave = asyncio.ensure_future(self._leave(subscriber))
            try:
                await asyncio.shield(leave)
            except asyncio.CancelledError:
                await leave
                raise

    async def _leave(self, subscriber: Subscriber) -> None:
        async with self._lock:
            subscribers = self._rooms.get(subscriber.room)
            if subscribers is None:
                return
            subscribers.discard(subscriber)
            if not subscribers:
                del self._rooms[subscriber.room]
                assert self._channel is not None
                try:
                    await self._layer.group_discard(room_group_name(subscriber.room), self._channel)
                except Exception:
                    logger.exception("group_discard failed for room %s", subscriber.room)

    async def _start(self) -> None:
        if self._receiver is not None:
            return
        self._channel = await self._layer.new_channel("chat.hub.")
        self._receiver = asyncio.create_task(self._receive_loop(), name="chat-room-hub")

    async def _receive_loop(self) -> None:
        assert self._channel is not None
        while True:
            try:
                event = await self._layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("room hub receive failed; retrying")
                await asyncio.sleep(0.5)
                continue
            if event.get("type") == MESSAGE_EVENT_TYPE:
                await self.dispatch(event)  # type: ignore[arg-type]

    async def dispatch(self, event: MessageEvent) -> None:
        subscribers = self._rooms.get(event["room"])
        if not subscribers:
            return
        message = message_from_payload(event["message"])
        seq = message.seq
        for subscriber in tuple(subscribers):
            direct = subscriber.direct
            if direct is None or seq > subscriber.last_seq + 1:
                subscriber.offer(message)
            elif seq == subscriber.last_seq + 1:
                subscriber.last_seq = seq
                try:
                    await direct(message)
                except Exception:
                    logger.exception("direct delivery failed in room %s", subscriber.room)
            # else: a duplicate of what this subscriber already has.


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RoomHub] = weakref.WeakKeyDictionary()


def get_hub() -> RoomHub:
    """Return this event loop's hub (one per process in production; one per test loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("The chat service needs a channel layer (CHANNEL_LAYERS).")
        hub = _hubs[loop] = RoomHub(layer)
    return hub
