"""A subscriber whose selection needs execution never holds up anyone else's delivery:
the hub hands events out in one task, so it must not run (or wait for) an execution."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

import internals.fastpaths.subscription
from chat import services
from realtime.hub import get_hub
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]

# Renderable without the executor (internals/fastpaths/render.py): the hub's fast path.
FAST = "subscription($room: String!) { messageAdded(room: $room) { seq text } }"
# `members` reads the database: executed for every event.
SLOW = 'subscription { messageAdded(room: "a") { seq text room { members { username } } } }'
SEND = "mutation($room: String!, $text: String!) { sendMessage(room: $room, text: $text) { seq } }"


async def test_a_subscriber_being_executed_holds_up_no_one(
    sockets: list[GraphQLSocket], alice: factories.Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No resync while the test runs: it would deliver what a stuck hub holds up, seconds
    # later, from the database.
    monkeypatch.setitem(settings.CHAT, "RESYNC_SECONDS", 3600)
    gate, holding = asyncio.Event(), asyncio.Event()
    held: list[int] = []
    execute = internals.fastpaths.subscription._execute

    async def gated(plan: Any, schema_: Any, message: Any, context: Any) -> str:
        held.append(message.seq)
        holding.set()
        await gate.wait()
        return await execute(plan, schema_, message, context)

    monkeypatch.setattr(internals.fastpaths.subscription, "_execute", gated)

    async def subscriber(query: str, variables: dict[str, Any]) -> GraphQLSocket:
        socket = GraphQLSocket()
        sockets.append(socket)
        assert await socket.connect() == {"type": "connection_ack"}
        await socket.subscribe("s", query, variables)
        return socket

    def caught_up() -> bool:
        # Registered and replayed: the hub now hands each of them events directly.
        rooms = get_hub()._rooms
        subscribers = [subscriber for room in rooms.values() for subscriber in room]
        return len(subscribers) == 3 and all(s.direct is not None for s in subscribers)

    await sync_to_async(services.room_join)(name="a", user=alice.user)
    slow = await subscriber(SLOW, {})
    same_room = await subscriber(FAST, {"room": "a"})
    other_room = await subscriber(FAST, {"room": "b"})
    await wait_for(caught_up)

    post = GraphQLHttp(alice.token)
    for room, text in (("a", "a1"), ("b", "b1"), ("a", "a2")):
        await post(SEND, {"room": room, "text": text})

    def event(seq: int, text: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        fields = {"seq": seq, "text": text, **(extra or {})}
        return {"id": "s", "type": "next", "payload": {"data": {"messageAdded": fields}}}

    try:
        # While the slow subscriber's execution is held, the others get every event.
        assert await same_room.receive() == event(1, "a1")
        assert await other_room.receive() == event(1, "b1")
        assert await same_room.receive() == event(2, "a2")
        await asyncio.wait_for(holding.wait(), timeout=10)
        assert held == [1]
        await slow.assert_silent()
    finally:
        gate.set()
    members = {"room": {"members": [{"username": "alice"}]}}
    assert await slow.receive() == event(1, "a1", members)
    assert await slow.receive() == event(2, "a2", members)
    assert held == [1, 2]
    for socket in (slow, same_room, other_room):
        await socket.assert_silent()
