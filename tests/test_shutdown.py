"""SIGTERM on a real daphne (project/shutdown.py, realtime.draining): websockets close with
1012, a post in its database call is answered and published by its own process, and the
process exits within CHAT_SHUTDOWN_SECONDS."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import websockets
from asgiref.sync import sync_to_async
from django.db import connection
from websockets.typing import Subprotocol

from chat.models import Message
from realtime import draining
from tests import factories
from tests.conftest import GraphQLHttp, wait_for
from tests.daphne import Daphne, daphne_env, start_daphne
from tests.servers import PostgresServer, RedisServer

pytestmark = pytest.mark.django_db(transaction=True)

SHUTDOWN_SECONDS = 6
WATCH = 'subscription { messageAdded(room: "lobby", afterSeq: 0) { seq text } }'
SEND = """mutation Send($room: String!, $text: String!, $clientId: String) {
  sendMessage(room: $room, text: $text, clientId: $clientId) { seq text }
}"""


@pytest.fixture
def env(
    django_db_setup: None, redis_server: RedisServer, postgres_server: PostgresServer
) -> dict[str, str]:
    return daphne_env(
        redis_server,
        postgres_server,
        connection.settings_dict["NAME"],
        CHAT_SHUTDOWN_SECONDS=str(SHUTDOWN_SECONDS),
        # A missed event would only arrive by the periodic resync: not within a test.
        CHAT_RESYNC_SECONDS="3600",
        # No server pings among the frames the tests read.
        CHAT_KEEPALIVE_SECONDS="0",
    )


@pytest.fixture
def daphnes(env: dict[str, str]) -> Iterator[list[Daphne]]:
    started: list[Daphne] = []
    yield started
    for daphne in started:
        if daphne.process.poll() is None:
            daphne.process.kill()
            daphne.process.wait()


def exit_code(daphne: Daphne) -> int:
    """Wait for the process to exit (up to CHAT_SHUTDOWN_SECONDS and a second for the
    interpreter to start its exit) and return its status: 0 is a graceful stop, 1 the
    watchdog's."""
    try:
        return daphne.process.wait(timeout=SHUTDOWN_SECONDS + 1)
    except subprocess.TimeoutExpired:
        daphne.process.kill()
        raise AssertionError("daphne did not exit within CHAT_SHUTDOWN_SECONDS") from None


async def subscribed(url: str, query: str = WATCH) -> Any:
    ws = await websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")])
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert json.loads(await ws.recv()) == {"type": "connection_ack"}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
    return ws


async def close_code(ws: Any) -> int | None:
    """Read until the socket closes; the close frame's code (None: no close frame)."""
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as closed:
        return None if closed.rcvd is None else closed.rcvd.code


def post(daphne: Daphne, token: str, variables: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        daphne.http_url,
        data=json.dumps({"query": SEND, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("disabled", "code"),
    [
        ("", 1012),
        # The hook's fallback: autobahn's public sendClose allows 1000, not 1012.
        ("autobahn.close_code", 1000),
    ],
)
async def test_sigterm_closes_every_websocket_with_1012_and_exits(
    env: dict[str, str], daphnes: list[Daphne], disabled: str, code: int
) -> None:
    env = {**env, "CHAT_DISABLE_HOOKS": disabled}
    daphnes.append(daphne := await asyncio.to_thread(start_daphne, env))
    sockets = [await subscribed(daphne.ws_url) for _ in range(3)]
    # Each subscription is running once its socket has answered a ping after it.
    for ws in sockets:
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await ws.recv()) == {"type": "pong"}
    daphne.process.send_signal(signal.SIGTERM)
    assert await asyncio.gather(*(close_code(ws) for ws in sockets)) == [code] * 3
    assert await asyncio.to_thread(exit_code, daphne) == 0


def _lock_waiters(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.slow
async def test_a_post_in_its_database_call_at_sigterm_is_answered_and_published(
    env: dict[str, str], daphnes: list[Daphne], alice: factories.Member
) -> None:
    """The SIGTERM lands while the post waits for a table lock (held by another
    connection on purpose); the lock is released once the process has stopped accepting."""
    daphnes.append(stopping := await asyncio.to_thread(start_daphne, env))
    daphnes.append(other := await asyncio.to_thread(start_daphne, env))
    # Room "lobby" exists, and a subscriber on the other process follows it.
    await sync_to_async(factories.messages)(room="lobby", author=alice.user, count=1)
    watcher = await subscribed(other.ws_url)
    assert json.loads(await watcher.recv())["payload"] == {
        "data": {"messageAdded": {"seq": 1, "text": "message 1"}}
    }
    dsn = env["DATABASE_URL"]
    holder = await psycopg.AsyncConnection.connect(dsn)
    answer: list[tuple[int, Any]] = []
    try:
        await holder.execute("LOCK TABLE chat_message IN SHARE ROW EXCLUSIVE MODE")
        variables = {"room": "lobby", "text": "in flight", "clientId": "k-1"}
        poster = threading.Thread(
            target=lambda: answer.append(post(stopping, alice.token, variables))
        )
        poster.start()
        # The post is in its database call, waiting for the lock.
        await wait_for(lambda: _lock_waiters(dsn) > 0, timeout=10)
        stopping.process.send_signal(signal.SIGTERM)
        # The stop has begun: the process no longer accepts connections.
        await wait_for(stopping.refuses_connections)
        await holder.commit()
        await asyncio.to_thread(poster.join, 30)
    finally:
        await holder.close()
    assert answer == [(200, {"data": {"sendMessage": {"seq": 2, "text": "in flight"}}})]
    # Published by the stopping process itself (the other's resync is an hour away).
    frame = json.loads(await asyncio.wait_for(watcher.recv(), 10))
    assert frame["payload"] == {"data": {"messageAdded": {"seq": 2, "text": "in flight"}}}
    await watcher.close()
    assert await asyncio.to_thread(exit_code, stopping) == 0
    stored = await sync_to_async(
        lambda: list(Message.objects.order_by("seq").values_list("seq", "text", "client_id"))
    )()
    assert stored == [(1, "message 1", None), (2, "in flight", "k-1")]


@pytest.mark.slow
async def test_a_post_still_waiting_at_the_deadline_is_retried_safely_elsewhere(
    env: dict[str, str], daphnes: list[Daphne], alice: factories.Member
) -> None:
    """The lock outlasts CHAT_SHUTDOWN_SECONDS: the watchdog ends the process on time (exit
    status 1), the client gets no answer, and its retry with the same clientId on another
    process stores the post once, whichever of the two inserts runs first."""
    daphnes.append(stopping := await asyncio.to_thread(start_daphne, env))
    daphnes.append(other := await asyncio.to_thread(start_daphne, env))
    await sync_to_async(factories.messages)(room="lobby", author=alice.user, count=1)
    dsn = env["DATABASE_URL"]
    variables = {"room": "lobby", "text": "in flight", "clientId": "k-2"}
    holder = await psycopg.AsyncConnection.connect(dsn)
    lost: list[BaseException] = []

    def first_try() -> None:
        try:
            post(stopping, alice.token, variables)
        except Exception as error:  # the process ended without answering
            lost.append(error)

    try:
        await holder.execute("LOCK TABLE chat_message IN SHARE ROW EXCLUSIVE MODE")
        poster = threading.Thread(target=first_try)
        poster.start()
        await wait_for(lambda: _lock_waiters(dsn) > 0, timeout=10)
        stopping.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(exit_code, stopping) == 1
        await asyncio.to_thread(poster.join, 30)
        assert [type(error).__name__ for error in lost] in (
            ["RemoteDisconnected"],
            ["ConnectionResetError"],
        )
        retry = asyncio.create_task(asyncio.to_thread(post, other, alice.token, variables))
        await wait_for(lambda: _lock_waiters(dsn) > 0, timeout=10)
        await holder.commit()
        answer = await retry
    finally:
        await holder.close()
    assert answer == (200, {"data": {"sendMessage": {"seq": 2, "text": "in flight"}}})
    stored = await sync_to_async(
        lambda: list(Message.objects.order_by("seq").values_list("seq", "text", "client_id"))
    )()
    assert stored == [(1, "message 1", None), (2, "in flight", "k-2")]


@pytest.mark.embedded
async def test_http_requests_are_refused_while_draining(
    gql: GraphQLHttp, alice: factories.Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(draining, "_draining", True)
    status, body = await gql.post(SEND, {"room": "lobby", "text": "hi"}, token=alice.token)
    assert (status, body) == (
        503,
        {
            "errors": [
                {
                    "message": "This server is restarting; retry (another one will answer).",
                    "extensions": {"code": "SERVICE_UNAVAILABLE"},
                }
            ]
        },
    )
    assert await sync_to_async(Message.objects.count)() == 0
