"""The hub's resync: what the channel layer lost is caught up from the database."""

from __future__ import annotations

import logging
from typing import Any

from chat.db import in_thread
from chat.kinds import EventKind, kinds_durable
from chat.metrics import RESYNC_RECOVERIES
from chat.selectors import room_access_versions
from realtime.access import RoomAccess
from realtime.subscriber import Subscriber

__all__ = ["Resync"]

logger = logging.getLogger(__name__)


class Resync:
    """Catch up rooms whose events the layer lost (pub/sub drops messages while a
    Redis connection is down, and a publish can fail after commit), and end the
    subscriptions of users who lost access to a room whose access notice was lost
    and no event has come since (the same query reads the rooms' access versions).

    A position that was committed at the previous check and still has not arrived
    is lost, not in flight: the room's subscribers of that kind are nudged to read
    the database. So every durable event reaches every subscriber within two
    intervals, even if no later event comes to reveal the gap.
    """

    def __init__(self, rooms: dict[str, set[Subscriber]], access: RoomAccess) -> None:
        # The hub's subscribers by room (shared, not copied).
        self._rooms = rooms
        self._access = access
        # Per (durable kind, room): the highest position received from the layer, and
        # the database's as of the previous check.
        self._seen: dict[tuple[str, str], int] = {}
        self._committed: dict[tuple[str, str], int] = {}

    def note_seen(self, kind: EventKind[Any], room: str, position: int) -> None:
        key = (kind.name, room)
        if position > self._seen.get(key, 0):
            self._seen[key] = position

    def forget(self, room: str) -> None:
        for kind in kinds_durable():
            self._seen.pop((kind.name, room), None)
            self._committed.pop((kind.name, room), None)

    async def once(self) -> None:
        """Compare each room's committed positions with what arrived; re-check access."""
        rooms_by_kind: dict[str, tuple[EventKind[Any], set[str]]] = {}
        for room, subscribers in self._rooms.items():
            for subscriber in subscribers:
                if subscriber.kind.durable:
                    entry = rooms_by_kind.setdefault(subscriber.kind.name, (subscriber.kind, set()))
                    entry[1].add(room)
        committed: dict[tuple[str, str], int] = {}
        for name, (kind, rooms) in rooms_by_kind.items():
            assert kind.committed is not None
            states = await in_thread(kind.committed)(room_names=sorted(rooms))
            # Access notices lost (Redis down) with no event since: re-check now.
            for room, (_, version) in states.items():
                await self._access.ensure(room, version)
            for room in rooms:
                key = (name, room)
                if self._committed.get(key, 0) > self._seen.get(key, 0):
                    RESYNC_RECOVERIES.inc()
                    logger.warning(
                        "room resync: events lost by the channel layer",
                        extra={
                            "event": "room.resync",
                            "room": room,
                            "kind": name,
                            "seq": self._committed[key],
                            "seen_seq": self._seen.get(key, 0),
                        },
                    )
                    for subscriber in tuple(self._rooms.get(room, ())):
                        if subscriber.kind is kind:
                            subscriber.nudge()
                    self._seen[key] = self._committed[key]
            committed.update({(name, room): state[0] for room, state in states.items()})
        self._committed = committed
        # Rooms with only ephemeral subscribers: their access is re-checked all the same.
        durable_rooms = {room for _, rooms in rooms_by_kind.values() for room in rooms}
        others = sorted(set(self._rooms) - durable_rooms)
        if others:
            for room, version in (await in_thread(room_access_versions)(names=others)).items():
                await self._access.ensure(room, version)
