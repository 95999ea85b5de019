"""Redis behind Sentinel: the master SIGKILLed mid-stream, a replica promoted, and
nothing lost or doubled (README "Scaling out", Redis failover)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async

from chat.models import Message
from tests import factories
from tests.daphne import ROOT, Daphne, daphnes_running
from tests.feeds import MESSAGES, SEND, ws_subscribe
from tests.sentinel import MASTER_NAME, SentinelCluster, sentinel_cluster
from tests.servers import PostgresServer, RedisServer

POSTS = 400
KILL_AFTER = 100
# Posted between the kill and the promotion (or until it, if all are answered first).
DURING_FAILOVER = 250
SUBSCRIBERS = 10


@pytest.fixture
def cluster() -> Iterator[SentinelCluster]:
    with sentinel_cluster() as running:
        yield running


class Subscriber:
    """A client of ``messageAdded`` that, when its socket drops, reconnects and resumes
    after the last seq it has (as the browser page does)."""

    def __init__(self, daphne: Daphne, room: str) -> None:
        self.daphne = daphne
        self.room = room
        self.seqs: list[int] = []
        self.arrivals: list[float] = []
        self.reconnects = 0

    async def run(self, last: int, started: asyncio.Event, release: asyncio.Event) -> None:
        """Receive seqs up to ``last``, then hold the socket open until ``release``."""
        while not self.seqs or self.seqs[-1] < last:
            after = self.seqs[-1] if self.seqs else 0
            try:
                ws = await ws_subscribe(
                    self.daphne.ws_url, MESSAGES.subscription(self.room), {"after": after}
                )
                try:
                    while not self.seqs or self.seqs[-1] < last:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                        self.seqs.append(MESSAGES.of(frame)["seq"])
                        self.arrivals.append(time.monotonic())
                        started.set()
                    await release.wait()
                finally:
                    await ws.close()
            except (websockets.ConnectionClosed, OSError):
                self.reconnects += 1

    def arrival_of(self, seq: int) -> float:
        return self.arrivals[self.seqs.index(seq)]


class Poster:
    """Posts ``text n`` for n = 1.. in order, alternating processes; a post that fails is
    retried (with the same text) until it succeeds, and its failures are kept."""

    def __init__(self, daphnes: tuple[Daphne, ...], room: str, token: str) -> None:
        self.daphnes = daphnes
        self.room = room
        self.token = token
        self.failures: list[str] = []
        self.answered: list[tuple[int, float]] = []  # (seq, when its answer came)

    def post(self, n: int) -> None:
        daphne = self.daphnes[n % len(self.daphnes)]
        while True:
            try:
                result = daphne.post(SEND, {"room": self.room, "t": f"post {n}"}, self.token)
            except (urllib.error.URLError, OSError) as error:
                self.failures.append(f"{type(error).__name__}: {error}")
                continue
            if "errors" in result:
                # A failure must say what it is: a stable code, no traceback.
                codes = [e.get("extensions", {}).get("code") for e in result["errors"]]
                assert all(codes), result
                self.failures.append(",".join(codes))
                continue
            sent = result["data"]["sendMessage"]
            assert sent["seq"] == n, (n, result)
            self.answered.append((n, time.monotonic()))
            return


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
async def test_master_killed_mid_stream_fails_over_and_loses_nothing(
    cluster: SentinelCluster,
    redis_server: RedisServer,
    postgres_server: PostgresServer,
    alice: factories.Member,
) -> None:
    """Two daphnes on Sentinel, 10 subscribers (5 on each), a poster posting 400 messages
    through both; the master is SIGKILLed after 100. The replica is promoted; every post
    is answered (retried on a failure), and every subscriber ends with seqs 1..400 exactly
    once, in order; the database holds 400 messages. Default settings (resync every 5 s).

    Run with -s for the figures (README "Redis failover"); timings are not asserted."""
    env = {
        # Sentinel, not the session's Redis.
        "REDIS_URL": "",
        "REDIS_SENTINELS": cluster.sentinels_env,
        "REDIS_SENTINEL_MASTER": MASTER_NAME,
        "CHAT_RATE_LIMIT": "0",
        "CHAT_MAX_SOCKETS_PER_IP": "0",
    }
    room = "failover"
    with daphnes_running(2, redis_server, postgres_server, **env) as daphnes:
        poster = Poster(daphnes, room, alice.token)
        await asyncio.to_thread(poster.post, 1)  # the room exists from here
        subscribers = [Subscriber(daphnes[n % 2], room) for n in range(SUBSCRIBERS)]
        started = [asyncio.Event() for _ in subscribers]
        release = asyncio.Event()
        runs = [
            asyncio.create_task(s.run(POSTS, e, release))
            for s, e in zip(subscribers, started, strict=True)
        ]
        for event in started:
            await asyncio.wait_for(event.wait(), 30)
        # Both processes reach the room's group through the master the sentinels name.
        assert cluster.group_subscribers(f"chat.room.{room}") == 2

        failover: dict[str, float] = {}

        def promoted() -> bool:
            if cluster.master_port() in (None, failover["old_port"]):
                return False
            failover.setdefault("promoted", time.monotonic())
            return True

        def post_all() -> None:
            for n in range(2, POSTS + 1):
                if n == KILL_AFTER + 1:
                    old = cluster.kill_master()
                    failover["killed"] = time.monotonic()
                    failover["old_port"] = old
                if n == DURING_FAILOVER + 1:
                    # Posts never wait on Redis: the ones above can all be answered before
                    # the sentinels agree. Hold the rest until they have, so that they go
                    # through the promoted replica.
                    deadline = time.monotonic() + 60
                    while not promoted():
                        assert time.monotonic() < deadline, "no new master in 60 s"
                        time.sleep(0.02)
                poster.post(n)
                if "killed" in failover and "first_after" not in failover and promoted():
                    failover["first_after"] = n + 1

        await asyncio.to_thread(post_all)
        deadline = time.monotonic() + 60
        while any(s.seqs[-1] < POSTS for s in subscribers):
            assert time.monotonic() < deadline, [s.seqs[-1] for s in subscribers]
            await asyncio.sleep(0.05)
        # ... and, after the failover, through the promoted replica (the sockets still open).
        assert cluster.group_subscribers(f"chat.room.{room}") == 2
        release.set()
        await asyncio.wait_for(asyncio.gather(*runs), 30)

    everything = list(range(1, POSTS + 1))
    for subscriber in subscribers:
        assert subscriber.seqs == everything
    stored = await sync_to_async(
        lambda: list(Message.objects.filter(room__name=room).values_list("seq", flat=True))
    )()
    assert sorted(stored) == everything
    assert "promoted" in failover, "the sentinels never named a new master"

    killed = failover["killed"]
    first_after = int(failover["first_after"])
    resume = max(s.arrival_of(first_after) for s in subscribers) - killed
    stall = max(
        max(b - a for a, b in zip(s.arrivals, s.arrivals[1:], strict=False)) for s in subscribers
    )
    figures: dict[str, Any] = {
        "promoted_after_s": round(failover["promoted"] - killed, 2),
        "posts_answered_before_promotion": first_after - 1 - KILL_AFTER,
        "resumed_after_s": round(resume, 2),
        "longest_delivery_gap_s": round(stall, 2),
        "post_failures_retried": len(poster.failures),
        "failure_kinds": sorted(set(poster.failures)),
        "subscriber_reconnects": sum(s.reconnects for s in subscribers),
        "lost": 0,
        "duplicated": 0,
    }
    print("sentinel failover:", json.dumps(figures))


TYPING = "mutation($room: String!) { setTyping(room: $room, typing: true) }"


def healthz(daphne: Daphne) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{daphne.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


APQ_QUERY = "query Apq { __typename }"


def apq_register(daphne: Daphne, token: str) -> dict[str, Any]:
    """Send APQ_QUERY with its hash, as Apollo's link does after PERSISTED_QUERY_NOT_FOUND."""
    sha = hashlib.sha256(APQ_QUERY.encode()).hexdigest()
    body = {
        "query": APQ_QUERY,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha}},
    }
    request = urllib.request.Request(
        daphne.http_url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
async def test_rate_limits_presence_typing_and_health_use_the_sentinel_master(
    cluster: SentinelCluster,
    redis_server: RedisServer,
    postgres_server: PostgresServer,
    alice: factories.Member,
) -> None:
    """Every Redis use besides the channel layer finds the master through the sentinels:
    the post rate limit and typing count there, persisted queries are registered there, a
    subscriber's presence is held there,
    and /healthz pings it (503 while no master is known, 200 again after the failover)."""
    env = {
        "REDIS_URL": "",
        "REDIS_SENTINELS": cluster.sentinels_env,
        "REDIS_SENTINEL_MASTER": MASTER_NAME,
        "CHAT_RATE_LIMIT": "3/3600",
    }
    room = "watched"
    with daphnes_running(1, redis_server, postgres_server, **env) as (daphne,):
        assert healthz(daphne) == (200, {"database": "ok", "redis": ["ok"]})
        # Each check closes what it opened, its connections to the sentinels included.
        before = cluster.sentinel_clients()
        for _ in range(20):
            assert healthz(daphne)[0] == 200
        assert cluster.sentinel_clients() == before
        for n in (1, 2):
            sent = daphne.post(SEND, {"room": room, "t": f"post {n}"}, alice.token)
            assert sent["data"]["sendMessage"]["seq"] == n
        # A room typed in only after the failover.
        assert daphne.post(SEND, {"room": "other", "t": "hi"}, alice.token)["data"]
        refused = daphne.post(SEND, {"room": room, "t": "post 3"}, alice.token)
        assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert len(cluster.master_keys("chat:rate:send:*")) == 1

        # Automatic persisted queries: registered in the store every process shares.
        assert apq_register(daphne, alice.token) == {"data": {"__typename": "Query"}}
        assert sorted(cluster.master_keys("chat:{apq}:*")) == [
            "chat:{apq}:bytes",
            "chat:{apq}:docs",
            "chat:{apq}:times",
        ]

        assert daphne.post(TYPING, {"room": room}, alice.token) == {"data": {"setTyping": True}}
        assert cluster.master_keys(f"chat:typing:{{{room}}}:*") == [
            f"chat:typing:{{{room}}}:names",
            f"chat:typing:{{{room}}}:until",
        ]
        ws = await ws_subscribe(
            daphne.ws_url,
            MESSAGES.subscription(room),
            {"after": 2},
            init={"authToken": alice.token},
        )
        try:
            deadline = time.monotonic() + 10
            while not cluster.master_keys(f"chat:presence:{{{room}}}:*"):
                assert time.monotonic() < deadline, "no presence hold on the master"
                await asyncio.sleep(0.05)
        finally:
            await ws.close()

        old = cluster.kill_master()
        status, body = healthz(daphne)
        assert status == 503
        assert body["database"] == "ok"
        assert body["redis"][0].startswith("error: ")
        deadline = time.monotonic() + 30
        while cluster.master_port() in (None, old) or healthz(daphne)[0] != 200:
            assert time.monotonic() < deadline, "no master after the failover"
            await asyncio.sleep(0.1)
        assert healthz(daphne) == (200, {"database": "ok", "redis": ["ok"]})
        assert daphne.post(TYPING, {"room": "other"}, alice.token) == {"data": {"setTyping": True}}
        assert cluster.master_keys("chat:typing:{other}:*") == [
            "chat:typing:{other}:names",
            "chat:typing:{other}:until",
        ]


REDIS_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({"shards": settings.REDIS_SHARDS, "layer": settings.CHANNEL_LAYERS}))
"""


def redis_settings(**env: str) -> tuple[int, str]:
    """The Redis settings a process started with ``env`` gets: (0, JSON) or (1, error)."""
    result = subprocess.run(
        [sys.executable, "-c", REDIS_SETTINGS],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "project.settings", **env},
        capture_output=True,
        text=True,
    )
    if result.returncode:
        return 1, result.stderr.strip().splitlines()[-1]
    return 0, result.stdout


def test_sentinel_settings_from_the_environment() -> None:
    code, out = redis_settings(
        REDIS_SENTINELS="10.0.0.1:26379, sentinel-b:26380,[::1]:26381",
        REDIS_SENTINEL_MASTER="chat-a,chat-b",
        REDIS_PASSWORD="master-secret",
        REDIS_SENTINEL_PASSWORD="sentinel-secret",
        REDIS_DB="2",
    )
    assert code == 0, out
    shard = {
        "sentinels": [["10.0.0.1", 26379], ["sentinel-b", 26380], ["::1", 26381]],
        "sentinel_kwargs": {
            "password": "sentinel-secret",
            "socket_timeout": 0.5,
            "socket_connect_timeout": 0.5,
        },
        "password": "master-secret",
        "db": 2,
    }
    shards = [{**shard, "master_name": name} for name in ("chat-a", "chat-b")]
    got = json.loads(out)
    assert [dict(sorted(s.items())) for s in got["shards"]] == [
        dict(sorted(s.items())) for s in shards
    ]
    assert got["layer"]["default"]["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert got["layer"]["default"]["CONFIG"]["hosts"] == [
        {**s, "max_connections": 64} for s in got["shards"]
    ]


def test_plain_redis_urls_are_unchanged() -> None:
    code, out = redis_settings(REDIS_URL="redis://a:6379/0,redis://b:6379/0")
    assert code == 0, out
    assert json.loads(out)["shards"] == [
        {"address": "redis://a:6379/0"},
        {"address": "redis://b:6379/0"},
    ]


@pytest.mark.parametrize(
    ("env", "error"),
    [
        (
            {"REDIS_SENTINELS": "s:26379"},
            "REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together.",
        ),
        (
            {"REDIS_SENTINEL_MASTER": "chat"},
            "REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together.",
        ),
        (
            {"REDIS_SENTINELS": "s", "REDIS_SENTINEL_MASTER": "chat"},
            "REDIS_SENTINELS: 's' is not host:port.",
        ),
        (
            {"REDIS_SENTINELS": "s:x", "REDIS_SENTINEL_MASTER": "chat"},
            "REDIS_SENTINELS: 's:x' is not host:port.",
        ),
        (
            {"REDIS_SENTINELS": "s:1", "REDIS_SENTINEL_MASTER": "c", "REDIS_URL": "redis://r"},
            "Set REDIS_URL or REDIS_SENTINELS, not both.",
        ),
    ],
)
def test_sentinel_settings_refused(env: dict[str, str], error: str) -> None:
    assert redis_settings(**env) == (
        1,
        f"django.core.exceptions.ImproperlyConfigured: {error}",
    )
