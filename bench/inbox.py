"""The ``inbox`` and ``inbox-roomevents`` scenarios (bench/signals.py runs them).

1,000 users, each in 20 of 200 rooms, hold one ``inbox`` subscription each (or, to compare,
``roomEvents`` of each of their rooms) while every room gets one post a second over HTTP.
Each user must get exactly the RoomActivity (MessagePosted) of their rooms' posts, once, and
every ``unreadCount`` must be the room's messages up to that one not by the user.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.client import ROOM_EVENTS, mark
from bench.gqlhttp import GraphQLError, HttpGraphQL
from bench.signals import INBOX, SEND, Gate, Handler, Room, Socket, User, ms, open_all, refused

__all__ = ["inbox"]


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
