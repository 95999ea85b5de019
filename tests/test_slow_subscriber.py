"""A subscriber whose client stops reading costs bounded server memory and nobody else time."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
import pytest
import websockets
from django import db
from django.conf import settings
from django.db import connection
from django.test import override_settings
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from chat.posting import message_create
from tests import factories
from tests.daphne import Daphne, daphne_env, start_daphne
from tests.servers import PostgresServer, RedisServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# afterSeq 0: a subscription still starting when the first post lands replays it.
QUERY = 'subscription { messageAdded(room: "slow", afterSeq: 0) { seq text } }'
SEND = 'mutation($t: String!) { sendMessage(room: "slow", text: $t) { seq } }'
TOTAL = 5000
FAST_SUBSCRIBERS = 5
BUFFER = 200


def text_for(n: int) -> str:
    # ~4 KB of incompressible text: 5,000 of them are ~20 MB, far more than the kernel's
    # socket buffers (4 MB at most here) can hide.
    return f"{n}:" + random.Random(n).randbytes(1990).hex()


@pytest.fixture
def daphne(
    django_db_setup: None, redis_server: RedisServer, postgres_server: PostgresServer
) -> Iterator[Daphne]:
    env = daphne_env(
        redis_server,
        postgres_server,
        connection.settings_dict["NAME"],
        CHAT_KEEPALIVE_SECONDS="0",
        CHAT_SUBSCRIBER_BUFFER=str(BUFFER),
    )
    # Websocket pings off: the slow client does not read them, and daphne would drop it
    # after 50 s (it would then resume with afterSeq, which test_faults covers).
    process = start_daphne(env, "--ping-interval", "3600")
    yield process
    process.process.terminate()
    process.process.wait(timeout=10)


async def subscribe(url: str, **options: Any) -> ClientConnection:
    ws = await websockets.connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], compression=None, **options
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert json.loads(await ws.recv()) == {"type": "connection_ack"}
    await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": {"query": QUERY}}))
    return ws


async def receive(ws: ClientConnection) -> dict[str, Any]:
    frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
    assert frame["type"] == "next" and frame["id"] == "s", frame
    return frame["payload"]["data"]["messageAdded"]  # type: ignore[no-any-return]


class PeakRss:
    """Sample a process's RSS in a thread: the peak is what a leak would show."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak, self.process.memory_info().rss)


@override_settings(CHAT={**settings.CHAT, "RATE_LIMIT": (0, 1)})
async def test_client_that_stops_reading_bounds_memory_and_resumes_without_loss(
    daphne: Daphne, alice: factories.Member
) -> None:
    """Posts are made in this process, so the daphne's memory is what delivery costs."""
    # The slow client's kernel takes ~8 KB, and its websocket library stops reading
    # after one queued frame: the rest has to wait in the server, or be dropped there.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", daphne.port))
    slow = await subscribe(daphne.ws_url, sock=sock, max_queue=1, ping_interval=None)
    fast = [await subscribe(daphne.ws_url) for _ in range(FAST_SUBSCRIBERS)]

    def post(n: int) -> tuple[int, str]:
        # Straight through the service (as sendMessage does) to keep the test quick;
        # the subscribers' process gets the events from Redis.
        message = message_create(room_name="slow", author=alice.user, text=text_for(n))
        return message.seq, message.text

    def post_many(numbers: range) -> list[tuple[int, str]]:
        try:
            return [post(n) for n in numbers]
        finally:
            db.connection.close()

    # Everyone is live once the first message reaches them all.
    assert await asyncio.to_thread(post_many, range(1)) == [(1, text_for(0))]
    for ws in [slow, *fast]:
        assert await receive(ws) == {"seq": 1, "text": text_for(0)}

    async def collect(ws: ClientConnection) -> list[dict[str, Any]]:
        return [await receive(ws) for _ in range(TOTAL)]

    rss_before = psutil.Process(daphne.process.pid).memory_info().rss
    peak = PeakRss(daphne.process.pid)
    receiving = [asyncio.create_task(collect(ws)) for ws in fast]
    with ThreadPoolExecutor(max_workers=4) as pool:
        chunks = [range(1 + k, TOTAL + 1, 4) for k in range(4)]
        done = await asyncio.to_thread(lambda: list(pool.map(post_many, chunks)))
    posted = [post for chunk in done for post in chunk]
    # Posts were concurrent: which text got which seq is known from the replies.
    expected = [{"seq": seq, "text": text} for seq, text in sorted(posted)]
    assert [m["seq"] for m in expected] == list(range(2, TOTAL + 2))
    # The others get everything while the slow client still reads nothing.
    for received in await asyncio.gather(*receiving):
        assert received == expected
    growth = peak.stop() - rss_before
    print(f"subscriber process RSS growth while one client did not read: {growth / 2**20:.1f} MiB")
    # Unbounded, the ~20 MB not read would sit in daphne's transport buffer (measured:
    # 23 MiB of growth without internals/writepath.py, 5.7 MiB with it).
    assert growth < 10 * 2**20

    # The slow client reads again: the server catches it up from the database.
    assert [await receive(slow) for _ in range(TOTAL)] == expected
    # ...and is live again.
    assert await asyncio.to_thread(post_many, range(TOTAL + 1, TOTAL + 2)) == [
        (TOTAL + 2, text_for(TOTAL + 1))
    ]
    for ws in [slow, *fast]:
        assert await receive(ws) == {"seq": TOTAL + 2, "text": text_for(TOTAL + 1)}
    for ws in [slow, *fast]:
        await ws.close()
