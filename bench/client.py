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

from bench.gqlhttp import HttpGraphQL

GTWS = [Subprotocol("graphql-transport-ws")]
OPEN_TIMEOUT = 120


# What a client shows of a room's events (the browser page's and Apollo's selection, less
# reactedByMe: that one depends on the viewer, and these subscribers are anonymous).
ROOM_EVENTS = """
subscription($room: String!) { roomEvents(room: $room) {
  __typename eventSeq
  ... on MessagePosted { message { id seq text createdAt author { id username } } }
  ... on MessageEdited { message { id text editedAt } }
  ... on MessageDeleted { message { id deleted } }
  ... on ReactionAdded { emoji user { id username } message { id reactions { emoji count } } }
  ... on ReactionRemoved { emoji user { id username } message { id reactions { emoji count } } }
  ... on MemberJoined { user { id username } }
  ... on MemberLeft { user { id username } removedBy { id username } }
} }
"""
# A client toggling a reaction reads back the message's reactions.
REACT = """
mutation($id: ID!, $emoji: String!) { %s(messageId: $id, emoji: $emoji) {
  id reactions { emoji count reactedByMe } } }
"""
EMOJI = ["\N{THUMBS UP SIGN}", "\N{PARTY POPPER}", "\N{FIRE}", "\N{EYES}", "\N{ROCKET}"]
TARGETS = 4  # messages reacted to
POST_OURS = (
    "mutation($room: String!, $text: String!) { sendMessage(room: $room, text: $text) { seq } }"
)


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    received: int = 0
    warm: set[int] = field(default_factory=set)
    last_receipt: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0
    # reactions mode: when each user sent each of their toggles, in order (each user has
    # one in flight, so their events arrive in that order).
    toggles_sent: dict[str, list[float]] = field(default_factory=dict)


def extract(design: str, frame: str) -> tuple[str, str] | None:
    """A delivery as (kind, rest): a post's text "kind:sent" split at its colon, or
    ("reaction", username) for a reaction toggled by that user."""
    data = json.loads(frame)
    if design in ("tutorial", "tutorial-pubsub", "floor"):
        text = str(data["message"])
    elif data.get("type") != "next":
        return None
    elif "messageAdded" in (payload := data["payload"]["data"] or {}):
        text = str(payload["messageAdded"]["text"])
    else:
        event = payload["roomEvents"]
        if event["__typename"] in ("ReactionAdded", "ReactionRemoved"):
            return "reaction", str(event["user"]["username"])
        if event["__typename"] != "MessagePosted":
            return None
        text = str(event["message"]["text"])
    kind, _, rest = text.partition(":")
    return kind, rest


class Design:
    """How one server design is spoken to: subscribe, post, and parse a delivery."""

    def __init__(self, name: str, base: str, subscription: str = "messageAdded") -> None:
        self.name = name
        self.subscription = subscription
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

    async def connect(
        self, room: str, *, auth: bool = False, token: str | None = None
    ) -> ClientConnection:
        if not self.graphql:
            return await websockets.connect(
                self.url(room), open_timeout=OPEN_TIMEOUT, max_queue=None
            )
        ws = await websockets.connect(
            self.url(room), subprotocols=GTWS, open_timeout=OPEN_TIMEOUT, max_queue=None
        )
        token = token or (self.token if auth else None)
        payload = {"authToken": token} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
        assert ack["type"] == "connection_ack", ack
        return ws

    async def subscribe(self, ws: ClientConnection, room: str) -> None:
        if not self.graphql:
            return
        if self.subscription == "roomEvents":
            assert self.name == "ours", "only ours has roomEvents"
            query = ROOM_EVENTS
        elif self.name == "ours":
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
            query = POST_OURS
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
    design.token = await register_user(design, f"bench{time.monotonic_ns()}")


async def register_user(design: Design, name: str) -> str:
    ws = await design.connect("x")
    data = await request(
        ws, "r",
        "mutation($u: String!) { register(username: $u, "
        "password: \"bench password 1234\") { token } }",
        {"u": name},
    )  # fmt: skip
    await ws.close()
    return str(data["register"]["token"])


async def request(ws: ClientConnection, op: str, query: str, variables: dict[str, Any]) -> Any:
    """One operation on a socket with nothing else in flight: its data (errors raise)."""
    await ws.send(
        json.dumps({"id": op, "type": "subscribe",
                    "payload": {"query": query, "variables": variables}})
    )  # fmt: skip
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("id") != op:
            continue
        if frame["type"] == "next":
            if frame["payload"].get("errors"):
                raise RuntimeError(f"{op}: {frame}")
            return frame["payload"]["data"]
        if frame["type"] in ("error", "complete"):
            raise RuntimeError(f"{op}: {frame}")


async def post_targets(design: Design, room: str) -> list[str]:
    """Post the messages the reactions go to; their ids."""
    ws = await design.connect(room, auth=True)
    ids = []
    for n in range(TARGETS):
        data = await request(
            ws, f"t{n}",
            "mutation($room: String!, $text: String!) "
            "{ sendMessage(room: $room, text: $text) { id } }",
            {"room": room, "text": f"target:{n}"},
        )  # fmt: skip
        ids.append(data["sendMessage"]["id"])
    await ws.close()
    return ids


async def reactor(
    ws: ClientConnection, user: str, index: int, toggles: int, targets: list[str], stats: Stats
) -> int:
    """One user toggling reactions, one at a time: add, then remove the same emoji on
    the same message, then the next message. Returns the number of errors."""
    sent = stats.toggles_sent.setdefault(user, [])
    errors = 0
    for n in range(toggles):
        target = targets[(index + n // 2) % len(targets)]
        emoji = EMOJI[index % len(EMOJI)]
        field_ = "addReaction" if n % 2 == 0 else "removeReaction"
        sent.append(time.monotonic())
        try:
            await request(ws, f"x{n}", REACT % field_, {"id": target, "emoji": emoji})
        except RuntimeError:
            errors += 1
    return errors


class Publisher:
    """One posting socket per room, with a window of posts in flight (GraphQL designs);
    with ``via="http"`` (ours only), POSTs over as many keep-alive connections as the
    window, as Apollo Client's split link sends mutations."""

    def __init__(self, design: Design, window: int = 8, via: str = "ws") -> None:
        self.design = design
        self.sockets: dict[str, ClientConnection] = {}
        self.window = asyncio.Semaphore(window)
        self.inflight = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self.readers: list[asyncio.Task[None]] = []
        self.errors: list[Any] = []
        self.http = (
            HttpGraphQL(design.base, connections=window)
            if via == "http" and design.name == "ours"
            else None
        )
        self.posts: set[asyncio.Task[None]] = set()

    async def open(self, rooms: list[str]) -> None:
        if self.http is not None:
            return
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
        if self.http is not None:
            task = asyncio.create_task(self._post_http(room, text))
            self.posts.add(task)
            task.add_done_callback(self.posts.discard)
            return
        await self.design.post(self.sockets[room], room, text)

    async def _post_http(self, room: str, text: str) -> None:
        assert self.http is not None
        try:
            status, body = await self.http.post(
                POST_OURS, {"room": room, "text": text}, token=self.design.token
            )
            if status != 200 or body.get("errors"):
                self.errors.append(body)
        except Exception as error:
            self.errors.append(repr(error))
        finally:
            self.window.release()
            self.inflight -= 1
            if not self.inflight:
                self.idle.set()

    async def drain(self) -> None:
        """Wait until every post in flight is answered."""
        await self.idle.wait()

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
        for ws in self.sockets.values():
            await ws.close()
        for task in self.readers:
            task.cancel()


async def subscriber_loop(design: Design, ws: ClientConnection, index: int, stats: Stats) -> None:
    seen: dict[str, int] = {}  # reactions mode: toggles seen from each user
    try:
        async for frame in ws:
            now = time.monotonic()
            delivery = extract(design.name, frame)  # type: ignore[arg-type]
            if delivery is None:
                continue
            kind, rest = delivery
            if kind == "warm":
                stats.warm.add(index)
                continue
            if kind == "target":
                continue
            if kind == "reaction":
                count = seen.get(rest, 0)
                seen[rest] = count + 1
                sent = stats.toggles_sent[rest][count]
            else:
                sent = float(rest)
            stats.latencies.append(now - sent)
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


def stream_design(transport: str, design: Design) -> Design:
    """Ours, with subscribers over HTTP streaming (bench/sse.py)."""
    from bench.sse import StreamDesign

    return StreamDesign(transport, design)


def mark(name: str) -> None:
    print(f"MARK {name}", flush=True)
    sys.stdin.readline()


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    design = Design(args.design, args.base, args.subscription)
    await register(design)
    rooms = [f"r{n}" for n in range(args.rooms)]
    stats = Stats()
    publisher = Publisher(design, via=args.post)
    await publisher.open(rooms)
    reactors: list[tuple[str, ClientConnection]] = []
    targets: list[str] = []
    if args.mode == "reactions":
        assert design.name == "ours" and args.rooms == 1
        # Before the subscribers: they see the reactions only, not these posts.
        targets = await post_targets(design, rooms[0])
        for n in range(args.users):
            user = f"reactor{n}x{time.monotonic_ns()}"
            token = await register_user(design, user)
            reactors.append((user, await design.connect(rooms[0], token=token)))
    count = args.rooms * args.per_room
    result: dict[str, Any] = {}

    if args.mode == "idle":
        mark("before")
    started = time.monotonic()
    subscribers = design if args.transport == "ws" else stream_design(args.transport, design)
    sockets, tasks, failures = await open_subscribers(subscribers, rooms, args.per_room, stats)
    await warm_up(publisher, rooms, stats, count - failures)
    result["failures"] = failures
    result["seconds_to_all_live"] = round(time.monotonic() - started, 2)

    if args.mode == "idle":
        mark("after")
    elif args.mode in ("burst", "steady", "reactions"):
        posts = args.toggles if args.mode == "reactions" else args.messages
        toggle_errors = 0
        stats.expected = posts * args.per_room
        mark("start")
        first_post = time.monotonic()
        if args.mode == "reactions":
            shares = [args.toggles // args.users + (n < args.toggles % args.users)
                      for n in range(args.users)]  # fmt: skip
            errors = await asyncio.gather(
                *(reactor(ws, user, n, shares[n], targets, stats)
                  for n, (user, ws) in enumerate(reactors))
            )  # fmt: skip
            toggle_errors = sum(errors)
        for n in range(args.messages if args.mode != "reactions" else 0):
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
            post_errors=len(publisher.errors) + toggle_errors,
        )
    await publisher.close()
    for _, ws in reactors:
        await ws.close()
    for ws in sockets:
        await ws.close()
    for task in tasks:
        task.cancel()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--design", required=True)
    parser.add_argument("--base", required=True, help="ws://host:port")
    parser.add_argument(
        "--mode", choices=["burst", "steady", "idle", "storm", "reactions"], required=True
    )
    parser.add_argument("--subscription", choices=["messageAdded", "roomEvents"],
                        default="messageAdded")  # fmt: skip
    parser.add_argument("--users", type=int, default=20, help="reactions: users toggling")
    parser.add_argument("--toggles", type=int, default=500, help="reactions: in all")
    parser.add_argument(
        "--transport", choices=["ws", "sse", "multipart"], default="ws",
        help="the subscribers' (ours): websocket, SSE or multipart HTTP",
    )  # fmt: skip
    parser.add_argument(
        "--post", choices=["ws", "http"], default="ws",
        help="post over the websocket, or (ours) over HTTP POST /graphql/",
    )  # fmt: skip
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
