"""Per-process room hub: one channel-layer channel per process, joined to each room once.

Sockets do not own layer channels. The hub joins a room's group when the first local
subscriber arrives and leaves it when the last one goes, and restores each event once
(its kind's ``restore``, see chat.kinds) into an Envelope it hands to every local
subscriber of that kind. A subscriber that is caught up (``direct`` set and, for a durable
kind, the event's position exactly the next one it needs) gets it by a direct call from
the hub's task, with no queue and no task switch; anything else goes to its bounded
buffer, for its own task to sort out (realtime.streams).

The hub knows kinds only through the registry; what it knows itself is access: events
carry the room's access version, and a room whose access narrowed is re-checked once per
process before its next event is delivered (realtime.access).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from chat.events import ACCESS_CHANGED_EVENT_TYPE, ACCESS_GROUP, AccessChangedEvent, room_group_name
from chat.kinds import EventKind, kind_by_type
from chat.metrics import (
    DELIVERIES_LIVE,
    DELIVERY_LATENCY,
    LAYER_RECEIVE_FAILURES,
    SUBSCRIPTIONS_ACTIVE,
)
from realtime.access import RoomAccess
from realtime.loops import cancel_requested, loop_local, to_the_end
from realtime.mailbox import Mailbox
from realtime.resync import Resync
from realtime.signals import Signals
from realtime.subscriber import Envelope, Subscriber, deliver

__all__ = ["RoomHub", "get_hub"]

logger = logging.getLogger(__name__)


class RoomHub:
    def __init__(self, layer: Any) -> None:
        self._layer = layer
        self._rooms: dict[str, set[Subscriber]] = {}
        # Per room, local subscribers by kind: an event of a kind nobody here subscribes
        # to in the room (one a post also stands for, say) skips the loop over the room.
        self._kinds: dict[str, dict[EventKind[Any], int]] = {}
        self._channel: str | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._resync: asyncio.Task[None] | None = None
        self.access = RoomAccess(self._rooms)
        self.resync = Resync(self._rooms, self.access)
        self.signals = Signals(self._rooms)
        # Called with every access notice that names no room (credentials, users).
        self.access_listeners: list[Callable[[AccessChangedEvent], None]] = []
        self._access_joined = False
        # Serialises joins and leaves so a group is never left while someone is joining it.
        self._lock = asyncio.Lock()

    @property
    def rooms(self) -> dict[str, int]:
        """Local subscriber count per room (for tests and metrics)."""
        return {room: len(subs) for room, subs in self._rooms.items()}

    @contextlib.asynccontextmanager
    async def subscribe(
        self,
        kind: EventKind[Any],
        room: str,
        user_id: int | None,
        access_version: int = 0,
        *,
        username: str | None = None,
        queue: Mailbox[Envelope | None] | None = None,
    ) -> AsyncIterator[Subscriber]:
        """Register a subscriber to ``kind`` whose access was checked at
        ``access_version``; the room's group is joined before this returns. ``queue``:
        a buffer shared with other subscribers of the same reader."""
        subscriber = Subscriber(
            kind,
            room,
            user_id,
            settings.CHAT["SUBSCRIBER_BUFFER"],
            access_version,
            username=username,
            queue=queue,
        )
        try:
            # The join runs to its end even if this task is cancelled meanwhile: a
            # group_add interrupted after its SUBSCRIBE reached Redis would leave a
            # subscription there that nothing drops.
            await to_the_end(self._join(subscriber))
            # A cancellation can also have been swallowed on the way here (Python
            # 3.11's asyncio.wait_for returns the result when the awaited future ends
            # in the same loop pass as the cancel). Whoever cancelled this task will
            # not cancel it again: staying subscribed would leak it for good.
            if cancel_requested():
                raise asyncio.CancelledError
        except BaseException:
            await to_the_end(self._leave(subscriber))
            raise
        logger.info(
            "subscription started",
            extra={"event": "subscription.started", "room": room, "user_id": user_id},
        )
        try:
            yield subscriber
        finally:
            try:
                # Only then return, so that a closed socket has left every group once
                # its consumer has stopped.
                await to_the_end(self._leave(subscriber))
            finally:
                logger.info(
                    "subscription ended",
                    extra={
                        "event": "subscription.ended",
                        "room": room,
                        "user_id": user_id,
                        "revoked": subscriber.revoked,
                    },
                )

    def note_seen(self, kind: EventKind[Any], room: str, position: int) -> None:
        """Record that ``position`` is known to be delivered in ``room`` (a replay read it)."""
        self.resync.note_seen(kind, room, position)

    async def _join(self, subscriber: Subscriber) -> None:
        async with self._lock:
            await self._start()
            subscribers = self._rooms.get(subscriber.room)
            if subscribers is None:
                assert self._channel is not None
                await self._layer.group_add(room_group_name(subscriber.room), self._channel)
                subscribers = self._rooms[subscriber.room] = set()
            subscribers.add(subscriber)
            kinds = self._kinds.setdefault(subscriber.room, {})
            kinds[subscriber.kind] = kinds.get(subscriber.kind, 0) + 1
            self.access.note(subscriber)
            self.signals.joined(subscriber)
            SUBSCRIPTIONS_ACTIVE.inc()

    async def _leave(self, subscriber: Subscriber) -> None:
        async with self._lock:
            room = subscriber.room
            subscribers = self._rooms.get(room)
            if subscribers is None or subscriber not in subscribers:
                return
            subscribers.discard(subscriber)
            kinds = self._kinds[room]
            kinds[subscriber.kind] -= 1
            if not kinds[subscriber.kind]:
                del kinds[subscriber.kind]
            self.signals.left(subscriber)
            SUBSCRIPTIONS_ACTIVE.dec()
            if not subscribers:
                del self._rooms[room]
                del self._kinds[room]
                self.access.forget(room)
                self.resync.forget(room)
                assert self._channel is not None
                try:
                    await self._layer.group_discard(room_group_name(room), self._channel)
                except Exception:
                    logger.exception("group_discard failed for room %s", room)

    async def _start(self) -> None:
        if self._receiver is not None:
            return
        self._channel = await self._layer.new_channel("chat.hub.")
        # Fresh contexts: the hub serves every socket, so its tasks must not inherit the
        # log context (connection id) of the socket that happened to start it.
        self._receiver = asyncio.create_task(
            self._receive_loop(), name="chat-room-hub", context=contextvars.Context()
        )
        self._resync = asyncio.create_task(
            self._resync_loop(), name="chat-room-hub-resync", context=contextvars.Context()
        )

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(settings.CHAT["RESYNC_SECONDS"])
            try:
                await self.resync.once()
            except Exception:
                logger.exception("room hub resync failed")

    async def _receive_loop(self) -> None:
        assert self._channel is not None
        while True:
            try:
                event = await self._layer.receive(self._channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                LAYER_RECEIVE_FAILURES.inc()
                logger.exception("room hub receive failed; retrying")
                await asyncio.sleep(0.5)
                continue
            try:
                await self.dispatch(event)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                # A future shared with a subscriber that went away was cancelled.
                logger.exception("room hub could not handle an event")
            except Exception:
                # One bad event (say, from a process of another version) must not stop
                # live delivery for the whole process; the resync covers what it carried.
                logger.exception("room hub could not handle an event")

    async def dispatch(self, event: dict[str, Any]) -> None:
        """Deliver one layer event to this process's subscribers."""
        type_ = event.get("type")
        if type_ == ACCESS_CHANGED_EVENT_TYPE:
            await self._access_changed(event)  # type: ignore[arg-type]
            return
        found = kind_by_type(type_)
        if found is None:
            # A kind this version does not know (a newer process's): nobody here wants it.
            return
        kind, batched = found
        room = event["room"]
        if not self._rooms.get(room):
            return
        published_at = event.get("published_at")
        if published_at is not None:
            # Once per event per process, not per subscriber (see chat.metrics).
            DELIVERY_LATENCY.observe(time.time() - published_at)
        if batched:
            assert kind.batch_field is not None
            for payload in event[kind.batch_field]:
                await self._dispatch_one(kind, room, payload)
        else:
            payload = kind.payload_of(event) if kind.payload_of is not None else event[kind.field]
            await self._dispatch_one(kind, room, payload)

    async def _dispatch_one(self, kind: EventKind[Any], room: str, payload: Any) -> None:
        subscribers = self._rooms.get(room)
        if not subscribers:
            return
        if kind.absorb is not None and kind.absorb(payload):
            # A state change (a post ending its author's typing), coalesced.
            self.signals.absorb(room, payload)
            return
        # The only access cost of an event: a room whose access narrowed since its
        # subscribers were checked is re-checked (once per process) before delivery.
        version = kind.access_version(payload) if kind.access_version is not None else 0
        version = max(version, self.access.pending(room))
        checked = version > self.access.verified(room)
        if checked:
            if not await self.access.ensure(room, version):
                return
            subscribers = self._rooms.get(room)
            if not subscribers:
                return
        ends = kind.ends_subscription
        if ends is not None:
            for subscriber in tuple(subscribers):
                if ends(payload, subscriber.user_id):
                    subscriber.revoke()
        position = kind.position(payload) if kind.position is not None else None
        if position is not None:
            self.note_seen(kind, room, position)
        # Whose subscriptions end after this event (a member's own MemberLeft), if anyone's.
        ender = kind.ends_after(payload) if kind.ends_after is not None else None
        # Restored once, and only if a subscriber of this kind is here.
        envelope: Envelope | None = None
        delivered = 0
        mine = tuple(subscribers) if self._kinds.get(room, {}).get(kind) else ()
        for subscriber in mine:
            if subscriber.kind is not kind or subscriber.revoked:
                continue
            if checked and subscriber.access_version < version:
                # Joined while the check read the database, with access checked before
                # this version: not handed this event. Its reader reads the room from the
                # database instead, which checks access, and the next event re-checks it.
                subscriber.nudge()
                continue
            if envelope is None:
                envelope = Envelope(kind, room, position, kind.restore(payload))
            ending = ender is not None and position is not None and subscriber.user_id == ender
            if ending:
                subscriber.end_after = position
            if await deliver(subscriber, envelope):
                delivered += 1
            if ending:
                subscriber.wake()
        if delivered:
            # One increment per event, whatever the fan-out.
            DELIVERIES_LIVE.inc(delivered)
        for other, derive in kind.also:
            derived = derive(payload)
            if derived is not None:
                await self._dispatch_one(other, room, derived)

    async def access_listen(self) -> None:
        """Receive the access notices that name no room (see realtime.credentials)."""
        async with self._lock:
            await self._start()
            if not self._access_joined:
                assert self._channel is not None
                await self._layer.group_add(ACCESS_GROUP, self._channel)
                self._access_joined = True

    async def _access_changed(self, event: AccessChangedEvent) -> None:
        room = event.get("room")
        if room is None:
            for listener in tuple(self.access_listeners):
                listener(event)
            return
        await self.access.ensure(room, event.get("access_version", 0))


def _hub_create() -> RoomHub:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("The chat service needs a channel layer (CHANNEL_LAYERS).")
    return RoomHub(layer)


_loop_hub = loop_local(_hub_create)


def get_hub() -> RoomHub:
    """Return this event loop's hub (one per process in production; one per test loop)."""
    return _loop_hub()
