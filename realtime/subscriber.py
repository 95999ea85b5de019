"""What the hub hands around: envelopes (one event of any kind) and subscribers (one
subscription's delivery state)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from chat.kinds import EventKind
from chat.metrics import SUBSCRIBER_OVERFLOWS
from realtime.mailbox import Mailbox

__all__ = ["Deliver", "Envelope", "Subscriber", "deliver"]

logger = logging.getLogger(__name__)


class Envelope:
    """One event as this process delivers it: its kind, room, position (durable kinds;
    None for ephemeral ones) and ``value``, the payload restored once per process.

    ``rendered`` is for whoever encodes it for a client: an encoding made for one local
    subscriber is shared with the others of the same operation, for as long as the event
    lives.
    """

    __slots__ = ("_rendered", "kind", "position", "room", "value")

    def __init__(self, kind: EventKind[Any], room: str, position: int | None, value: Any) -> None:
        self.kind = kind
        self.room = room
        self.position = position
        self.value = value
        self._rendered: dict[Any, Any] | None = None

    @property
    def rendered(self) -> dict[Any, Any]:
        if self._rendered is None:
            self._rendered = {}
        return self._rendered

    def __repr__(self) -> str:
        return f"Envelope({self.kind.name}, {self.room!r}, {self.position})"


# Returns False when the client cannot take the event now (it is not reading): the event
# then goes to the subscriber's buffer instead.
Deliver = Callable[[Envelope], Awaitable[bool]]


class Subscriber:
    """One subscription's delivery state: one kind, one room.

    ``direct``/``position`` are set by the subscription's reader while it is caught up;
    it clears ``direct`` while it replays from the database. The buffer is bounded: when it
    overflows, it is emptied, ``overflowed`` is set and later events are dropped until the
    reader catches up from the database (durable kinds; ephemeral ones are just lost), so a
    subscriber whose client stopped reading holds at most ``capacity`` events, and none
    once it has overflowed.
    """

    __slots__ = (
        "_delivered",
        "access_version",
        "delivering",
        "direct",
        "end_after",
        "finished",
        "forbidden",
        "kind",
        "overflowed",
        "position",
        "queue",
        "registered_at",
        "revoked",
        "room",
        "user_id",
        "username",
    )

    def __init__(
        self,
        kind: EventKind[Any],
        room: str,
        user_id: int | None,
        capacity: int,
        access_version: int = 0,
        *,
        username: str | None = None,
        queue: Mailbox[Envelope | None] | None = None,
    ) -> None:
        self.kind = kind
        self.room = room
        self.user_id = user_id
        self.username = username
        self.registered_at = time.monotonic()
        # The room's access version at which this user's access was last checked.
        self.access_version = access_version
        # Set when the user was removed from the room: the reader ends the subscription
        # (with FORBIDDEN if ``forbidden``: they lost access, rather than left).
        self.revoked = False
        self.forbidden = False
        # Durable kinds: the position after which the subscription ends (its kind's
        # ``ends_after``), and whether it ended there (then a revocation that follows,
        # say for the same removal, does not turn its end into an error).
        self.end_after: int | None = None
        self.finished = False
        # None in the queue only wakes the reader up (see nudge). Subscribers of one
        # reader over several rooms (the inbox) share one.
        self.queue: Mailbox[Envelope | None] = Mailbox(maxsize=capacity) if queue is None else queue
        self.overflowed = False
        self.direct: Deliver | None = None
        # Durable kinds: the last position delivered.
        self.position = 0
        # True while the hub is in a direct delivery: the reader waits for it to end
        # before it writes anything itself, so frames never overtake each other.
        self.delivering = False
        self._delivered: asyncio.Future[None] | None = None

    def offer(self, envelope: Envelope) -> None:
        if self.overflowed:
            # Durable kinds: the reader will read this from the database (it was committed
            # before its event was published, so before the reader clears ``overflowed``).
            # Ephemeral kinds: lost, by design.
            return
        try:
            self.queue.put_nowait(envelope)
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

    def wake(self) -> None:
        """Make the reader look at its state (``end_after``) without a database read."""
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    def drain(self) -> list[Envelope]:
        """Take what is buffered, in order of arrival."""
        taken = []
        while not self.queue.empty():
            envelope = self.queue.get_nowait()
            if envelope is not None:
                taken.append(envelope)
        return taken

    def nudge(self) -> None:
        """Make the reader catch up from the database (an event may have been lost)."""
        self.overflowed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)


async def deliver(subscriber: Subscriber, envelope: Envelope) -> bool:
    """Hand ``envelope`` to ``subscriber`` directly if it is caught up, else to its
    buffer; True if it was delivered directly."""
    direct = subscriber.direct
    position = envelope.position
    if position is None:
        # Ephemeral: no order to keep beyond the buffer's.
        if direct is not None and not subscriber.delivering and subscriber.queue.empty():
            return await _deliver_direct(subscriber, envelope, direct)
        subscriber.offer(envelope)
        return False
    if direct is None or position > subscriber.position + 1:
        # Counted by realtime.streams when the subscription's reader yields it.
        subscriber.offer(envelope)
        return False
    if position <= subscriber.position:
        return False  # a duplicate of what this subscriber already has
    subscriber.position = position
    if await _deliver_direct(subscriber, envelope, direct):
        return True
    subscriber.position = position - 1
    return False


async def _deliver_direct(subscriber: Subscriber, envelope: Envelope, direct: Deliver) -> bool:
    subscriber.delivering = True
    try:
        if await direct(envelope):
            return True
        subscriber.offer(envelope)
    except Exception:
        logger.exception("direct delivery failed in room %s", subscriber.room)
        # Not sent: the subscription's reader sends it from the database (durable kinds).
        subscriber.nudge()
    finally:
        subscriber.delivery_done()
    return False
