"""Benchmark client for issue 14's signals: typing, presence, the inbox, a chat day.

    python -m bench.signals --base ws://127.0.0.1:P[,ws://127.0.0.1:Q] \\
        --config '{"mode": "typing", ...}' --seed SEED.json

Run by bench/__main__.py (the runner), which starts the servers, bulk-creates the users
and rooms (bench/seed.py, from ``seed_spec`` below) and reads the servers' CPU at each
``MARK``. As a browser with Apollo's split link does, subscriptions go over the websocket
(graphql-transport-ws) and mutations and queries over HTTP (bench/gqlhttp.py).

Every scenario checks what it receives, not just how much: each wrong or missing frame is
one ``check_failures``, and the runner fails the run on any.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from bench.client import GTWS, OPEN_TIMEOUT, ROOM_EVENTS, mark, percentile
from bench.gqlhttp import GraphQLError, HttpGraphQL

__all__ = ["seed_spec"]

ROOM = "signals"
SIGNALS = """
subscription($room: String!) { roomSignals(room: $room) {
  __typename
  ... on TypingChanged { count users { id username } }
  ... on PresenceChanged { online user { id username } }
  ... on ReadUpTo { seq user { id username } }
} }
"""
# What a client's room list shows of each event (the room list page's selection).
INBOX = """
subscription { inbox {
  __typename
  ... on RoomActivity { unreadCount room { id name }
                        message { id seq text createdAt author { id username } } }
  ... on UnreadChanged { unreadCount room { id name } }
  ... on Mentioned { message { id seq room { name } } }
  ... on RoomJoined { room { id name } }
  ... on RoomLeft { room { id name } }
} }
"""
MESSAGE_ADDED = "subscription($room: String!) { messageAdded(room: $room) { id seq } }"
SET_TYPING = (
    "mutation($room: String!, $typing: Boolean!) { setTyping(room: $room, typing: $typing) }"
)
SEND = (
    "mutation($room: String!, $text: String!) { sendMessage(room: $room, text: $text) { id seq } }"
)
MARK_READ = (
    "mutation($room: String!, $seq: Int!) { markRead(room: $room, seq: $seq) { id unreadCount } }"
)
ONLINE_COUNT = "query($room: String!) { room(name: $room) { onlineCount } }"
DIRECT_ROOM = "mutation($u: String!) { directRoom(username: $u) { id name direct } }"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    token: str


@dataclass(frozen=True)
class Room:
    id: int
    name: str
    members: tuple[int, ...]  # user indexes


# -- the data each scenario needs ---------------------------------------------------


def inbox_rooms(users: int, rooms: int, per_user: int) -> list[list[int]]:
    """Each user in ``per_user`` rooms spread evenly: user u in rooms u, u+s, u+2s, ...
    (mod rooms) with s = rooms // per_user, so every room has users*per_user/rooms."""
    stride = max(1, rooms // per_user)
    members: list[list[int]] = [[] for _ in range(rooms)]
    for user in range(users):
        for k in range(per_user):
            members[(user + k * stride) % rooms].append(user)
    return members


def zipf_sizes(rooms: int, low: int = 2, high: int = 200) -> list[int]:
    """Room sizes from ``high`` down to ``low``, Zipf-like: the room of rank k holds
    high / k members."""
    return [max(low, min(high, round(high / (rank + 1)))) for rank in range(rooms)]


def direct_rooms(config: dict[str, Any]) -> int:
    """How many of chat-day's rooms are direct ones (one user in 40 opens one)."""
    return int(config.get("direct", max(1, config["users"] // 40)))


def chat_day_rooms(users: int, rooms: int, seed: int = 14) -> list[list[int]]:
    """Group rooms of Zipf sizes (2..200) over ``users``, every user in at least one.
    Direct rooms are opened by the client with ``directRoom`` (the server names them)."""
    rng = random.Random(seed)
    members: list[list[int]] = []
    for size in zipf_sizes(rooms):
        members.append(sorted(rng.sample(range(users), min(size, users))))
    placed = {u for room in members for u in room}
    for user in range(users):
        if user not in placed:
            members[rng.randrange(len(members))].append(user)
    return members


def seed_spec(config: dict[str, Any]) -> dict[str, Any]:
    """What bench/seed.py creates for ``config``: users (with tokens) and rooms."""
    mode = config["mode"]
    prefix = f"b{time.time_ns() % 10**10}x"
    if mode == "typing":
        # The typers, and one more who brings the subscribers live.
        return {"prefix": prefix, "users": config["typers"] + 1, "rooms": [{"name": ROOM}]}
    if mode == "presence":
        count = config["users"] + config["observers"] + 1
        return {"prefix": prefix, "users": count, "rooms": [{"name": ROOM}]}
    if mode == "inbox":
        layout = inbox_rooms(config["users"], config["rooms"], config["per_user"])
    else:
        layout = chat_day_rooms(config["users"], config["rooms"] - direct_rooms(config))
    return {
        "prefix": prefix,
        "users": config["users"],
        "rooms": [{"name": f"room{n}", "members": m} for n, m in enumerate(layout)],
    }


# -- one websocket and its subscriptions ---------------------------------------------


Handler = Callable[[dict[str, Any], float], None]


class Socket:
    """One graphql-transport-ws connection; each subscription's payloads go to its
    handler with their arrival time."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.handlers: dict[str, Handler] = {}
        self.errors: list[Any] = []
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, base: str, token: str | None = None) -> Socket:
        ws = await websockets.connect(
            f"{base}/graphql/", subprotocols=GTWS, open_timeout=OPEN_TIMEOUT, max_queue=None
        )
        payload = {"authToken": token} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
        if ack["type"] != "connection_ack":
            raise RuntimeError(f"not acknowledged: {ack}")
        return cls(ws)

    async def subscribe(
        self, op: str, query: str, variables: dict[str, Any], handler: Handler
    ) -> None:
        self.handlers[op] = handler
        await self.ws.send(
            json.dumps({"id": op, "type": "subscribe",
                        "payload": {"query": query, "variables": variables}})
        )  # fmt: skip

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                now = time.monotonic()
                data = json.loads(frame)
                kind = data.get("type")
                if kind == "next":
                    if data["payload"].get("errors"):
                        self.errors.append(data["payload"]["errors"])
                    elif handler := self.handlers.get(data["id"]):
                        handler(data["payload"]["data"], now)
                elif kind == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
                elif kind in ("error", "complete"):
                    self.errors.append(data)
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


async def open_all(jobs: Iterable[Any], limit: int = 250) -> tuple[list[Any], int]:
    """Run the connect coroutines, at most ``limit`` at a time; their results and how
    many failed."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await asyncio.wait_for(job, OPEN_TIMEOUT)

    results = await asyncio.gather(*(one(job) for job in jobs), return_exceptions=True)
    done = [r for r in results if not isinstance(r, BaseException)]
    return done, len(results) - len(done)


class Gate:
    """Opens once each of ``parties`` has passed ``test``, re-checked as that party's
    state changes (``check``): waiting on it is waiting for an event, not polling."""

    def __init__(self, parties: int, test: Callable[[Any], bool]) -> None:
        self.parties = parties
        self.test = test
        self.passed: set[int] = set()
        self.event = asyncio.Event()
        if parties == 0:
            self.event.set()

    def check(self, index: int, state: Any) -> None:
        if index not in self.passed and self.test(state):
            self.passed.add(index)
            if len(self.passed) >= self.parties:
                self.event.set()

    async def wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            return False
        return True


def refused(sockets: list[Socket]) -> None:
    """Raise at once on the first error frame a subscription got (an operation the
    server does not know, a refusal): waiting for it to go live would be in vain."""
    for socket in sockets:
        if socket.errors:
            raise RuntimeError(f"a subscription failed: {socket.errors[0]}")


def ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 2) if values else 0.0


# -- typing --------------------------------------------------------------------------


@dataclass
class TypingWatch:
    """One roomSignals subscriber: its TypingChanged frames (time, count, usernames)."""

    index: int
    frames: list[tuple[float, int, tuple[str, ...]]] = field(default_factory=list)
    others: int = 0
    gate: Gate | None = None

    def on(self, data: dict[str, Any], now: float) -> None:
        event = data["roomSignals"]
        if event["__typename"] != "TypingChanged":
            self.others += 1
            return
        users = tuple(u["username"] for u in event["users"])
        self.frames.append((now, event["count"], users))
        if self.gate is not None:
            self.gate.check(self.index, self)

    @property
    def last_count(self) -> int | None:
        return self.frames[-1][1] if self.frames else None


def max_in_window(times: list[float], width: float = 1.0) -> int:
    """The most of ``times`` (sorted) within any ``width`` seconds."""
    best, low = 0, 0
    for high, t in enumerate(times):
        while t - times[low] > width:
            low += 1
        best = max(best, high - low + 1)
    return best


async def typing(config: dict[str, Any], bases: list[str], users: list[User]) -> dict[str, Any]:
    typers, warm = users[: config["typers"]], users[config["typers"]]
    period, seconds = config["period"], config["seconds"]
    http = HttpGraphQL(bases[0], connections=len(typers))
    watches = [TypingWatch(n) for n in range(config["subscribers"])]

    async def subscriber(watch: TypingWatch) -> Socket:
        socket = await Socket.open(bases[0])  # anonymous: presence stays out of it
        await socket.subscribe("s", SIGNALS, {"room": ROOM}, watch.on)
        return socket

    sockets, failures = await open_all(subscriber(w) for w in watches)

    async def all_pass(test: Callable[[TypingWatch], bool], timeout: float) -> bool:
        gate = Gate(len(watches) - failures, test)
        for watch in watches:
            watch.gate = gate
            gate.check(watch.index, watch)
        return await gate.wait(timeout)

    # Live: every subscriber has seen the warm-up user type (set again each second: a
    # subscription that starts later gets the current state first).
    live = asyncio.create_task(
        all_pass(lambda w: any(warm.username in f[2] for f in w.frames), 120)
    )
    while not live.done():
        refused(sockets)
        await http(SET_TYPING, {"room": ROOM, "typing": True}, token=warm.token)
        await asyncio.wait([live], timeout=1.0)
    if not live.result():
        raise RuntimeError("subscribers did not go live")
    quiet = asyncio.create_task(all_pass(lambda w: w.last_count == 0, 30))
    await http(SET_TYPING, {"room": ROOM, "typing": False}, token=warm.token)
    if not await quiet:
        raise RuntimeError("the warm-up typing did not end")
    for watch in watches:
        watch.frames.clear()

    latencies: list[float] = []
    errors = 0

    async def set_typing(user: User, on: bool) -> None:
        nonlocal errors
        sent = time.monotonic()
        try:
            await http(SET_TYPING, {"room": ROOM, "typing": on}, token=user.token)
        except GraphQLError:
            errors += 1
        latencies.append(time.monotonic() - sent)

    async def typer(n: int, user: User) -> int:
        # Spread over the period, as 100 people typing at their own pace would be; a
        # client sends on its timer, whether or not the previous call was answered.
        calls = []
        due = started + n * period / len(typers)
        while due < started + seconds:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            calls.append(asyncio.create_task(set_typing(user, True)))
            due += period
        await asyncio.gather(*calls)
        return len(calls)

    mark("start")
    started = time.monotonic()
    calls = sum(await asyncio.gather(*(typer(n, u) for n, u in enumerate(typers))))
    stopped = time.monotonic()
    typing_latencies = list(latencies)
    mark("stop")
    full_at_stop = sum(w.last_count == len(typers) for w in watches)
    zero = asyncio.create_task(
        all_pass(lambda w: w.last_count == 0 and w.frames[-1][0] > stopped, 30)
    )
    await asyncio.gather(*(set_typing(u, False) for u in typers))
    all_zero = await zero
    ended = time.monotonic()
    mark("end")
    await http.close()

    # What one subscriber showed, second by second: the count at the end of each.
    timeline = [
        next((f[1] for f in reversed(watches[0].frames) if f[0] <= started + second), 0)
        for second in range(1, int(ended - started) + 2)
    ]
    typer_names = {u.username for u in typers}
    bad = 0
    rates, windows, counts = [], [], Counter[int]()
    gaps: list[float] = []  # between a subscriber's consecutive frames, as received
    for watch in watches:
        timed = [f[0] for f in watch.frames if f[0] <= stopped]
        rates.append(len(timed) / (stopped - started))
        windows.append(max_in_window(timed))
        gaps.extend(b[0] - a[0] for a, b in itertools.pairwise(watch.frames))
        for _, count, names in watch.frames:
            counts[count] += 1
            bad += not (
                0 <= count <= len(typers)
                and len(names) == min(count, 10)
                and len(set(names)) == len(names)
                and set(names) <= typer_names
            )
    for socket in sockets:
        await socket.close()
    live_count = len(watches) - failures
    return {
        "subscribers": len(watches),
        "typers": len(typers),
        "failures": failures,
        "seconds": round(stopped - started, 2),
        "set_typing_calls": calls + len(typers),
        "set_typing_errors": errors,
        "set_typing_p50_ms": ms(typing_latencies, 0.5),
        "set_typing_p99_ms": ms(typing_latencies, 0.99),
        "set_typing_false_p50_ms": ms(latencies[len(typing_latencies) :], 0.5),
        "set_typing_false_p99_ms": ms(latencies[len(typing_latencies) :], 0.99),
        "frames": sum(len(w.frames) for w in watches),
        "frames_per_s_mean": round(sum(rates) / len(rates), 2) if rates else 0.0,
        "frames_per_s_max": round(max(rates, default=0.0), 2),
        "max_frames_in_1s": max(windows, default=0),
        "subscribers_over_3_in_1s": sum(1 for w in windows if w > 3),
        "min_gap_ms": round(min(gaps, default=0.0) * 1000, 1),
        "gap_p1_ms": ms(gaps, 0.01),
        "other_signals": sum(w.others for w in watches),
        "full_at_stop": full_at_stop,
        "count_by_second": timeline,
        "seconds_to_zero": round(ended - stopped, 2),
        "bad_frames": bad,
        "check_failures": failures
        + bad
        + (live_count - full_at_stop)
        + (0 if all_zero else 1)
        + errors,
    }


# -- presence ------------------------------------------------------------------------


@dataclass
class PresenceWatch:
    """One observer: each user's online/offline deltas in order of arrival."""

    index: int
    seen: dict[str, list[bool]] = field(default_factory=dict)
    online: int = 0
    offline: int = 0
    frames: int = 0  # PresenceChanged (and anything unexpected)
    typing: int = 0  # TypingChanged (the warm-up's)
    bad: int = 0
    gate: Gate | None = None

    def on(self, data: dict[str, Any], now: float) -> None:
        event = data["roomSignals"]
        if event["__typename"] == "TypingChanged":
            self.typing += 1
            if self.gate is not None:
                self.gate.check(self.index, self)
            return
        self.frames += 1
        if event["__typename"] != "PresenceChanged" or not isinstance(event.get("user"), dict):
            self.bad += 1
            return
        deltas = self.seen.setdefault(event["user"]["username"], [])
        deltas.append(bool(event["online"]))
        if event["online"]:
            self.online += deltas.count(True) == 1
        else:
            self.offline += deltas.count(False) == 1
        if self.gate is not None:
            self.gate.check(self.index, self)


async def online_counts(https: list[HttpGraphQL], token: str) -> list[int]:
    data = await asyncio.gather(*(h(ONLINE_COUNT, {"room": ROOM}, token=token) for h in https))
    return [d["room"]["onlineCount"] for d in data]


async def presence(config: dict[str, Any], bases: list[str], users: list[User]) -> dict[str, Any]:
    count, observed = config["users"], config["observers"]
    members, observers, warm = users[:count], users[count : count + observed], users[-1]
    https = [HttpGraphQL(base, connections=4) for base in bases]
    watches = [PresenceWatch(n) for n in range(observed)]

    async def all_pass(test: Callable[[PresenceWatch], bool], timeout: float) -> bool:
        gate = Gate(len(watches), test)
        for watch in watches:
            watch.gate = gate
            gate.check(watch.index, watch)
        return await gate.wait(timeout)

    async def member(user: User, n: int) -> Socket:
        socket = await Socket.open(bases[n % len(bases)], user.token)
        await socket.subscribe("m", MESSAGE_ADDED, {"room": ROOM}, lambda data, now: None)
        return socket

    # Live: a subscription's first event is the current typing state when someone types,
    # so the observers subscribe while the warm-up user types.
    await https[0](SET_TYPING, {"room": ROOM, "typing": True}, token=warm.token)
    live = asyncio.create_task(all_pass(lambda w: w.typing > 0, 60))
    obs_sockets = []
    for watch, user in zip(watches, observers, strict=True):
        socket = await Socket.open(bases[watch.index % len(bases)], user.token)
        await socket.subscribe("s", SIGNALS, {"room": ROOM}, watch.on)
        obs_sockets.append(socket)
    if not await live:
        raise RuntimeError("observers did not go live")
    await https[0](SET_TYPING, {"room": ROOM, "typing": False}, token=warm.token)
    names = {u.username for u in members}
    observer_names = {u.username for u in observers}
    for watch in watches:
        watch.frames = watch.online = watch.offline = 0

    mark("start")
    started = time.monotonic()
    everyone_online = asyncio.create_task(all_pass(lambda w: w.online >= count, 600))
    sockets, failures = await open_all(member(u, n) for n, u in enumerate(members))
    connected = time.monotonic()
    all_online = await everyone_online
    online_at = time.monotonic()
    mark("online")
    middle = first_middle = await online_counts(https, observers[0].token)
    expected_middle = len(sockets) + observed
    # Eventually consistent across processes? Then how long until it is right.
    settle_middle = 0.0
    while middle != [expected_middle] * len(bases) and time.monotonic() - online_at < 30:
        await asyncio.sleep(0.2)
        middle = await online_counts(https, observers[0].token)
        settle_middle = time.monotonic() - online_at

    everyone_offline = asyncio.create_task(all_pass(lambda w: w.offline >= count, 600))
    leaving = time.monotonic()
    await asyncio.gather(*(s.close() for s in sockets))
    all_offline = await everyone_offline
    offline_at = time.monotonic()
    mark("offline")
    # Duplicates would come now if at all: the grace period once more, quiet.
    frames_before = sum(w.frames for w in watches)
    await asyncio.sleep(config.get("settle", 2.0))
    late_frames = sum(w.frames for w in watches) - frames_before
    final = await online_counts(https, observers[0].token)
    mark("end")

    wrong = 0
    for watch in watches:
        for name in names:
            wrong += watch.seen.get(name) != [True, False]
        # Anyone else seen: the observers themselves only.
        wrong += sum(1 for name in watch.seen if name not in names | observer_names)
    for socket in obs_sockets:
        await socket.close()
    for h in https:
        await h.close()
    return {
        "users": count,
        "observers": observed,
        "processes": len(bases),
        "failures": failures,
        "seconds_to_connect": round(connected - started, 2),
        "seconds_to_all_online": round(online_at - started, 2),
        "seconds_to_all_offline": round(offline_at - leaving, 2),
        "frames": sum(w.frames for w in watches),
        "frames_per_observer": [w.frames for w in watches],
        "late_frames": late_frames,
        "bad_frames": sum(w.bad for w in watches),
        "wrong_users": wrong,
        # Read once every observer had seen every user online; then until right.
        "online_count_middle_first": first_middle,
        "online_count_middle": middle,
        "online_count_middle_expected": expected_middle,
        "online_count_middle_settle_s": round(settle_middle, 2),
        "online_count_end": final,
        "online_count_end_expected": observed,
        "check_failures": failures
        + sum(w.bad for w in watches)
        + wrong
        + late_frames
        + (not all_online)
        + (not all_offline)
        + sum(c != expected_middle for c in middle)
        + sum(c != observed for c in final),
    }


# -- inbox ---------------------------------------------------------------------------


@dataclass
class Delivery:
    room: str
    seq: int
    unread: int | None
    sent: float
    at: float
    warm: bool


@dataclass
class InboxWatch:
    """One user's deliveries (RoomActivity, or roomEvents' MessagePosted)."""

    index: int
    deliveries: list[Delivery] = field(default_factory=list)
    others: Counter[str] = field(default_factory=Counter)
    stats: InboxStats | None = None

    def on_inbox(self, data: dict[str, Any], now: float) -> None:
        event = data["inbox"]
        if event["__typename"] != "RoomActivity":
            self.others[event["__typename"]] += 1
            return
        message = event["message"]
        self._record(event["room"]["name"], message, event["unreadCount"], now)

    def on_room_events(self, room: str) -> Handler:
        def on(data: dict[str, Any], now: float) -> None:
            event = data["roomEvents"]
            if event["__typename"] != "MessagePosted":
                self.others[event["__typename"]] += 1
                return
            self._record(room, event["message"], None, now)

        return on

    def _record(self, room: str, message: dict[str, Any], unread: int | None, now: float) -> None:
        kind, _, sent = message["text"].partition(":")
        sent_at = float(sent.split()[0])
        delivery = Delivery(room, message["seq"], unread, sent_at, now, kind == "warm")
        self.deliveries.append(delivery)
        if self.stats is not None:
            self.stats.delivered(self, delivery)


@dataclass
class InboxStats:
    expected: int = 0
    received: int = 0
    posting: bool = True
    last_receipt: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    gate: Gate | None = None

    def delivered(self, watch: InboxWatch, delivery: Delivery) -> None:
        if self.gate is not None:
            self.gate.check(watch.index, watch)
        if delivery.warm:
            return
        self.received += 1
        self.last_receipt = delivery.at
        self.settle()

    def settle(self) -> None:
        if not self.posting and self.received >= self.expected:
            self.done.set()


@dataclass
class Post:
    room: str
    seq: int
    author: int  # user index
    warm: bool


async def inbox(config: dict[str, Any], bases: list[str], users: list[User],
                rooms: list[Room]) -> dict[str, Any]:  # fmt: skip
    events = config["subscription"] == "roomEvents"
    http = HttpGraphQL(bases[0], connections=config.get("connections", 64))
    watches = [InboxWatch(n) for n in range(len(users))]
    stats = InboxStats()
    rooms_of: list[list[Room]] = [[] for _ in users]
    for room in rooms:
        for index in room.members:
            rooms_of[index].append(room)
    for watch in watches:
        watch.stats = stats

    async def subscriber(watch: InboxWatch) -> Socket:
        socket = await Socket.open(bases[0], users[watch.index].token)
        if events:
            for k, room in enumerate(rooms_of[watch.index]):
                await socket.subscribe(f"e{k}", ROOM_EVENTS, {"room": room.name},
                                       watch.on_room_events(room.name))  # fmt: skip
        else:
            await socket.subscribe("i", INBOX, {}, watch.on_inbox)
        return socket

    sockets, failures = await open_all(subscriber(w) for w in watches)
    posts: list[Post] = []
    post_errors = 0

    async def post(room: Room, author: int, text: str, warm: bool) -> bool:
        nonlocal post_errors
        try:
            data = await http(SEND, {"room": room.name, "text": text}, token=users[author].token)
        except (GraphQLError, OSError):
            post_errors += 1
            return False
        posts.append(Post(room.name, data["sendMessage"]["seq"], author, warm))
        return True

    # Live: every user has received something (each round posts once in every room).
    gate = Gate(len(watches) - failures, lambda w: bool(w.deliveries))
    stats.gate = gate
    deadline = time.monotonic() + 120
    while not gate.event.is_set():
        refused(sockets)
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(gate.passed)} of {gate.parties} users went live")
        await asyncio.gather(
            *(post(r, r.members[0], f"warm:{time.monotonic()}", True) for r in rooms if r.members)
        )
        await gate.wait(1.0)
    stats.gate = None
    await asyncio.sleep(0.5)  # stray warm-ups arrive before the timed phase

    mark("start")
    started = time.monotonic()
    tasks = []
    ticks = int(config["seconds"])
    for tick, (n, room) in itertools.product(range(ticks), enumerate(rooms)):
        # One post a second per room, the rooms' posts spread over the second.
        await asyncio.sleep(max(0.0, started + tick + n / len(rooms) - time.monotonic()))
        author = room.members[tick % len(room.members)]
        stats.expected += len(room.members)
        tasks.append(asyncio.create_task(post(room, author, f"m:{time.monotonic()}", False)))
    outcomes = await asyncio.gather(*tasks)
    posted = time.monotonic()
    # A post that failed is delivered to nobody.
    for ok, (_, room) in zip(outcomes, itertools.product(range(ticks), rooms), strict=True):
        stats.expected -= 0 if ok else len(room.members)
    stats.posting = False
    stats.settle()
    try:
        await asyncio.wait_for(stats.done.wait(), config.get("timeout", 120))
    except TimeoutError:
        pass
    mark("end")
    await http.close()

    # Each user: exactly the timed posts of their rooms, once each; unreadCount as of
    # the message: the room's messages up to it not by that user (nobody marks read).
    by_room: dict[str, list[Post]] = {}
    for p in posts:
        by_room.setdefault(p.room, []).append(p)
    missing = extra = unread_wrong = 0
    unread_sample: list[Any] = []
    for watch in watches:
        mine = {r.name for r in rooms_of[watch.index]}
        wanted = {(p.room, p.seq) for name in mine for p in by_room.get(name, []) if not p.warm}
        got = Counter((d.room, d.seq) for d in watch.deliveries if not d.warm)
        missing += len(wanted - set(got))
        extra += sum(n for key, n in got.items() if key not in wanted) + sum(
            n - 1 for key, n in got.items() if key in wanted and n > 1
        )
        if events:
            continue
        for d in watch.deliveries:
            if post_errors:
                break  # a post without a known seq: the counts are not knowable
            want = sum(1 for p in by_room[d.room] if p.seq <= d.seq and p.author != watch.index)
            if d.unread != want:
                unread_wrong += 1
                if len(unread_sample) < 5:
                    unread_sample.append([watch.index, d.room, d.seq, d.unread, want])
    latencies = [d.at - d.sent for w in watches for d in w.deliveries if not d.warm]
    elapsed = (stats.last_receipt or time.monotonic()) - started
    for socket in sockets:
        await socket.close()
    return {
        "users": len(users),
        "rooms": len(rooms),
        "subscription": config["subscription"],
        "failures": failures,
        "posts": sum(1 for p in posts if not p.warm),
        "seconds_posting": round(posted - started, 2),
        "deliveries": stats.received,
        "expected": stats.expected,
        "deliveries_per_s": round(stats.received / elapsed) if elapsed > 0 else 0,
        "p50_ms": ms(latencies, 0.5),
        "p99_ms": ms(latencies, 0.99),
        "max_ms": round(max(latencies, default=0.0) * 1000, 2),
        "post_errors": post_errors,
        "other_events": dict(sum((w.others for w in watches), Counter[str]())),
        "missing": missing,
        "extra": extra,
        "unread_wrong": unread_wrong,
        "unread_sample": unread_sample,
        "socket_errors": sum(len(s.errors) for s in sockets),
        "check_failures": failures + missing + extra + unread_wrong + post_errors,
    }


# -- main ----------------------------------------------------------------------------


def load_seed(path: str) -> tuple[list[User], list[Room]]:
    with open(path) as seed_file:
        seeded = json.load(seed_file)
    users = [User(int(i), str(name), str(token)) for i, name, token in seeded["users"]]
    rooms = [Room(int(i), str(name), tuple(members)) for i, name, members in seeded["rooms"]]
    return users, rooms


async def main(config: dict[str, Any], bases: list[str], seed: str) -> dict[str, Any]:
    users, rooms = load_seed(seed)
    mode = config["mode"]
    if mode == "typing":
        return await typing(config, bases, users)
    if mode == "presence":
        return await presence(config, bases, users)
    if mode == "inbox":
        return await inbox(config, bases, users, rooms)
    from bench.chatday import chat_day

    return await chat_day(config, bases, users, rooms)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="ws://host:port[,ws://host:port]")
    parser.add_argument("--config", required=True, help="the scenario, as JSON")
    parser.add_argument("--seed", required=True, help="bench/seed.py's output")
    options = parser.parse_args()
    scenario = json.loads(options.config)
    # A server that stops answering must not hang the whole run.
    outcome = asyncio.run(
        asyncio.wait_for(
            main(scenario, options.base.split(","), options.seed), scenario.get("deadline", 900)
        )
    )
    print("RESULT " + json.dumps(outcome), flush=True)
    sys.exit(0)
