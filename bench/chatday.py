"""The ``chat-day`` scenario: a realistic mix of issue 14's traffic (bench/signals.py).

Users sit in group rooms of Zipf-like sizes (2..200, seeded) and a few direct rooms they
open with ``directRoom``. Each holds one socket with ``inbox`` plus ``roomEvents`` and
``roomSignals`` of the one room they have open, and about once per ``post_every`` seconds
types (``setTyping``) and posts over HTTP, in their open room mostly, sometimes
mentioning someone. A user marks their open room read as others' messages arrive, as the
browser page does (frontend/src/signals.ts: one request at a time, at most one every
``mark_every`` seconds, 2 by default, and never for their own posts); other rooms only
count up in the inbox.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.client import ROOM_EVENTS
from bench.gqlhttp import GraphQLError, HttpGraphQL
from bench.signals import (
    DIRECT_ROOM,
    INBOX,
    MARK_READ,
    SEND,
    SET_TYPING,
    SIGNALS,
    Gate,
    Room,
    Socket,
    User,
    direct_rooms,
    ms,
    open_all,
    refused,
)

__all__ = ["chat_day"]


@dataclass
class Person:
    """One user's client: their rooms, open room and what they received."""

    index: int
    user: User
    rooms: list[Room] = field(default_factory=list)
    open_room: Room | None = None
    # (room, seq) of RoomActivity received, and post->receipt latencies.
    activity: Counter[tuple[str, int]] = field(default_factory=Counter)
    inbox_latency: list[float] = field(default_factory=list)
    open_latency: list[float] = field(default_factory=list)
    mentioned: int = 0
    unread_changed: int = 0
    signals: Counter[str] = field(default_factory=Counter)
    read_seq: int = 0
    read_pending: int = 0
    read_task: asyncio.Task[None] | None = None


async def chat_day(config: dict[str, Any], bases: list[str], users: list[User],
                   rooms: list[Room]) -> dict[str, Any]:  # fmt: skip
    rng = random.Random(config.get("random_seed", 14))
    # Each user's requests go to the process that holds their socket (as a load balancer
    # with sticky sessions would send them); one process: all of them.
    https = [HttpGraphQL(base, connections=config.get("connections", 64)) for base in bases]
    people = [Person(n, u) for n, u in enumerate(users)]
    errors: Counter[str] = Counter()

    async def call(what: str, query: str, variables: dict[str, Any], person: Person) -> Any:
        try:
            http = https[person.index % len(https)]
            return await http(query, variables, token=person.user.token)
        except (GraphQLError, OSError):
            errors[what] += 1
            return None

    # Direct rooms: some users open one with someone else (both become members).
    for _ in range(direct_rooms(config)):
        a, b = rng.sample(people, 2)
        data = await call("directRoom", DIRECT_ROOM, {"u": b.user.username}, a)
        if data is not None:
            room = data["directRoom"]
            rooms.append(Room(int(room["id"]), room["name"], (a.index, b.index)))
    for room in rooms:
        for index in room.members:
            people[index].rooms.append(room)
    for person in people:
        person.open_room = rng.choice(person.rooms) if person.rooms else None

    timed = False
    started = 0.0
    # Off (mark_read=false): what the read markers' traffic costs, by difference.
    mark_reads = bool(config.get("mark_read", True))
    mark_every = float(config.get("mark_every", 2.0))

    def on_inbox(person: Person) -> Any:
        def on(data: dict[str, Any], now: float) -> None:
            event = data["inbox"]
            kind = event["__typename"]
            if kind == "RoomActivity":
                text = event["message"]["text"]
                if text.startswith("m:") and timed:
                    person.activity[event["room"]["name"], event["message"]["seq"]] += 1
                    person.inbox_latency.append(now - float(text[2:].split()[0]))
                gate.check(person.index, person)
            elif kind == "Mentioned":
                person.mentioned += timed
            elif kind == "UnreadChanged":
                person.unread_changed += 1

        return on

    def on_open_room(person: Person) -> Any:
        def on(data: dict[str, Any], now: float) -> None:
            event = data["roomEvents"]
            if event["__typename"] != "MessagePosted":
                return
            message = event["message"]
            if message["text"].startswith("m:") and timed:
                person.open_latency.append(now - float(message["text"][2:].split()[0]))
            if mark_reads and message["author"]["username"] != person.user.username:
                read_soon(person, message["seq"])

        return on

    def on_signal(person: Person) -> Any:
        def on(data: dict[str, Any], now: float) -> None:
            person.signals[data["roomSignals"]["__typename"]] += 1

        return on

    def read_soon(person: Person, seq: int) -> None:
        # A visible page marks read as others' messages arrive, at most every mark_every s.
        person.read_pending = max(person.read_pending, seq)
        if person.read_task is None or person.read_task.done():
            person.read_task = asyncio.create_task(mark_read(person))

    async def mark_read(person: Person) -> None:
        assert person.open_room is not None
        while person.read_pending > person.read_seq:
            seq = person.read_seq = person.read_pending
            await call("markRead", MARK_READ, {"room": person.open_room.name, "seq": seq}, person)
            await asyncio.sleep(mark_every)

    async def connect(person: Person) -> Socket:
        socket = await Socket.open(bases[person.index % len(bases)], person.user.token)
        await socket.subscribe("i", INBOX, {}, on_inbox(person))
        if person.open_room is not None:
            variables = {"room": person.open_room.name}
            await socket.subscribe("e", ROOM_EVENTS, variables, on_open_room(person))
            await socket.subscribe("s", SIGNALS, variables, on_signal(person))
        return socket

    # Live: every user has had a RoomActivity (a warm-up post in each room).
    with_rooms = [p for p in people if p.rooms]
    gate = Gate(len(with_rooms), lambda p: True)
    sockets, failures = await open_all(connect(p) for p in people)
    gate.parties -= failures
    deadline = time.monotonic() + 120
    while not gate.event.is_set():
        refused(sockets)
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(gate.passed)} of {gate.parties} users went live")
        await asyncio.gather(*(
            call("warm", SEND, {"room": r.name, "text": "warm:0"}, people[r.members[0]])
            for r in rooms
        ))  # fmt: skip
        await gate.wait(2.0)
    await asyncio.sleep(1.0)  # the warm-ups' reads and signals settle
    gate = Gate(0, lambda p: True)

    posts: list[tuple[str, int, int]] = []  # room, seq, author index
    mentions_expected = 0
    period, typing_s = config.get("post_every", 60.0), config.get("typing_seconds", 1.0)

    async def person_loop(person: Person) -> None:
        nonlocal mentions_expected
        if not person.rooms:
            return
        # Spread over the period, then one post per period (jittered by +-20%).
        due = started + period * person.index / len(people)
        while due < started + config["seconds"]:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            room = person.open_room if rng.random() < 0.7 else rng.choice(person.rooms)
            assert room is not None
            await call("setTyping", SET_TYPING, {"room": room.name, "typing": True}, person)
            await asyncio.sleep(typing_s)
            text = f"m:{time.monotonic()}"
            others = [m for m in room.members if m != person.index]
            mention = others and rng.random() < 0.1
            if mention:
                text += f" @{users[rng.choice(others)].username}"
            data = await call("sendMessage", SEND, {"room": room.name, "text": text}, person)
            if data is not None:
                posts.append((room.name, data["sendMessage"]["seq"], person.index))
                mentions_expected += bool(mention)
            due += period * rng.uniform(0.8, 1.2)

    from bench.client import mark

    mark("start")
    started = time.monotonic()
    timed = True
    await asyncio.gather(*(person_loop(p) for p in people))
    posted = time.monotonic()
    # Until every post has reached every member's inbox (or ``drain`` seconds: a
    # server that fell behind catches up here, and its CPU counts).
    by_room: dict[str, list[int]] = {}
    for room_name, seq, _ in posts:
        by_room.setdefault(room_name, []).append(seq)
    members = {r.name: r.members for r in rooms}
    expected = sum(len(members[name]) * len(seqs) for name, seqs in by_room.items())
    while time.monotonic() - posted < config.get("drain", 120):
        if sum(sum(p.activity.values()) for p in people) >= expected:
            break
        await asyncio.sleep(0.2)
    mark("end")
    ended = time.monotonic()

    missing = extra = 0
    for person in people:
        wanted = {(r.name, seq) for r in person.rooms for seq in by_room.get(r.name, [])}
        missing += len(wanted - set(person.activity))
        extra += sum(n for key, n in person.activity.items() if key not in wanted)
        extra += sum(n - 1 for key, n in person.activity.items() if key in wanted and n > 1)
    inbox_latency = [x for p in people for x in p.inbox_latency]
    open_latency = [x for p in people for x in p.open_latency]
    for socket in sockets:
        await socket.close()
    for http in https:
        await http.close()
    sizes = sorted((len(r.members) for r in rooms), reverse=True)
    signals = sum((p.signals for p in people), Counter[str]())
    return {
        "users": len(users),
        "rooms": len(rooms),
        "direct_rooms": sum(1 for r in rooms if r.name.startswith("dm-")),
        "room_sizes_top": sizes[:5],
        "memberships": sum(sizes),
        "failures": failures,
        "seconds": round(ended - started, 2),
        "posts": len(posts),
        "posts_per_s": round(len(posts) / (posted - started), 2),
        "inbox_deliveries": sum(sum(p.activity.values()) for p in people),
        "inbox_expected": expected,
        "missing": missing,
        "extra": extra,
        "mentions_expected": mentions_expected,
        "mentioned": sum(p.mentioned for p in people),
        "unread_changed": sum(p.unread_changed for p in people),
        "signals": dict(signals),
        "errors": dict(errors),
        "inbox_p50_ms": ms(inbox_latency, 0.5),
        "inbox_p99_ms": ms(inbox_latency, 0.99),
        "open_room_p50_ms": ms(open_latency, 0.5),
        "open_room_p99_ms": ms(open_latency, 0.99),
        "check_failures": failures
        + missing
        + extra
        + sum(errors.values())
        + abs(sum(p.mentioned for p in people) - mentions_expected),
    }
