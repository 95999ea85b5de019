"""A process's share of presence and typing (the hub owns one; the state itself is in
realtime.ephemeral).

Presence: the hub tells this which users hold subscriptions of a presence kind here. A
user's first subscription to a room here holds them online in the store; their last one
ending releases the hold after a grace period (a client reconnecting within it, here or
anywhere, makes no offline/online pair). Holds are renewed while held; a killed process's
lapse, and the processes serving the room's signals reap them. Whoever the store tells
that a user came online or went offline publishes the PresenceChanged.

Typing: every ``setTyping`` is published as a delta (who, until when). Each process with
``roomSignals`` subscribers in a room mirrors who types there, expires them itself at
their deadline, and sends its subscribers the whole state (TypingChanged) only when the
set of typing users changed, at most once per ``SIGNAL_COALESCE_MS``: 100 typers renewing
every 2 s cost each subscriber nothing, and their starts and stops at most a few frames a
second.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from chat.events import SIGNAL_KIND, Event
from chat.models import model_restore
from chat.signalling import SIGNAL_EVENT_TYPE, TYPING_SHOWN, RoomSignalPayload, TypingChanged
from realtime.ephemeral import get_store
from realtime.publisher import event_publish, events_publish
from realtime.subscriber import Envelope, Subscriber, deliver

__all__ = ["Signals", "presence_event", "presence_reap", "typing_set", "user_restore"]

logger = logging.getLogger(__name__)

Key = tuple[str, int]  # (room, user id)


def user_restore(user_id: int, username: str) -> Any:
    """A user with id and username only, as events restore them."""
    model = get_user_model()
    return model_restore(model, model.objects.db, {"id": user_id, "username": username})


def presence_event(room: str, user_id: int, username: str, *, online: bool) -> dict[str, Any]:
    signal: RoomSignalPayload = {
        "kind": "presence",
        "user_id": user_id,
        "username": username,
        "online": online,
    }
    return {"type": SIGNAL_EVENT_TYPE, "room": room, "signal": signal}


@dataclass
class _Typing:
    """One room's typing users as this process knows them, and what it last sent."""

    # user id -> (username, until): in order of starting to type.
    users: dict[int, tuple[str, float]] = field(default_factory=dict)
    sent: tuple[int, ...] = ()
    sent_count: int = 0
    # Loop time at which the last flush had reached every subscriber, and whether one is
    # being sent: the next waits SIGNAL_COALESCE_MS after the end of the one before, so
    # that a subscriber late in one flush and early in the next still gets them that far
    # apart.
    last_flush: float = -1e9
    sending: bool = False
    flush: asyncio.TimerHandle | None = None
    expiry: asyncio.TimerHandle | None = None
    loaded: bool = False
    # Subscribers that joined while the state was loading: they get it once it is.
    waiting: list[Subscriber] = field(default_factory=list)

    def value(self) -> TypingChanged:
        shown = list(self.users.items())[:TYPING_SHOWN]
        return TypingChanged(
            users=tuple(user_restore(uid, name) for uid, (name, _) in shown),
            count=len(self.users),
        )


class Signals:
    def __init__(self, rooms: dict[str, set[Subscriber]]) -> None:
        # The hub's subscribers by room (shared, not copied).
        self._rooms = rooms
        self._typing: dict[str, _Typing] = {}
        # Presence: local subscriptions per (room, user), their usernames, and pending
        # releases (after the grace period).
        self._holds: dict[Key, int] = {}
        self._names: dict[Key, str] = {}
        self._releases: dict[Key, asyncio.TimerHandle] = {}
        self._ops: asyncio.Queue[tuple[str, Key]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    # -- presence ---------------------------------------------------------------------

    def joined(self, subscriber: Subscriber) -> None:
        """A subscriber was registered with the hub."""
        if subscriber.kind is SIGNAL_KIND:
            self._typing_watch(subscriber)
        if not subscriber.kind.presence or subscriber.user_id is None:
            return
        key = (subscriber.room, subscriber.user_id)
        held = self._holds.get(key, 0)
        self._holds[key] = held + 1
        if held:
            return
        self._names[key] = subscriber.username or ""
        pending = self._releases.pop(key, None)
        if pending is not None:
            # Back within the grace period: the store never learnt they left.
            pending.cancel()
            return
        self._start()
        self._ops.put_nowait(("hold", key))

    def left(self, subscriber: Subscriber) -> None:
        """A subscriber was unregistered."""
        if subscriber.kind is SIGNAL_KIND:
            self._typing_unwatch(subscriber.room)
        if not subscriber.kind.presence or subscriber.user_id is None:
            return
        key = (subscriber.room, subscriber.user_id)
        held = self._holds.get(key, 0) - 1
        if held > 0:
            self._holds[key] = held
            return
        self._holds.pop(key, None)
        loop = asyncio.get_running_loop()
        self._releases[key] = loop.call_later(
            settings.CHAT["PRESENCE_GRACE_SECONDS"], self._release_due, key
        )

    def _release_due(self, key: Key) -> None:
        if self._releases.pop(key, None) is not None and key not in self._holds:
            self._ops.put_nowait(("release", key))

    def _start(self) -> None:
        if self._tasks:
            return
        for run, name in ((self._work, "presence"), (self._renew, "presence-renew")):
            self._tasks.append(
                asyncio.create_task(
                    _forever(run, name), name=f"chat-{name}", context=contextvars.Context()
                )
            )

    async def _work(self) -> None:
        """Apply holds and releases in order, the holds of a room together."""
        op, key = await self._ops.get()
        batch = [(op, key)]
        while not self._ops.empty():
            batch.append(self._ops.get_nowait())
        holds: dict[str, list[int]] = {}
        for op, (room, user_id) in batch:
            if op == "hold":
                holds.setdefault(room, []).append(user_id)
                continue
            await self._hold(room, holds.pop(room, []))
            if (room, user_id) in self._holds:
                continue  # back since the release was queued
            username = await get_store().presence_release(room, user_id)
            self._names.pop((room, user_id), None)
            if username is not None:
                await event_publish(presence_event(room, user_id, username, online=False))
        for room, user_ids in holds.items():
            await self._hold(room, user_ids)

    async def _hold(self, room: str, user_ids: list[int]) -> None:
        members = [
            (uid, self._names.get((room, uid), ""))
            for uid in user_ids
            if (room, uid) in self._holds
        ]
        if not members:
            return
        now = time.time()
        deadline = now + settings.CHAT["PRESENCE_TTL_SECONDS"]
        came = await get_store().presence_hold(room, members, deadline=deadline, now=now)
        names = dict(members)
        # One round trip for a burst of arrivals (where the layer allows it).
        await events_publish([presence_event(room, uid, names[uid], online=True) for uid in came])

    async def _renew(self) -> None:
        """Renew this process's holds; reap lapsed ones in the rooms it serves signals.
        All in one pipeline (per Redis shard)."""
        await asyncio.sleep(settings.CHAT["PRESENCE_TTL_SECONDS"] / 3)
        holds: dict[str, list[tuple[int, str]]] = {}
        for room, user_id in self._holds:
            holds.setdefault(room, []).append((user_id, self._names.get((room, user_id), "")))
        now = time.time()
        deadline = now + settings.CHAT["PRESENCE_TTL_SECONDS"]
        came, gone = await get_store().presence_renew(
            holds, list(self._typing), deadline=deadline, now=now
        )
        names = {(room, uid): name for room, members in holds.items() for uid, name in members}
        events: list[Event] = [
            presence_event(room, uid, names[(room, uid)], online=True)
            for room, uids in came.items()
            for uid in uids
        ]
        events += [
            presence_event(room, uid, name, online=False)
            for room, members in gone.items()
            for uid, name in members
        ]
        await events_publish(events)

    # -- typing -----------------------------------------------------------------------

    def _typing_watch(self, subscriber: Subscriber) -> None:
        state = self._typing.get(subscriber.room)
        if state is None:
            state = self._typing[subscriber.room] = _Typing()
            state.waiting.append(subscriber)
            asyncio.get_running_loop().create_task(self._typing_load(subscriber.room, state))
            return
        if not state.loaded:
            state.waiting.append(subscriber)
        elif state.users:
            subscriber.offer(Envelope(SIGNAL_KIND, subscriber.room, None, state.value()))

    def _typing_unwatch(self, room: str) -> None:
        subscribers = self._rooms.get(room, ())
        if any(s.kind is SIGNAL_KIND for s in subscribers):
            return
        state = self._typing.pop(room, None)
        if state is not None:
            for handle in (state.flush, state.expiry):
                if handle is not None:
                    handle.cancel()

    async def _typing_load(self, room: str, state: _Typing) -> None:
        try:
            stored = await get_store().typing_get(room, now=time.time())
        except Exception:
            logger.exception("could not read who types in room %s", room)
            stored = {}
        for user_id, (username, until) in stored.items():
            if user_id not in state.users:
                state.users[user_id] = (username, until)
        state.loaded = True
        waiting, state.waiting = state.waiting, []
        self._typing_expire(room, state)
        if state.users:
            value = state.value()
            state.sent, state.sent_count = tuple(state.users)[:TYPING_SHOWN], len(state.users)
            for subscriber in waiting:
                if not subscriber.revoked:
                    subscriber.offer(Envelope(SIGNAL_KIND, room, None, value))

    def absorb(self, room: str, payload: RoomSignalPayload) -> None:
        """A typing delta from any process (or a post, which ends its author's typing)."""
        state = self._typing.get(room)
        if state is None:
            return
        user_id, until = payload["user_id"], payload.get("until", 0)
        if until > time.time():
            state.users[user_id] = (payload["username"], until)
        else:
            state.users.pop(user_id, None)
        self._typing_expire(room, state)
        self._typing_changed(room, state)

    def _typing_expire(self, room: str, state: _Typing) -> None:
        """Drop who stopped renewing; arm a timer for the next deadline."""
        now = time.time()
        for user_id, (_, until) in list(state.users.items()):
            if until <= now:
                del state.users[user_id]
        if state.expiry is not None:
            state.expiry.cancel()
            state.expiry = None
        if state.users:
            loop = asyncio.get_running_loop()
            delay = min(until for _, until in state.users.values()) - now
            state.expiry = loop.call_later(max(delay, 0.0), self._typing_expired, room, state)

    def _typing_expired(self, room: str, state: _Typing) -> None:
        state.expiry = None
        self._typing_expire(room, state)
        self._typing_changed(room, state)

    def _typing_changed(self, room: str, state: _Typing) -> None:
        if not state.loaded or state.flush is not None or state.sending:
            return  # the pending (or current) flush sends the state as it is then
        if tuple(state.users)[:TYPING_SHOWN] == state.sent and len(state.users) == state.sent_count:
            return
        loop = asyncio.get_running_loop()
        wait = state.last_flush + settings.CHAT["SIGNAL_COALESCE_MS"] / 1000 - loop.time()
        state.flush = loop.call_later(max(wait, 0.0), self._typing_flush, room, state)

    def _typing_flush(self, room: str, state: _Typing) -> None:
        state.flush = None
        shown = tuple(state.users)[:TYPING_SHOWN]
        if shown == state.sent and len(state.users) == state.sent_count:
            return
        state.sent, state.sent_count = shown, len(state.users)
        state.sending = True
        envelope = Envelope(SIGNAL_KIND, room, None, state.value())
        asyncio.get_running_loop().create_task(self._send(room, state, envelope))

    async def _send(self, room: str, state: _Typing, envelope: Envelope) -> None:
        try:
            for subscriber in tuple(self._rooms.get(room, ())):
                if subscriber.kind is SIGNAL_KIND and not subscriber.revoked:
                    await deliver(subscriber, envelope)
        finally:
            state.sending = False
            state.last_flush = asyncio.get_running_loop().time()
            # What changed meanwhile goes out one period from now.
            if self._typing.get(room) is state:
                self._typing_changed(room, state)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def presence_reap(room: str) -> int:
    """Reap the room's lapsed holds, announce who went offline; the online count."""
    count, gone = await get_store().presence_reap(room, now=time.time())
    await events_publish([presence_event(room, uid, name, online=False) for uid, name in gone])
    return count


async def _forever(run: Callable[[], Awaitable[None]], name: str) -> None:
    while True:
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s failed; retrying", name)
            await asyncio.sleep(1)


async def typing_set(*, room: str, user_id: int, username: str, typing: bool) -> None:
    """Record that the user types in ``room`` (for CHAT_TYPING_SECONDS) or stopped, and
    tell every process serving the room's signals."""
    until = time.time() + settings.CHAT["TYPING_SECONDS"] if typing else 0.0
    try:
        await get_store().typing_set(room, (user_id, username), until)
    except Exception:
        # Only what a process starting to serve the room reads first; the publish below
        # (which fails alone too, logged) is what subscribers see.
        logger.warning("could not store typing in room %s", room, exc_info=True)
    signal: RoomSignalPayload = {
        "kind": "typing",
        "user_id": user_id,
        "username": username,
        "until": until,
    }
    await event_publish({"type": SIGNAL_EVENT_TYPE, "room": room, "signal": signal})
