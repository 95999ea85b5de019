"""A rolling restart behind the load balancer loses and doubles nothing.

Two daphnes behind the repository's nginx (tests/lb.py); 20 subscribers and a poster go
through nginx. Each daphne in turn gets a SIGTERM while one of the poster's posts is in
its database call (the test holds a lock the insert needs, on purpose), the lock is
released once the process has stopped accepting, and the daphne is started again on its
port. Subscribers closed with 1012 reconnect through nginx and resume (``afterSeq``); the
poster retries any failure with the post's clientId.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
import websockets
from asgiref.sync import sync_to_async
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families
from websockets.typing import Subprotocol

from chat import services
from chat.models import Message
from tests import factories
from tests.conftest import wait_for
from tests.daphne import Daphne, daphne_env, start_daphne
from tests.lb import CONFIG, LoadBalancer, load_balancer
from tests.servers import PostgresServer, RedisServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

POSTS = 500
SUBSCRIBERS = 20
SHUTDOWN_SECONDS = 6
ROOM = "lobby"
SEND = """mutation Send($room: String!, $text: String!, $clientId: String!) {
  sendMessage(room: $room, text: $text, clientId: $clientId) { seq text }
}"""
WATCH = "subscription Watch($room: String!, $after: Int) {\
 messageAdded(room: $room, afterSeq: $after) { seq text } }"
# The poster's pause after each post: the stream must outlast two restarts (each a start of
# daphne, a few seconds on a busy machine).
PACE_SECONDS = 0.05
# nginx skips a server for this long after a failed connection (deploy/nginx.conf).
FAIL_TIMEOUT_SECONDS = int(re.search(r"fail_timeout=(\d+)s", CONFIG.read_text()).group(1))  # type: ignore[union-attr]
# Refusals a client retries (nginx's, or a stopping process's).
TRANSIENT = {"SERVICE_UNAVAILABLE"}


@dataclass
class Poster:
    answers: dict[int, int] = field(default_factory=dict)  # post number: seq answered
    retries: int = 0
    # The numbers of the posts that needed a retry.
    retried: set[int] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    done: int = 0


@dataclass
class Subscriber:
    seqs: list[int] = field(default_factory=list)
    closes: list[int | str | None] = field(default_factory=list)


@dataclass
class Restart:
    name: str
    exit_code: int | None = None
    exit_seconds: float | None = None
    answered_while_stopping: bool = False


def _error_kind(line: str) -> str:
    """nginx's error line without its time, ids and request: what went wrong."""
    message = line.split("[error] ", 1)[-1]
    return re.sub(r"^\d+#\d+: \*\d+ ", "", message).split(", client:")[0]


def _post_once(balancer: LoadBalancer, token: str, variables: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        balancer.http_url,
        data=json.dumps({"query": SEND, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


async def post_all(balancer: LoadBalancer, token: str, poster: Poster) -> None:
    """Post POSTS messages one after the other, each retried with its clientId until it
    is answered."""
    for number in range(1, POSTS + 1):
        variables = {"room": ROOM, "text": f"m{number}", "clientId": str(uuid.uuid4())}
        while True:
            try:
                body = await asyncio.to_thread(_post_once, balancer, token, variables)
            except urllib.error.HTTPError as error:
                poster.failures.append(f"HTTP {error.code}")
            except (urllib.error.URLError, OSError, ValueError) as error:
                poster.failures.append(type(error).__name__)
            else:
                errors = body.get("errors")
                if not errors:
                    poster.answers[number] = body["data"]["sendMessage"]["seq"]
                    break
                codes = {error.get("extensions", {}).get("code") for error in errors}
                assert codes <= TRANSIENT, body
                poster.failures.append(",".join(sorted(map(str, codes))))
            poster.retries += 1
            poster.retried.add(number)
            await asyncio.sleep(0.05)
        poster.done = number
        await asyncio.sleep(PACE_SECONDS)


async def subscribe(balancer: LoadBalancer, subscriber: Subscriber) -> None:
    """Follow the room through nginx until seq POSTS; on any close, reconnect at once and
    resume after the last seq received."""
    while not subscriber.seqs or subscriber.seqs[-1] < POSTS:
        try:
            async with websockets.connect(
                balancer.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
            ) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
                assert json.loads(await ws.recv()) == {"type": "connection_ack"}
                after = subscriber.seqs[-1] if subscriber.seqs else 0
                payload = {"query": WATCH, "variables": {"room": ROOM, "after": after}}
                await ws.send(json.dumps({"id": "w", "type": "subscribe", "payload": payload}))
                async for raw in ws:
                    frame = json.loads(raw)
                    assert frame["type"] == "next" and "errors" not in frame["payload"], frame
                    subscriber.seqs.append(frame["payload"]["data"]["messageAdded"]["seq"])
                    if subscriber.seqs[-1] == POSTS:
                        return
                subscriber.closes.append(ws.close_code)
        except websockets.ConnectionClosed as closed:
            subscriber.closes.append(None if closed.rcvd is None else closed.rcvd.code)
        except (OSError, websockets.InvalidStatus, TimeoutError) as error:
            # nginx could not reach a process (both restarting): try again shortly.
            subscriber.closes.append(type(error).__name__)
            await asyncio.sleep(0.05)


def _lock_waiters(dsn: str) -> list[str]:
    """The application names of the backends waiting for a lock."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchall()
    return [row[0] for row in rows]


async def restart_during_a_post(
    daphnes: list[Daphne], index: int, name: str, env: dict[str, str], dsn: str, poster: Poster
) -> Restart:
    """SIGTERM ``daphnes[index]`` while one of the poster's posts waits in its database
    call on it, release the lock once it has stopped accepting, and start it again (in
    its place in ``daphnes``)."""
    daphne = daphnes[index]
    restart = Restart(name)
    while True:
        holder = await psycopg.AsyncConnection.connect(dsn)
        try:
            # The insert needs ROW EXCLUSIVE on chat_message: it waits for this.
            await holder.execute("LOCK TABLE chat_message IN SHARE ROW EXCLUSIVE MODE")
            answered = poster.done
            await wait_for(lambda: _lock_waiters(dsn), timeout=30)
            if _lock_waiters(dsn) != [name]:
                # That post went to the other process: let it through, try the next one.
                await holder.rollback()
                await wait_for(lambda n=answered: poster.done > n, timeout=30)
                continue
            pending = poster.done + 1
            daphne.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            await wait_for(daphne.refuses_connections, timeout=10)
            await holder.rollback()
        finally:
            await holder.close()
        break
    restart.exit_code = await asyncio.to_thread(daphne.process.wait, SHUTDOWN_SECONDS + 5)
    restart.exit_seconds = round(time.monotonic() - signalled, 2)
    # The post in flight was answered by the stopping process, not retried elsewhere.
    restart.answered_while_stopping = pending in poster.answers and pending not in poster.retried
    started = daphnes[index] = await asyncio.to_thread(start_daphne, env, port=daphne.port)
    # Back in nginx's rotation before the next restart, as a deploy waits for a replica's
    # health before stopping the next: it has served a post, and the failures nginx saw
    # while it was down have expired (nginx skips a server for fail_timeout after a failed
    # connection, and offers no event for the end of that: the wait is fail_timeout).
    await wait_for(lambda: published(started) > 0, timeout=30)
    await asyncio.sleep(FAIL_TIMEOUT_SECONDS)
    return restart


def published(daphne: Daphne) -> float:
    """chat_messages_published_total of ``daphne`` (asked directly, not through nginx)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{daphne.port}/metrics", timeout=5) as response:
        for family in text_string_to_metric_families(response.read().decode()):
            if family.name == "chat_messages_published":
                return sum(
                    sample.value for sample in family.samples if sample.name.endswith("_total")
                )
    return 0.0


@pytest.fixture
def envs(
    django_db_setup: None, redis_server: RedisServer, postgres_server: PostgresServer
) -> dict[str, dict[str, str]]:
    base = daphne_env(
        redis_server,
        postgres_server,
        connection.settings_dict["NAME"],
        CHAT_SHUTDOWN_SECONDS=str(SHUTDOWN_SECONDS),
        CHAT_RATE_LIMIT="100000/10",
        CHAT_MAX_SOCKETS_PER_IP="0",
        CHAT_KEEPALIVE_SECONDS="0",
        # What a subscriber gets comes from a publish or its own resume, not the resync.
        CHAT_RESYNC_SECONDS="3600",
    )
    # libpq names each process's connections: the test tells whose post waits.
    return {name: {**base, "PGAPPNAME": name} for name in ("app1", "app2")}


@pytest.fixture
def daphnes(envs: dict[str, dict[str, str]]) -> Iterator[list[Daphne]]:
    started = [start_daphne(envs["app1"]), start_daphne(envs["app2"])]
    yield started
    for daphne in started:
        if daphne.process.poll() is None:
            daphne.process.kill()
            daphne.process.wait()


async def test_a_rolling_restart_loses_and_doubles_nothing(
    envs: dict[str, dict[str, str]], daphnes: list[Daphne], alice: factories.Member
) -> None:
    await sync_to_async(services.room_get_or_create)(name=ROOM)
    dsn = envs["app1"]["DATABASE_URL"]
    poster = Poster()
    subscribers = [Subscriber() for _ in range(SUBSCRIBERS)]
    restarts: list[Restart] = []
    with load_balancer([daphne.port for daphne in daphnes]) as balancer:
        listening = [asyncio.create_task(subscribe(balancer, s)) for s in subscribers]
        posting = asyncio.create_task(post_all(balancer, alice.token, poster))
        await wait_for(lambda: poster.done >= POSTS // 10, timeout=120)
        # One after the other: the second once the first is back in nginx's rotation.
        for index, name in enumerate(("app1", "app2")):
            restarts.append(
                await restart_during_a_post(daphnes, index, name, envs[name], dsn, poster)
            )
        await asyncio.wait_for(posting, 300)
        await asyncio.wait_for(asyncio.gather(*listening), 120)
        nginx_errors = [line for line in balancer.log().splitlines() if "[error]" in line]
    rows = Message.objects.filter(room__name=ROOM).order_by("seq").values_list("seq", "text")
    stored = await sync_to_async(lambda: list(rows))()
    closes_1012 = sum(s.closes.count(1012) for s in subscribers)
    figures = {
        "restarts": [vars(restart) for restart in restarts],
        "poster_retries": poster.retries,
        "poster_failures": sorted(set(poster.failures)),
        "closes": sorted({str(code) for s in subscribers for code in s.closes}),
        "closes_1012": closes_1012,
        # By kind, e.g. "connect() failed (111: Connection refused)": how many of each.
        "nginx_errors": dict(Counter(_error_kind(line) for line in nginx_errors)),
    }
    print("rolling restart:", json.dumps(figures))
    assert [restart.exit_code for restart in restarts] == [0, 0], figures
    assert all(restart.answered_while_stopping for restart in restarts), figures
    assert poster.answers == {n: n for n in range(1, POSTS + 1)}
    assert stored == [(n, f"m{n}") for n in range(1, POSTS + 1)]
    for subscriber in subscribers:
        assert subscriber.seqs == list(range(1, POSTS + 1))
    # Every socket a restart ended was closed with 1012 (none without a close frame); the
    # others are reconnections nginx could not place at once (a string: the error).
    assert closes_1012 >= SUBSCRIBERS, figures
    assert all(code == 1012 or isinstance(code, str) for s in subscribers for code in s.closes), (
        figures
    )
