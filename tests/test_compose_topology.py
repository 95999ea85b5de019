"""docker-compose.yml's topology from processes (Docker is not on our machines): Debian's
nginx with deploy/nginx.conf in front of two daphnes on one Redis and one PostgreSQL, and
the stack's one-shot migrations run twice at once on a fresh database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE

import psycopg
import pytest
import websockets
from websockets.typing import Subprotocol

from tests import factories
from tests.conftest import wait_for
from tests.daphne import Daphne, daphnes_running
from tests.lb import LoadBalancer, load_balancer
from tests.schema.test_subscriptions import SEND, SUBSCRIPTION
from tests.servers import PostgresServer, RedisServer
from tests.test_scale_out import group_subscribers

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fresh_database(postgres_server: PostgresServer) -> Iterator[str]:
    """An empty database on the test session's PostgreSQL, dropped afterwards."""
    name = f"fresh_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def stack(
    django_db_setup: None, redis_server: RedisServer, postgres_server: PostgresServer
) -> Iterator[tuple[LoadBalancer, tuple[Daphne, ...]]]:
    """nginx in front of two daphnes configured as docker-compose.yml configures them
    (production settings; /metrics on so that the test sees nginx keep it in)."""
    with (
        daphnes_running(
            2,
            redis_server,
            postgres_server,
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="topology-test-secret-key-not-for-production-" + "x" * 20,
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DJANGO_SECURE_COOKIES="0",
            CHAT_CLIENT_IP_HEADER="X-Forwarded-For",
            CHAT_METRICS_ENABLED="1",
        ) as daphnes,
        load_balancer([d.port for d in daphnes]) as balancer,
    ):
        yield balancer, daphnes


async def subscribe(url: str, room: str) -> websockets.ClientConnection:
    ws = await websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")])
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "connection_ack"}
    await ws.send(
        json.dumps(
            {"id": "1", "type": "subscribe",
             "payload": {"query": SUBSCRIPTION, "variables": {"room": room}}}
        )
    )  # fmt: skip
    return ws


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
async def test_posts_and_subscriptions_through_the_load_balancer_reach_both_replicas(
    stack: tuple[LoadBalancer, tuple[Daphne, ...]],
    redis_server: RedisServer,
    alice: factories.Member,
) -> None:
    balancer, (first, second) = stack
    assert await asyncio.to_thread(get, balancer.url("/healthz")) == (
        200,
        b'{"database": "ok", "redis": ["ok"]}',
    )
    # The replicas serve /metrics; the public entry point does not pass it on.
    assert (await asyncio.to_thread(get, f"http://127.0.0.1:{first.port}/metrics"))[0] == 200
    assert (await asyncio.to_thread(get, balancer.url("/metrics")))[0] == 404

    # Round robin, no stickiness: two sockets in a row land on the two replicas, each of
    # which then subscribes to the room's group in Redis.
    sockets = [await subscribe(balancer.ws_url, "lobby") for _ in range(2)]
    try:
        await wait_for(lambda: group_subscribers(redis_server, "lobby") == 2, timeout=10)
        # Two posts in a row go to the two replicas too; each socket gets both, in order.
        sent = []
        for n in range(2):
            result = await asyncio.to_thread(
                balancer.post, SEND, {"room": "lobby", "text": f"post {n}"}, alice.token
            )
            sent.append(result["data"]["sendMessage"])
        assert [message["seq"] for message in sent] == [1, 2]
        for ws in sockets:
            for message in sent:
                assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {
                    "id": "1",
                    "type": "next",
                    "payload": {"data": {"messageAdded": message}},
                }
    finally:
        for ws in sockets:
            await ws.close()
    await wait_for(lambda: group_subscribers(redis_server, "lobby") == 0, timeout=10)
    # nginx logs which replica served each request: the two sockets (101, logged when they
    # closed) and the two posts went one to each.
    replicas = {f"upstream=127.0.0.1:{daphne.port}" for daphne in (first, second)}

    def served(request: str) -> list[str]:
        lines = [line for line in balancer.log().splitlines() if f'"{request} ' in line]
        return sorted(line.split()[-2] for line in lines)

    await wait_for(lambda: len(served("GET /graphql/")) == 2, timeout=10)
    assert set(served("GET /graphql/")) == replicas
    assert set(served("POST /graphql/")) == replicas


@pytest.mark.slow
def test_two_concurrent_migrate_runs_on_a_fresh_database_both_succeed_one_applies(
    postgres_server: PostgresServer, fresh_database: str
) -> None:
    """As two replicas (or two `migrate` services) starting together would: one applies
    every migration, the other waits for it and finds nothing left to apply."""
    env = {
        **os.environ,
        "DATABASE_URL": postgres_server.url(fresh_database),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    command = [sys.executable, "manage.py", "migrate", "--noinput"]
    runs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=PIPE, stderr=PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    stdouts = sorted((out for out, _ in outputs), key=lambda out: "Applying" in out)
    assert "No migrations to apply." in stdouts[0]
    assert "Applying" not in stdouts[0]
    assert "Applying chat.0001_initial... OK" in stdouts[1]
    with psycopg.connect(postgres_server.url(fresh_database)) as conn:
        rows = conn.execute("SELECT app, name, count(*) FROM django_migrations GROUP BY 1, 2")
        assert {count for _, _, count in rows} == {1}
