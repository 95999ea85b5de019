"""HTTP-streamed subscriptions through a real daphne: a client that goes away releases
everything, and one that stops reading costs bounded server memory and loses nothing."""

from __future__ import annotations

import asyncio
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
import pytest
from django import db
from django.conf import settings
from django.test import override_settings

from chat.posting import message_create
from tests import factories, test_slow_subscriber
from tests.conftest import wait_for
from tests.daphne import Daphne
from tests.servers import RedisServer
from tests.test_scale_out import group_subscribers
from tests.test_slow_subscriber import MemoryGrowth, PeakRss, text_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TOTAL = 5000


def subscription(room: str) -> str:
    return (
        f'subscription($after: Int) {{ messageAdded(room: "{room}", afterSeq: $after) '
        "{ seq text } }"
    )


# The slow-subscriber test's daphne: keepalives off (the slow client reads nothing), a
# subscriber buffer of 200 events.
daphne = test_slow_subscriber.daphne


class SseClient:
    """GraphQL over SSE on a raw socket: the exact bytes, and a reader that can stop."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = b""

    @classmethod
    async def open(
        cls, port: int, body: dict[str, Any], token: str, *, receive_buffer: int | None = None
    ) -> tuple[SseClient, bytes]:
        sock = socket.socket()
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        # A small read buffer: what the client has not read stays in the server.
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        data = json.dumps(body).encode()
        writer.write(
            b"POST /graphql/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
            b"Content-Type: application/json\r\nAuthorization: Bearer " + token.encode() + b"\r\n"
            b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        return cls(reader, writer), head

    async def _chunk(self) -> bytes:
        size = int((await self.reader.readline()).strip(), 16)
        data = await self.reader.readexactly(size + 2)
        return data[:-2]

    async def event(self) -> bytes:
        """The next event (or comment), whole, with its blank line."""
        while b"\n\n" not in self.buffer:
            self.buffer += await asyncio.wait_for(self._chunk(), 60)
        event, _, self.buffer = self.buffer.partition(b"\n\n")
        return event + b"\n\n"

    async def payload(self) -> dict[str, Any]:
        event = await self.event()
        assert event.startswith(b"event: next\ndata: "), event
        return json.loads(event.removeprefix(b"event: next\ndata: "))  # type: ignore[no-any-return]

    def close(self) -> None:
        self.writer.close()


async def test_a_client_that_goes_away_leaves_no_subscription(
    daphne: Daphne, alice: factories.Member, redis_server: RedisServer
) -> None:
    client, head = await SseClient.open(daphne.port, {"query": subscription("gone")}, alice.token)
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 200 OK"
    assert b"Content-Type: text/event-stream; charset=utf-8" in head.split(b"\r\n")
    assert await client.event() == b":\n\n"
    await wait_for(lambda: group_subscribers(redis_server, "gone") == 1, 10)
    client.close()
    await wait_for(lambda: group_subscribers(redis_server, "gone") == 0, 10)


@pytest.mark.timeout(300)
@override_settings(CHAT={**settings.CHAT, "RATE_LIMIT": (0, 1)})
async def test_sse_client_that_stops_reading_bounds_memory_and_resumes_without_loss(
    daphne: Daphne, alice: factories.Member
) -> None:
    body = {"query": subscription("slowsse"), "variables": {"after": 0}}
    slow, _ = await SseClient.open(daphne.port, body, alice.token, receive_buffer=4096)
    fast = [(await SseClient.open(daphne.port, body, alice.token))[0] for _ in range(3)]
    for client in [slow, *fast]:
        assert await client.event() == b":\n\n"

    def write_many(numbers: range) -> list[tuple[int, str]]:
        try:
            done = []
            for n in numbers:
                message = message_create(room_name="slowsse", author=alice.user, text=text_for(n))
                done.append((message.seq, message.text))
            return done
        finally:
            db.connection.close()

    async def write(numbers: range) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(max_workers=4) as pool:
            chunks = [range(numbers.start + k, numbers.stop, 4) for k in range(4)]
            done = await asyncio.to_thread(lambda: list(pool.map(write_many, chunks)))
        return [
            {"data": {"messageAdded": {"seq": seq, "text": text}}}
            for seq, text in sorted(w for chunk in done for w in chunk)
        ]

    first = await write(range(1))
    for client in [slow, *fast]:
        assert await client.payload() == first[0]

    async def collect(client: SseClient) -> list[dict[str, Any]]:
        return [await client.payload() for _ in range(TOTAL)]

    rss_before = psutil.Process(daphne.process.pid).memory_info().rss
    peak = PeakRss(daphne.process.pid)
    receiving = [asyncio.create_task(collect(client)) for client in fast]
    everything = await write(range(1, TOTAL + 1))
    for received in await asyncio.gather(*receiving):
        assert received == everything
    growth = peak.stop() - rss_before
    print(f"SSE: daphne RSS growth while one client did not read: {growth / 2**20:.1f} MiB")
    # The slow client reads again: caught up from the database, nothing lost.
    assert [await slow.payload() for _ in range(TOTAL)] == everything
    for client in [slow, *fast]:
        client.close()
    # Unbounded, the ~20 MB not read would sit in daphne's transport buffer; the
    # websocket's bound (tests/test_slow_subscriber.py).
    if growth >= 15 * 2**20:
        raise MemoryGrowth(f"{growth / 2**20:.1f} MiB")
