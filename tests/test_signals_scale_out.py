"""Presence, typing and the inbox across daphne processes sharing Redis and PostgreSQL:
what one process learns, every process shows; a killed process's users go offline."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import websockets
from django.db import connection
from websockets.typing import Subprotocol

from tests import factories
from tests.daphne import Daphne, daphne_env, daphnes_running, start_daphne
from tests.schema.test_inbox import INBOX, activity
from tests.schema.test_signals import ONLINE, SEND, SIGNALS, TYPING, presence, typing
from tests.servers import PostgresServer, RedisServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAST = {
    "CHAT_PRESENCE_TTL_SECONDS": "1.5",
    "CHAT_PRESENCE_GRACE_SECONDS": "1",
    "CHAT_KEEPALIVE_SECONDS": "0",
    "CHAT_MAX_SOCKETS_PER_IP": "0",
}
MESSAGES = "subscription($room: String!) { messageAdded(room: $room) { seq } }"


@pytest.fixture(scope="module")
def daphnes(
    django_db_setup: None, redis_server: RedisServer, postgres_server: PostgresServer
) -> Iterator[tuple[Daphne, Daphne]]:
    with daphnes_running(2, redis_server, postgres_server, **FAST) as (a, b):
        yield a, b


class Socket:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def next(self, op: str = "1", timeout: float = 10) -> dict[str, Any]:
        frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        assert frame["type"] == "next" and frame["id"] == op, frame
        assert "errors" not in frame["payload"], frame
        (value,) = frame["payload"]["data"].values()
        return value  # type: ignore[no-any-return]

    async def silent(self, seconds: float) -> None:
        with pytest.raises(TimeoutError):
            frame = await asyncio.wait_for(self.ws.recv(), seconds)
            raise AssertionError(f"unexpected {frame}")


@asynccontextmanager
async def subscribed(
    daphne: Daphne, token: str, query: str, variables: dict[str, Any] | None = None
) -> AsyncIterator[Socket]:
    async with websockets.connect(
        daphne.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        payload = {"query": query, "variables": variables or {}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        yield Socket(ws)


async def post(daphne: Daphne, query: str, variables: dict[str, Any], token: str) -> Any:
    return await asyncio.to_thread(daphne.post, query, variables, token)


async def online(daphne: Daphne, token: str) -> dict[str, Any]:
    return (await post(daphne, ONLINE, {"room": "lobby"}, token))["data"]["room"]  # type: ignore[no-any-return]


async def test_signals_and_inbox_cross_processes(
    daphnes: tuple[Daphne, Daphne], alice: factories.Member, bob: factories.Member
) -> None:
    a, b = daphnes
    room = {"room": "lobby"}
    await post(a, SEND, {"room": "lobby", "text": "first"}, alice.token)
    await post(a, 'mutation { joinRoom(room: "lobby") { name } }', {}, bob.token)
    async with subscribed(a, bob.token, SIGNALS, room) as watcher:
        assert await watcher.next() == presence("bob", True)
        async with subscribed(a, bob.token, INBOX) as inbox:
            async with subscribed(b, alice.token, MESSAGES, room):
                assert await watcher.next() == presence("alice", True)
                for daphne in (a, b):
                    assert await online(daphne, bob.token) == {
                        "onlineCount": 2,
                        "online": [{"username": "bob"}, {"username": "alice"}],
                    }
                await post(b, TYPING, {"room": "lobby", "t": True}, alice.token)
                assert await watcher.next() == typing("alice")
                await post(b, SEND, {"room": "lobby", "text": "across"}, alice.token)
                assert await watcher.next() == typing()
                assert await inbox.next() == activity("lobby", 2, "across", 2)
            assert await watcher.next() == presence("alice", False)
            for daphne in (a, b):
                assert (await online(daphne, bob.token))["onlineCount"] == 1


async def test_reconnecting_to_another_process_within_the_grace_period_is_no_flap(
    daphnes: tuple[Daphne, Daphne], alice: factories.Member, bob: factories.Member
) -> None:
    a, b = daphnes
    room = {"room": "lobby"}
    await post(a, SEND, {"room": "lobby", "text": "first"}, alice.token)
    async with subscribed(a, bob.token, SIGNALS, room) as watcher:
        assert await watcher.next() == presence("bob", True)
        async with subscribed(a, alice.token, MESSAGES, room):
            assert await watcher.next() == presence("alice", True)
        async with subscribed(b, alice.token, MESSAGES, room):
            # Back (elsewhere) within the grace period: no offline, no second online.
            await watcher.silent(1.5)
            assert (await online(a, bob.token))["onlineCount"] == 2
        assert await watcher.next() == presence("alice", False)


async def test_a_killed_process_has_its_users_shown_offline(
    daphnes: tuple[Daphne, Daphne],
    redis_server: RedisServer,
    postgres_server: PostgresServer,
    alice: factories.Member,
    bob: factories.Member,
) -> None:
    a, b = daphnes
    room = {"room": "lobby"}
    await post(a, SEND, {"room": "lobby", "text": "first"}, alice.token)
    env = daphne_env(redis_server, postgres_server, connection.settings_dict["NAME"], **FAST)
    doomed = start_daphne(env)
    try:
        async with subscribed(a, bob.token, SIGNALS, room) as watcher:
            assert await watcher.next() == presence("bob", True)
            async with subscribed(doomed, alice.token, MESSAGES, room):
                assert await watcher.next() == presence("alice", True)
                killed = time.monotonic()
                os.kill(doomed.process.pid, signal.SIGKILL)
                doomed.process.wait(timeout=10)
                # Within the TTL and one renewal period (of 1.5 s here; 18 s by default).
                assert await watcher.next(timeout=10) == presence("alice", False)
                assert time.monotonic() - killed < 1.5 + 0.5 + 1.5
            for daphne in (a, b):
                assert (await online(daphne, bob.token))["onlineCount"] == 1
    finally:
        if doomed.process.poll() is None:
            doomed.process.kill()
