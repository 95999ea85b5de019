"""Live authorization in the hub: a room whose access narrowed is re-checked once per
process before its next event reaches anyone."""

from __future__ import annotations

import logging

from chat.db import in_thread
from chat.selectors import room_access_members
from realtime.subscriber import Subscriber

__all__ = ["RoomAccess"]

logger = logging.getLogger(__name__)


class RoomAccess:
    """Per room, an access version at which every local subscriber's access is known
    good (the lowest of theirs): an event published at a higher one is held until the
    subscribers are re-checked, and those who lost access are cut off first."""

    def __init__(self, rooms: dict[str, set[Subscriber]]) -> None:
        # The hub's subscribers by room (shared, not copied).
        self._rooms = rooms
        self._verified: dict[str, int] = {}
        # Per room, a version a notice or an event announced but a check failed to
        # confirm: every event of the room is held to it until a check passes (an
        # ephemeral event carries no version of its own to trigger one).
        self._pending: dict[str, int] = {}

    def verified(self, room: str) -> int:
        return self._verified.get(room, 0)

    def pending(self, room: str) -> int:
        return self._pending.get(room, 0)

    def note(self, subscriber: Subscriber) -> None:
        """A subscriber joined, checked at its ``access_version``."""
        verified = self._verified.get(subscriber.room)
        if verified is None or subscriber.access_version < verified:
            self._verified[subscriber.room] = subscriber.access_version

    def forget(self, room: str) -> None:
        self._verified.pop(room, None)
        self._pending.pop(room, None)

    async def ensure(self, room: str, version: int) -> bool:
        """Make sure every local subscriber of ``room`` may read it at ``version``;
        end the subscriptions of those who may not. False if that could not be checked:
        durable subscribers then read the room from the database, which checks access,
        and every event of the room is held until a check at ``version`` passes."""
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
            self._pending[room] = max(version, self._pending.get(room, 0))
            for subscriber in subscribers:
                subscriber.direct = None
                subscriber.nudge()
            return False
        if version >= self._pending.get(room, 0):
            self._pending.pop(room, None)
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
