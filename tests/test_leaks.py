"""Subscriptions leave nothing behind however they end: no hub subscriber, no Redis
subscription, the gauge back where it was."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import pytest
from channels.layers import get_channel_layer
from prometheus_client import REGISTRY

import chat.events
import internals.fastpaths.subscription
import realtime.streams
import schema.subscriptions
from chat.db import in_thread
from chat.events import MESSAGE_KIND
from realtime.hub import get_hub
from tests import factories
from tests.conftest import GraphQLSocket, wait_for
from tests.schema.test_subscriptions import SUBSCRIPTION
from tests.servers import RedisServer
from tests.test_scale_out import group_subscribers

pytestmark = pytest.mark.django_db(transaction=True)

# Not the fast path (internals/fastpaths/subscription.py): a fragment at the root.
SUBSCRIPTION_STRAWBERRY = """
subscription Room($room: String!, $afterSeq: Int) { ...Added }
fragment Added on Subscription { messageAdded(room: $room, afterSeq: $afterSeq) { seq } }
"""


def active() -> float:
    value = REGISTRY.get_sample_value("chat_subscriptions_active")
    assert value is not None
    return value


def operations_running() -> list[asyncio.Task[Any]]:
    """Strawberry's per-operation tasks (both protocols) still running."""
    return [
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "").endswith(
            ("run_operation", "handle_async_results")
        )
    ]


class Gate:
    """Holds a subscription's task at one await point until the test opens it, so that a
    ``complete`` or a disconnect cancels the task exactly there."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._open = asyncio.Event()
        self._thread_open = threading.Event()
        self.on_open: list[Callable[[], None]] = []

    def open(self) -> None:
        self._open.set()
        self._thread_open.set()
        for callback in self.on_open:
            callback()

    def in_orm_thread(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func`` blocks its ORM thread at the gate (a slow query)."""

        def gated(*args: Any, **kwargs: Any) -> Any:
            self._loop.call_soon_threadsafe(self.reached.set)
            assert self._thread_open.wait(10)
            return func(*args, **kwargs)

        return gated

    def in_thread(self, gated: Callable[..., Any], *, swallow: bool) -> Callable[..., Any]:
        # ``gated`` is the function handed to in_thread (it may call the gated one).
        """chat.db.in_thread where, with ``swallow``, a cancellation that arrives while
        ``gated`` runs is swallowed and the result returned (as Python 3.11's
        asyncio.wait_for does when both happen in the same loop pass)."""

        def wrap(func: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
            run = in_thread(func)

            async def call(*args: Any, **kwargs: Any) -> Any:
                if func is not gated:
                    return await run(*args, **kwargs)
                future = asyncio.ensure_future(run(*args, **kwargs))
                try:
                    return await asyncio.shield(future)
                except asyncio.CancelledError:
                    if not swallow:
                        raise
                    return await future

            return call

        return wrap

    def around(
        self, func: Callable[..., Awaitable[Any]], *, when: str
    ) -> Callable[..., Awaitable[Any]]:
        """``func`` waits at the gate before it starts, or once it has done its work
        (``after``), or does its work there and swallows the cancellation (``swallows``)."""

        async def gated(*args: Any, **kwargs: Any) -> Any:
            result = await func(*args, **kwargs) if when == "after" else None
            self.reached.set()
            try:
                await self._open.wait()
            except asyncio.CancelledError:
                if when != "swallows":
                    raise
                await self._open.wait()
            return result if when == "after" else await func(*args, **kwargs)

        return gated


def gate_at(point: str, monkeypatch: pytest.MonkeyPatch) -> Gate:
    gate = Gate()
    swallow = point.endswith("swallows")
    if point.startswith("access check"):
        for module in (internals.fastpaths.subscription, schema.subscriptions):
            gated = gate.in_orm_thread(module.room_subscribe_check)
            monkeypatch.setattr(module, "room_subscribe_check", gated)
            monkeypatch.setattr(module, "in_thread", gate.in_thread(gated, swallow=swallow))
    elif point.startswith(("start position", "replay")):
        # The message kind's reads (chat.events), as realtime.streams runs them.
        name, called = {
            "start position": ("room_last_seq", MESSAGE_KIND.last_position),
            "replay": ("room_message_list", MESSAGE_KIND.history),
        }[point.removesuffix(" swallows")]
        monkeypatch.setattr(chat.events, name, gate.in_orm_thread(getattr(chat.events, name)))
        assert called is not None
        monkeypatch.setattr(realtime.streams, "in_thread", gate.in_thread(called, swallow=swallow))
    elif point == "hub lock":
        hub = get_hub()
        held = hub._lock

        class GatedLock(asyncio.Lock):
            async def acquire(self) -> Literal[True]:
                if held.locked():
                    gate.reached.set()
                return await held.acquire()

            def release(self) -> None:
                held.release()

        monkeypatch.setattr(hub, "_lock", GatedLock())
        gate.on_open.append(held.release)
        asyncio.get_running_loop().create_task(held.acquire())
    else:
        method, when = point.split()
        layer = get_channel_layer()
        assert layer is not None
        gated = gate.around(getattr(layer, method), when=when)
        monkeypatch.setattr(layer, method, gated)
    return gate


# Every await on the way from the subscribe frame to waiting for live events; at the
# ones marked "swallows" the awaited call swallows the cancellation and returns.
POINTS = [
    "access check",
    "access check swallows",
    "start position",
    "start position swallows",
    "hub lock",
    "new_channel before",
    "new_channel after",
    "new_channel swallows",
    "group_add before",
    "group_add after",
    "group_add swallows",
    "replay",
    "replay swallows",
    "live",
]
PATHS = {
    "fast path": ("graphql-transport-ws", SUBSCRIPTION),
    "strawberry": ("graphql-transport-ws", SUBSCRIPTION_STRAWBERRY),
    "legacy": ("graphql-ws", SUBSCRIPTION),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("ending", ["complete", "disconnect"])
@pytest.mark.parametrize("point", POINTS)
async def test_a_subscription_cancelled_at_any_await_point_leaves_nothing(
    point: str, ending: str, path: str, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    protocol, query = PATHS[path]
    room = f"new-{abs(hash((point, ending, path)))}"
    before = active()
    gate = None if point == "live" else gate_at(point, monkeypatch)
    socket = GraphQLSocket(protocol)
    assert await socket.connect() == {"type": "connection_ack"}
    # afterSeq makes the stream replay from the database (and skips the start position).
    after_seq = 0 if point == "replay" else None
    await socket.subscribe("1", query, {"room": room, "afterSeq": after_seq})
    try:
        if gate is None:
            await wait_for(lambda: get_hub().rooms == {room: 1})
        else:
            await asyncio.wait_for(gate.reached.wait(), 10)
        (operation,) = operations_running()
        if ending == "complete":
            stop = "complete" if protocol != "graphql-ws" else "stop"
            await socket.send({"id": "1", "type": stop})
            closing = None
        else:
            closing = asyncio.ensure_future(socket.close())
        # The cancellation reaches the operation while it waits at the gate.
        await wait_for(lambda: operation.cancelling() > 0)
    finally:
        if gate is not None:
            gate.open()
    if closing is None:
        await socket.close()
    else:
        await closing
    # Every operation has ended (one that swallowed its cancellation would wait for
    # events forever), and left the room.
    await wait_for(lambda: not operations_running())
    assert get_hub().rooms == {}
    assert active() == before
    await wait_for(lambda: group_subscribers(redis_server, room) == 0)


async def test_subscribe_and_complete_at_once_on_new_rooms_leaves_nothing(
    redis_server: RedisServer,
) -> None:
    before = active()
    rooms = [f"fresh-{n}" for n in range(5)]
    for room in rooms:
        socket = GraphQLSocket()
        assert await socket.connect() == {"type": "connection_ack"}
        await socket.subscribe("1", SUBSCRIPTION, {"room": room})
        await socket.send({"id": "1", "type": "complete"})
        await socket.close()
    await wait_for(lambda: [group_subscribers(redis_server, r) for r in rooms] == [0] * 5)
    assert active() == before


@pytest.mark.parametrize("ending", ["complete", "disconnect"])
async def test_an_inbox_and_signals_leave_nothing(
    ending: str, redis_server: RedisServer, alice: factories.Member, bob: factories.Member
) -> None:
    from tests.conftest import GraphQLHttp
    from tests.schema.test_inbox import INBOX, activity, rooms_joined
    from tests.schema.test_signals import SEND, SIGNALS, presence

    await rooms_joined(alice, bob, rooms=("lobby", "hall"))
    before = active()
    socket = GraphQLSocket()
    assert await socket.connect({"authToken": bob.token}) == {"type": "connection_ack"}
    await socket.subscribe("i", INBOX)
    await socket.subscribe("s", SIGNALS, {"room": "lobby"})
    frames = [await socket.receive()]
    await GraphQLHttp(alice.token)(SEND, {"room": "hall", "text": "live"})
    frames.append(await socket.receive())
    by_id = {frame["id"]: frame["payload"]["data"] for frame in frames}
    assert by_id == {
        "s": {"roomSignals": presence("bob", True)},
        "i": {"inbox": activity("hall", 1, "live", 1)},
    }
    groups = ["lobby", "hall", f"user.{bob.user.pk}"]
    assert [group_subscribers(redis_server, g) for g in groups] == [1, 1, 1]
    if ending == "complete":
        for op in ("i", "s"):
            await socket.send({"id": op, "type": "complete"})
    else:
        await socket.close()
    await wait_for(lambda: [group_subscribers(redis_server, g) for g in groups] == [0, 0, 0])
    assert get_hub().rooms == {}
    assert active() == before
    if ending == "complete":
        await socket.close()
