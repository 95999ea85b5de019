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
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

from chat.db import in_thread
from chat.events import (
    ACCESS_CHANGED_EVENT_TYPE,
    ACCESS_GROUP,
    MEMBER_REMOVED_EVENT_TYPE,
    MESSAGE_EVENT_TYPE,
    MESSAGES_EVENT_TYPE,
    AccessChangedEvent,
    MessageEvent,
    MessagePayload,
    MessagesEvent,
    message_from_payload,
    room_group_name,
)
from chat.metrics import (
    DELIVERIES_LIVE,
    DELIVERY_LATENCY,
    LAYER_RECEIVE_FAILURES,
    RESYNC_RECOVERIES,
    SUBSCRIBER_OVERFLOWS,
    SUBSCRIPTIONS_ACTIVE,
)
from chat.models import Message
from chat.selectors import room_access_members, room_last_seqs_and_access
from realtime.loops import loop_local
from realtime.mailbox import Mailbox

__all__ = ["RoomHub", "Subscriber", "cancel_requested", "get_hub"]

logger = logging.getLogger(__name__)


# Returns False when the socket cannot take the frame now (its client is not reading):
# the message then goes to the subscriber's buffer instead.
Deliver = Callable[[Message], Awaitable[bool]]


class Subscriber:
    """One subscription's delivery state.

    ``direct``/``last_seq`` are set by the subscription's reader while it is caught up;
    it clears ``direct`` while it replays from the database. The buffer is bounded: when it
    overflows, it is emptied, ``overflowed`` is set and later events are dropped until the
    reader catches up from the database, so a subscriber whose client stopped reading holds
    at most ``capacity`` messages, and none once it has overflowed.
    """

    __slots__ = (
        "_delivered",
        "access_version",
        "delivering",
        "direct",
        "forbidden",
        "last_seq",
        "overflowed",
        "queue",
        "registered_at",
        "revoked",
        "room",
        "user_id",
    )

    def __init__(
        self, room: str, user_id: int | None, capacity: int, access_version: int = 0
    ) -> None:
        self.room = room
        self.user_id = user_id
        self.registered_at = time.monotonic()
        # The room's access version at which this user's access was last checked.
        self.access_version = access_version
        # Set when the user was removed from the room: the reader ends the subscription
        # (with FORBIDDEN if ``forbidden``: they lost access, rather than left).
        self.revoked = False
        self.forbidden = False
        # None in the queue only wakes the reader up (see nudge).
        self.queue: Mailbox[Message | None] = Mailbox(maxsize=capacity)
        self.overflowed = False
        self.direct: Deliver | None = None
        self.last_seq = 0
        # True while the hub is in a direct delivery: the reader waits for it to end
        # before it writes anything itself, so frames never overtake each other.
        self.delivering = False
        self._delivered: asyncio.Future[None] | None = None

    def offer(self, message: Message) -> None:
        if self.overflowed:
            # The reader will read this from the database (it was committed before its
            # event was published, so before the reader clears ``overflowed``).
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            SUBSCRIBER_OVERFLOWS.inc()
            self.overflowed = True
            # Everything queued is re-read from the database: let it go now.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    def delivery_done(self) -> None:
        self.delivering = False
        delivered, self._delivered = self._delivered, None
        if delivered is not None and not delivered.done():
            delivered.set_result(None)

    async def wait_delivery(self) -> None:
        """Return once no direct delivery is in flight."""
        if self.delivering:
            if self._delivered is None:
                self._delivered = asyncio.get_running_loop().create_future()
            await self._delivered

    def revoke(self, *, forbidden: bool = False) -> None:
        self.revoked = True
        self.forbidden = self.forbidden or forbidden
        self.direct = None
        self.nudge()

    def nudge(self) -> None:
        """Make the reader catch up from the database (an event may have been lost)."""
        self.overflowed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


class RoomHub:
    def __init__(self, layer: Any) -> None:
        self._layer = layer
        self._rooms: dict[str, set[Subscriber]] = {}
        self._channel: str | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._resync: asyncio.Task[None] | None = None
        # Highest seq received from the layer per room, and the database's as of the
        # previous resync check.
        self._seen: dict[str, int] = {}
        self._committed: dict[str, int] = {}
        # Per room, an access version at which every local subscriber's access is known
        # good (the lowest of theirs): an event at a higher one is held until re-checked.
        self._verified: dict[str, int] = {}
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
        self, room: str, user_id: int | None, access_version: int = 0
    ) -> AsyncIterator[Subscriber]:
        """Register a subscriber whose access was checked at ``access_version``; the
        room's group is joined before this returns."""
        subscriber = Subscriber(
            room, user_id, settings.CHAT["SUBSCRIBER_BUFFER"], access_version=access_version
        )
        try:
            # The join runs to its end even if this task is cancelled meanwhile: a
            # group_add interrupted after its SUBSCRIBE reached Redis would leave a
            # subscription there that nothing drops.
            await _to_the_end(self._join(subscriber))
            # A cancellation can also have been swallowed on the way here (Python
            # 3.11's asyncio.wait_for returns the result when the awaited future ends
            # in the same loop pass as the cancel). Whoever cancelled this task will
            # not cancel it again: staying subscribed would leak it for good.
            if cancel_requested():
                raise asyncio.CancelledError
        except BaseException:
            await _to_the_end(self._leave(subscriber))
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
                await _to_the_end(self._leave(subscriber))
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

    def note_seen(self, room: str, seq: int) -> None:
        """Record that ``seq`` is known to be delivered in ``room`` (a replay read it)."""
        if seq > self._seen.get(room, 0):
            self._seen[room] = seq

    async def _join(self, subscriber: Subscriber) -> None:
        async with self._lock:
            await self._start()
            subscribers = self._rooms.get(subscriber.room)
            if subscribers is None:
                assert self._channel is not None
                await self._layer.group_add(room_group_name(subscriber.room), self._channel)
                subscribers = self._rooms[subscriber.room] = set()
            subscribers.add(subscriber)
            self._access_note(subscriber)
            SUBSCRIPTIONS_ACTIVE.inc()

    async def _leave(self, subscriber: Subscriber) -> None:
        async with self._lock:
            subscribers = self._rooms.get(subscriber.room)
            if subscribers is None or subscriber not in subscribers:
                return
            subscribers.discard(subscriber)
            SUBSCRIPTIONS_ACTIVE.dec()
            if not subscribers:
                del self._rooms[subscriber.room]
                self._verified.pop(subscriber.room, None)
                self._seen.pop(subscriber.room, None)
                self._committed.pop(subscriber.room, None)
                assert self._channel is not None
                try:
                    await self._layer.group_discard(room_group_name(subscriber.room), self._channel)
                except Exception:
                    logger.exception("group_discard failed for room %s", subscriber.room)

    async def _start(self) -> None:
        if self._receiver is not None:
            return
        self._channel = await self._layer.new_channel("realtime.hub.")
        # Fresh contexts: the hub serves every socket, so its tasks must not inherit the
        # log context (connection id) of the socket that happened to start it.
        self._receiver = asyncio.create_task(
            self._receive_loop(), name="chat-room-hub", context=contextvars.Context()
        )
        self._resync = asyncio.create_task(
            self._resync_loop(), name="chat-room-hub-resync", context=contextvars.Context()
        )

    async def _resync_loop(self) -> None:
        """Catch up rooms whose events the layer lost (pub/sub drops messages while a
        Redis connection is down, and a publish can fail after commit), and end the
        subscriptions of users who lost access to a room whose access notice was lost
        and no message has come since (the same query reads the rooms' access versions).

        A seq that was committed at the previous check and still has not arrived is
        lost, not in flight: the room's subscribers are nudged to read the database. So
        every committed message reaches every subscriber within two intervals, even if no
        later message comes to reveal the gap.
        """
        while True:
            await asyncio.sleep(settings.CHAT["RESYNC_SECONDS"])
            rooms = list(self._rooms)
            if not rooms:
                continue
            try:
                states = await in_thread(room_last_seqs_and_access)(names=rooms)
                # Access notices lost (Redis down) with no message since: re-check now.
                for room, (_, version) in states.items():
                    await self._access_ensure(room, version)
            except Exception:
                logger.exception("room hub resync failed")
                continue
            committed = {room: seq for room, (seq, _) in states.items()}
            for room in rooms:
                if self._committed.get(room, 0) > self._seen.get(room, 0):
                    RESYNC_RECOVERIES.inc()
                    logger.warning(
                        "room resync: events lost by the channel layer",
                        extra={
                            "event": "room.resync",
                            "room": room,
                            "seq": self._committed[room],
                            "seen_seq": self._seen.get(room, 0),
                        },
                    )
                    for subscriber in tuple(self._rooms.get(room, ())):
                        subscriber.nudge()
                    self._seen[room] = self._committed[room]
            self._committed = committed

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
                if event.get("type") in (MESSAGE_EVENT_TYPE, MESSAGES_EVENT_TYPE):
                    await self.dispatch(event)  # type: ignore[arg-type]
                elif event.get("type") == MEMBER_REMOVED_EVENT_TYPE:
                    for subscriber in tuple(self._rooms.get(event["room"], ())):
                        if subscriber.user_id == event["user_id"]:
                            subscriber.revoke()
                elif event.get("type") == ACCESS_CHANGED_EVENT_TYPE:
                    await self._access_changed(event)  # type: ignore[arg-type]
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

    async def dispatch(self, event: MessageEvent | MessagesEvent) -> None:
        room = event["room"]
        if not self._rooms.get(room):
            return
        published_at = event.get("published_at")
        if published_at is not None:
            # Once per event per process, not per subscriber (see chat.metrics).
            DELIVERY_LATENCY.observe(time.time() - published_at)
        if event["type"] == MESSAGES_EVENT_TYPE:
            for payload in event["messages"]:
                await self._dispatch_one(room, payload)
        else:
            await self._dispatch_one(room, event["message"])

    async def _dispatch_one(self, room: str, payload: MessagePayload) -> None:
        subscribers = self._rooms.get(room)
        if not subscribers:
            return
        # The only access cost of an event: a room whose access narrowed since its
        # subscribers were checked is re-checked (once per process) before delivery.
        version = payload.get("room_access_version", 0)
        checked = version > self._verified.get(room, 0)
        if checked:
            if not await self._access_ensure(room, version):
                return
            subscribers = self._rooms.get(room)
            if not subscribers:
                return
        message = message_from_payload(payload)
        seq = message.seq
        self.note_seen(room, seq)
        delivered = 0
        for subscriber in tuple(subscribers):
            if checked and subscriber.access_version < version:
                # Joined while the check read the database, with access checked before
                # this version: not handed this event. Its reader reads the room from the
                # database instead, which checks access, and the next event re-checks it.
                subscriber.nudge()
                continue
            direct = subscriber.direct
            if direct is None or seq > subscriber.last_seq + 1:
                # Counted by realtime.streams when the subscription's reader yields it.
                subscriber.offer(message)
            elif seq == subscriber.last_seq + 1:
                subscriber.last_seq = seq
                subscriber.delivering = True
                try:
                    if await direct(message):
                        delivered += 1
                    else:
                        subscriber.last_seq = seq - 1
                        subscriber.offer(message)
                except Exception:
                    logger.exception("direct delivery failed in room %s", subscriber.room)
                    # Not sent: the subscription's reader sends it from the database.
                    subscriber.last_seq = seq - 1
                    subscriber.nudge()
                finally:
                    subscriber.delivery_done()
            # else: a duplicate of what this subscriber already has.
        if delivered:
            # One increment per event, whatever the fan-out.
            DELIVERIES_LIVE.inc(delivered)

    async def access_listen(self) -> None:
        """Receive the access notices that name no room (see realtime.credentials)."""
        async with self._lock:
            await self._start()
            if not self._access_joined:
                assert self._channel is not None
                await self._layer.group_add(ACCESS_GROUP, self._channel)
                self._access_joined = True

    def _access_note(self, subscriber: Subscriber) -> None:
        verified = self._verified.get(subscriber.room)
        if verified is None or subscriber.access_version < verified:
            self._verified[subscriber.room] = subscriber.access_version

    async def _access_changed(self, event: AccessChangedEvent) -> None:
        room = event.get("room")
        if room is None:
            for listener in tuple(self.access_listeners):
                listener(event)
            return
        await self._access_ensure(room, event.get("access_version", 0))

    async def _access_ensure(self, room: str, version: int) -> bool:
        """Make sure every local subscriber of ``room`` may read it at ``version``;
        end the subscriptions of those who may not. False if that could not be checked:
        the subscribers then read the room from the database, which checks access."""
        if version <= self._verified.get(room, version):
            return True
        subscribers = tuple(self._rooms.get(room, ()))
        try:
            access = await in_thread(room_access_members)(
                name=room,
                user_ids={s.user_id for s in subscribers if s.user_id is not None},
            )
        except Exception:
            logger.exception("access check failed for room %s", room)
            for subscriber in subscribers:
                subscriber.direct = None
                subscriber.nudge()
            return False
        for subscriber in subscribers:
            if access.allowed is not None and subscriber.user_id not in access.allowed:
                subscriber.revoke(forbidden=True)
                logger.info(
                    "subscription cut off",
                    extra={"event": "access.revoked", "room": room, "user_id": subscriber.user_id},
                )
            elif subscriber.access_version < access.version:
                subscriber.access_version = access.version
        # Subscribers that registered during the read keep the (older) version they
        # were checked at.
        remaining = [s.access_version for s in self._rooms.get(room, ()) if not s.revoked]
        if remaining:
            self._verified[room] = min(remaining)
        else:
            self._verified.pop(room, None)
        return True


def cancel_requested() -> bool:
    """True if this task was asked to stop, even if the CancelledError was swallowed."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _to_the_end(awaitable: Awaitable[None]) -> None:
    """Await ``awaitable`` in a task of its own to its end, even if this task is cancelled
    meanwhile (then raise CancelledError after it)."""
    task = asyncio.ensure_future(awaitable)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.warning("room hub join or leave failed after a cancel", exc_info=error)
        raise asyncio.CancelledError
    task.result()


def _hub_create() -> RoomHub:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("The chat service needs a channel layer (CHANNEL_LAYERS).")
    return RoomHub(layer)


_loop_hub = loop_local(_hub_create)


def get_hub() -> RoomHub:
    """Return this event loop's hub (one per process in production; one per test loop)."""
    return _loop_hub()
