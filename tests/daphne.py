"""Real daphne processes for end-to-end tests, on free ports (or a given one, to restart)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.servers import PostgresServer, RedisServer, free_port

__all__ = ["Daphne", "daphne_env", "daphnes_running", "graphql_post", "start_daphne"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Daphne:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql/"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql/"

    def post(self, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
        return graphql_post(self.http_url, query, variables, token)

    def refuses_connections(self) -> bool:
        """True once the port refuses connections (a stop has begun, or it has ended)."""
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except (ConnectionRefusedError, ConnectionResetError):
            # Reset: the connection reached the backlog as the listener closed.
            return True
        return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def graphql_post(url: str, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
    """POST a GraphQL operation as ``token``'s user; the decoded response."""
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def daphne_env(
    redis_server: RedisServer, postgres_server: PostgresServer, database: str, **extra: str
) -> dict[str, str]:
    """The environment of a daphne process on the test session's Redis and database."""
    return {
        **os.environ,
        "DATABASE_URL": postgres_server.url(database),
        "REDIS_URL": redis_server.url,
        "DJANGO_LOG_LEVEL": "WARNING",
        **extra,
    }


def start_daphne(env: dict[str, str], *options: str, port: int | None = None) -> Daphne:
    """Start daphne (with extra command-line ``options``) and wait until it accepts
    connections."""
    port = port or free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), *options,
         "project.asgi:application"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "daphne exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return Daphne(port, process)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("daphne did not start")


@contextlib.contextmanager
def daphnes_running(
    count: int, redis_server: RedisServer, postgres_server: PostgresServer, **extra: str
) -> Iterator[tuple[Daphne, ...]]:
    """``count`` daphne processes on the test session's Redis and test database, with the
    environment variables ``extra``; stopped on exit."""
    from django.db import connection

    env = daphne_env(redis_server, postgres_server, connection.settings_dict["NAME"], **extra)
    started: list[Daphne] = []
    try:
        for _ in range(count):
            started.append(start_daphne(env))
        yield tuple(started)
    finally:
        for daphne in started:
            daphne.stop()
