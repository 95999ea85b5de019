"""Benchmark client: a separate process driving one server design over real websockets.

Talks to the runner over stdin/stdout: it prints ``MARK <name>`` and waits for a line on
stdin before going on (the runner reads the server's CPU and memory there), and prints its
result as one JSON line ``RESULT {...}`` at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

GTWS = [Subprotocol("graphql-transport-ws")]
OPEN_TIMEOUT = 120


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    received: int = 0
    warm: set[int] = field(default_factory=set)
    last_receipt: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0


def extract_text(design: str, frame: str) -> str | None:
    data = json.loads(frame)
    if design in ("tutorial", "tutorial-pubsub", "floor"):
        return str(data["message"])
    if data.get("type") != "next":
        return None
    return str(data["payload"]["data"]["messageAdded"]["text"])


class Design:
    """How one server design is spoken to: subscribe, post, and parse a delivery."""

    def __init__(self, name: str, base: str) -> None:
        self.name = name
        self.base = base
        self.graphql = name not in ("tutorial", "tutorial-pubsub", "floor")
        self.token: str | None = None
        self._ids = itertools.count()

    def url(self, room: str) -> str:
        if self.graphql:
            return f"{self.base}/graphql/"
        if self.name == "floor":
            return f"{self.base}/room/{room}/"
        return f"{self.base}/ws/chat/{room}/"

    async def connect(self, room: str, *, auth: bool = False) -> ClientConnection:
        if not self.graphql:
            return await websockets.connect(
                self.url(room), open_timeout=OPEN_TIMEOUT, max_queue=None
            )
        ws = await websockets.connect(
            self.url(room), subprotocols=GTWS, open_timeout=OPEN_TIMEOUT, max_queue=None
        )
        payload = {"authToken": self.token} if auth and self.token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
        assert ack["type"] == "connection_ack", ack
        return ws

    async def subscribe(self, ws: ClientConnection, room: str) -> None:
        if not self.graphql:
            return
        if self.name == "ours":
            query = (
                "subscription($room: String!) { messageAdded(room: $room) "
                "{ id seq text createdAt author { id username } room { id name } } }"
            )
        else:
            query = "subscription($room: String!) { messageAdded(room: $room) { room text } }"
        await ws.send(
            json.dumps(
                {"id": "s", "type": "subscribe",
                 "payload": {"query": query, "variables": {"room": room}}}
            )
        )  # fmt: skip

    async def post(self, ws: ClientConnection, room: str, text: str) -> None:
        """Send one post; for GraphQL designs the caller awaits the result frame."""
        if not self.graphql:
            await ws.send(json.dumps({"message": text}))
            return
        if self.name == "ours":
            query = (
                "mutation($room: String!, $text: String!) "
                "{ sendMessage(room: $room, text: $text) { seq } }"
            )
        else:
            query = (
                "mutation($room: String!, $text: String!) { sendMessage(room: $room, text: $text) }"
            )
        await ws.send(
            json.dumps(
                {"id": f"p{next(self._ids)}", "type": "subscribe",
                 "payload": {"query": query, "variables": {"room": room, "text": text}}}
            )
        )  # fmt: skip


async def register(design: Design) -> None:
    if design.name != "ours":
        return
    ws = await design.connect("x")
    name = f"bench{time.monotonic_ns()}"
    await ws.send(
        json.dumps(
            {"id": "r", "type": "subscribe",
             "payload": {"query": "mutation($u: String!) { register(username: $u, "
                                  "password: \"bench password 1234\") { token } }",
                         "variables": {"u": name}}}
        )
    )  # fmt: skip
    result = json.loads(await ws.recv())
    design.token = result["payload"]["data"]["register"]["token"]
    await ws.close()


class Publisher:
    """One posting socket per room, with a window of posts in flight (GraphQL designs)."""

    def __init__(self, design: Design, window: int = 8) -> None:
        self.design = design
        self.sockets: dict[str, ClientConnection] = {}
        self.window = asyncio.Semaphore(window)
        self.inflight = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self.readers: list[asyncio.Task[None]] = []
        self.errors: list[Any] = []

    async def open(self, rooms: list[str]) -> None:
        for room in rooms:
            ws = await self.design.connect(room, auth=True)
            self.sockets[room] = ws
            self.readers.append(asyncio.create_task(self._read(ws)))

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                data = json.loads(frame)
                if self.design.graphql:
                    if data.get("type") == "next" and str(data.get("id", "")).startswith("p"):
                        if data["payload"].get("errors"):
                            self.errors.append(data["payload"]["errors"])
                        self.window.release()
                        self.inflight -= 1
                        if not self.inflight:
                            self.idle.set()
        except websockets.ConnectionClosed:
            pass

    async def post(self, room: str, text: str) -> None:
        if self.design.graphql:
            await self.window.acquire()
            self.inflight += 1
            self.idle.clear()
        await self.design.post(self.sockets[room], room, text)

    async def drain(self) -> None:
        """Wait until every post in flight is answered."""
        await self.idle.wait()

    async def close(self) -> None:
        for ws in self.sockets.values():
            await ws.close()
        for task in self.readers:
            task.cancel()


async def subscriber_loop(design: Design, ws: ClientConnection, index: int, stats: Stats) -> None:
    try:
        async for frame in ws:
            now = time.monotonic()
            text = extract_text(design.name, frame)  # type: ignore[arg-type]
            if text is None:
                continue
            kind, _, sent = text.partition(":")
            if kind == "warm":
                stats.warm.add(index)
                continue
            stats.latencies.append(now - float(sent))
            stats.received += 1
            stats.last_receipt = now
            if stats.received >= stats.expected:
                stats.done.set()
    except websockets.ConnectionClosed:
        pass


async def open_subscribers(
    design: Design, rooms: list[str], per_room: int, stats: Stats
) -> tuple[list[ClientConnection], list[asyncio.Task[None]], int]:
    async def one(room: str, index: int) -> tuple[ClientConnection, asyncio.Task[None]]:
        ws = await design.connect(room)
        await design.subscribe(ws, room)
        return ws, asyncio.create_task(subscriber_loop(design, ws, index, stats))

    jobs = [
        asyncio.wait_for(one(room, r * per_room + i), OPEN_TIMEOUT)
        for r, room in enumerate(rooms)
        for i in range(per_room)
    ]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    sockets, tasks, failures = [], [], 0
    for result in results:
        if isinstance(result, BaseException):
            failures += 1
        else:
            sockets.append(result[0])
            tasks.append(result[1])
    return sockets, tasks, failures


async def warm_up(publisher: Publisher, rooms: list[str], stats: Stats, count: int) -> None:
    """Post until every subscriber has received a warm-up message: all are live."""
    deadline = time.monotonic() + 120
    while len(stats.warm) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(stats.warm)} of {count} subscribers went live")
        for room in rooms:
            await publisher.post(room, f"warm:{time.monotonic()}")
        await publisher.drain()
        await asyncio.sleep(0.2)
    # Let stray warm-ups arrive before the timed phase.
    await asyncio.sleep(0.5)


def mark(name: str) -> None:
    print(f"MARK {name}", flush=True)
    sys.stdin.readline()


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    design = Design(args.design, args.base)
    await register(design)
    rooms = [f"r{n}" for n in range(args.rooms)]
    stats = Stats()
    publisher = Publisher(design)
    await publisher.open(rooms)
    count = args.rooms * args.per_room
    result: dict[str, Any] = {}

    if args.mode == "idle":
        mark("before")
    started = time.monotonic()
    sockets, tasks, failures = await open_subscribers(design, rooms, args.per_room, stats)
    await warm_up(publisher, rooms, stats, count - failures)
    result["failures"] = failures
    result["seconds_to_all_live"] = round(time.monotonic() - started, 2)

    if args.mode == "idle":
        mark("after")
    elif args.mode in ("burst", "steady"):
        stats.expected = args.messages * args.per_room
        mark("start")
        first_post = time.monotonic()
        for n in range(args.messages):
            if args.mode == "steady":
                await asyncio.sleep(max(0.0, first_post + n / args.rate - time.monotonic()))
            await publisher.post(rooms[n % len(rooms)], f"m:{time.monotonic()}")
        await publisher.drain()
        try:
            await asyncio.wait_for(stats.done.wait(), timeout=args.timeout)
        except TimeoutError:
            pass
        mark("end")
        elapsed = (stats.last_receipt or time.monotonic()) - first_post
        result.update(
            deliveries=stats.received,
            expected=stats.expected,
            deliveries_per_s=round(stats.received / elapsed) if elapsed > 0 else 0,
            p50_ms=round(percentile(stats.latencies, 0.50) * 1000, 2),
            p99_ms=round(percentile(stats.latencies, 0.99) * 1000, 2),
            max_ms=round(max(stats.latencies, default=float("nan")) * 1000, 2),
            post_errors=len(publisher.errors),
        )
    await publisher.close()
    for ws in sockets:
        await ws.close()
    for task in tasks:
        task.cancel()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--design", required=True)
    parser.add_argument("--base", required=True, help="ws://host:port")
    parser.add_argument("--mode", choices=["burst", "steady", "idle", "storm"], required=True)
    parser.add_argument("--rooms", type=int, default=1)
    parser.add_argument("--per-room", type=int, default=100)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--deadline", type=float, default=300, help="give up after (s)")
    options = parser.parse_args()
    # A server that stops answering must not hang the whole run.
    outcome = asyncio.run(asyncio.wait_for(main(options), options.deadline))
    print("RESULT " + json.dumps(outcome), flush=True)
