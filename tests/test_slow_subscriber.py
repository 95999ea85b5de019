"""A subscriber whose client stops reading costs bounded server memory and nobody else time."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import psutil
import pytest
from django import db
from django.conf import settings
from django.db import connection
from django.test import override_settings
from websockets.asyncio.client import ClientConnection

from chat.messaging import reaction_add
from chat.models import Message, RoomEvent
from chat.posting import message_create
from tests import factories, feeds
from tests.daphne import Daphne, daphne_env, start_daphne
from tests.feeds import Feed
from tests.servers import PostgresServer, RedisServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# Every post's text is selected (no edits here: a replay shows a message as it is now).
MESSAGES = replace(feeds.MESSAGES, selection="seq text")
ROOM_EVENTS = replace(
    feeds.ROOM_EVENTS,
    selection="eventSeq __typename ... on MessagePosted { message { seq text } }"
    " ... on ReactionAdded { emoji message { seq } }",
)
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


async def subscribe(url: str, feed: Feed, **options: Any) -> ClientConnection:
    # After 0: a subscription still starting when the first write lands replays it.
    return await feeds.ws_subscribe(
        url, feed.subscription("slow"), {"after": 0}, op_id="s", compression=None, **options
    )


def receiver(feed: Feed) -> Callable[[ClientConnection], Awaitable[dict[str, Any]]]:
    async def receive(ws: ClientConnection) -> dict[str, Any]:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        assert frame["id"] == "s", frame
        return feed.of(frame)

    return receive


def stored_events() -> list[dict[str, Any]]:
    """The room's events as ROOM_EVENTS selects them, from the database."""
    try:
        rows = RoomEvent.objects.filter(room__name="slow").select_related("message")
        events: list[dict[str, Any]] = []
        for row in rows.order_by("seq"):
            assert row.message is not None
            message: dict[str, Any] = {"seq": row.message.seq}
            event: dict[str, Any] = {"eventSeq": row.seq, "message": message}
            if row.kind == RoomEvent.Kind.MESSAGE_POSTED:
                event["__typename"] = "MessagePosted"
                message["text"] = row.message.text
            else:
                assert row.kind == RoomEvent.Kind.REACTION_ADDED
                event.update({"__typename": "ReactionAdded", "emoji": row.emoji})
            events.append(event)
        return events
    finally:
        db.connection.close()


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


# What one write did: (its roomEvents type, its message's seq, the text posted or the
# emoji); messageAdded has the posts.
Write = tuple[str, int, str]


def written(event: dict[str, Any]) -> Write:
    """What a payload says was written."""
    if "__typename" not in event:
        return ("MessagePosted", event["seq"], event["text"])
    if event["__typename"] == "MessagePosted":
        return ("MessagePosted", event["message"]["seq"], event["message"]["text"])
    return (event["__typename"], event["message"]["seq"], event["emoji"])


class MemoryGrowth(AssertionError):
    """The subscribers' process grew past the bound while one client did not read."""


@pytest.mark.parametrize(
    "feed",
    [
        pytest.param(MESSAGES, id="messageAdded"),
        pytest.param(ROOM_EVENTS, id="roomEvents"),
    ],
)
# roomEvents' writes are slower (a reaction holds its room's lock for several round
# trips): ~2 minutes on a busy 2-CPU machine.
@pytest.mark.timeout(300)
@override_settings(CHAT={**settings.CHAT, "RATE_LIMIT": (0, 1)})
async def test_client_that_stops_reading_bounds_memory_and_resumes_without_loss(
    daphne: Daphne, alice: factories.Member, feed: Feed
) -> None:
    """Writes are made in this process, so the daphne's memory is what delivery costs.
    roomEvents: one write in four is a reaction to its writer's last post."""
    receive = receiver(feed)
    # The slow client's kernel takes ~8 KB, and its websocket library stops reading
    # after one queued frame: the rest has to wait in the server, or be dropped there.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", daphne.port))
    slow = await subscribe(daphne.ws_url, feed, sock=sock, max_queue=1, ping_interval=None)
    fast = [await subscribe(daphne.ws_url, feed) for _ in range(FAST_SUBSCRIBERS)]

    def write_many(numbers: range) -> list[Write]:
        # Straight through the services (as the mutations do) to keep the test quick;
        # the subscribers' process gets the events from Redis.
        done: list[Write] = []
        last: Message | None = None
        try:
            for n in numbers:
                if feed is ROOM_EVENTS and (n // 4) % 4 == 3 and last is not None:
                    reaction_add(message_id=last.pk, user=alice.user, emoji="👍")
                    done.append(("ReactionAdded", last.seq, "👍"))
                else:
                    last = message_create(room_name="slow", author=alice.user, text=text_for(n))
                    done.append(("MessagePosted", last.seq, last.text))
            return done
        finally:
            db.connection.close()

    writes: list[Write] = []

    async def write(numbers: range) -> list[dict[str, Any]]:
        """Make the writes ``numbers`` (4 writers at once); return the payloads of every
        write so far, in the order a subscriber gets them."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            chunks = [range(numbers.start + k, numbers.stop, 4) for k in range(4)]
            done = await asyncio.to_thread(lambda: list(pool.map(write_many, chunks)))
        writes.extend(w for chunk in done for w in chunk)
        if feed is MESSAGES:
            # Posts were concurrent: which text got which seq is known from the replies.
            return [{"seq": seq, "text": text} for _, seq, text in sorted(writes)]
        # The order of the events is read from the database: it must hold what the
        # writers did, each once.
        stored = await asyncio.to_thread(stored_events)
        assert sorted(writes) == sorted(written(event) for event in stored)
        return stored

    # Everyone is live once the first message reaches them all.
    everything = await write(range(1))
    assert everything == [
        {"seq": 1, "text": text_for(0)}
        if feed is MESSAGES
        else {
            "eventSeq": 1,
            "__typename": "MessagePosted",
            "message": {"seq": 1, "text": text_for(0)},
        }
    ]
    for ws in [slow, *fast]:
        assert await receive(ws) == everything[0]

    async def collect(ws: ClientConnection) -> list[dict[str, Any]]:
        return [await receive(ws) for _ in range(TOTAL)]

    rss_before = psutil.Process(daphne.process.pid).memory_info().rss
    peak = PeakRss(daphne.process.pid)
    receiving = [asyncio.create_task(collect(ws)) for ws in fast]
    everything = (await write(range(1, TOTAL + 1)))[1:]
    assert [payload[feed.position] for payload in everything] == list(range(2, TOTAL + 2))
    # The others get everything while the slow client still reads nothing.
    for received in await asyncio.gather(*receiving):
        assert received == everything
    growth = peak.stop() - rss_before
    print(f"subscriber process RSS growth while one client did not read: {growth / 2**20:.1f} MiB")

    # The slow client reads again: the server catches it up from the database.
    assert [await receive(slow) for _ in range(TOTAL)] == everything
    # ...and is live again.
    latest = (await write(range(TOTAL + 1, TOTAL + 2)))[-1]
    assert latest[feed.position] == TOTAL + 2
    assert written(latest) == writes[-1]
    assert writes[-1][2] == text_for(TOTAL + 1)
    for ws in [slow, *fast]:
        assert await receive(ws) == latest
    for ws in [slow, *fast]:
        await ws.close()
    # Unbounded, the ~20 MB not read would sit in daphne's transport buffer (measured:
    # 23 MiB of growth without internals/writepath.py, 5.7 MiB with it). Checked last:
    # the catch-up above is checked either way. (roomEvents measured 8.2-8.6 MiB before
    # issue 14 and 9.8-10.8 MiB after it, on a quiet machine, cause not found: the bound
    # is 15 MiB, still under what an unbounded buffer holds.)
    if growth >= 15 * 2**20:
        raise MemoryGrowth(f"{growth / 2**20:.1f} MiB")
