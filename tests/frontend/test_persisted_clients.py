"""Apollo's persisted-queries link in Node against two real daphne processes sharing
Redis (issue 15, item 5)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.daphne import daphnes_running
from tests.frontend.conftest import run
from tests.servers import PostgresServer, RedisServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_apollo_persisted_query_link(
    frontend: Path, redis_server: RedisServer, postgres_server: PostgresServer
) -> None:
    run("node", "build.mjs", "--tests")
    with daphnes_running(2, redis_server, postgres_server) as (first, second):
        env = {
            **os.environ,
            "CHAT_HTTP_URL": first.http_url,
            "CHAT_WS_URL": first.ws_url,
            "CHAT_HTTP_URL_2": second.http_url,
        }
        output = run("node", "--test", "--test-reporter=tap", ".build/persisted.test.mjs", env=env)
    results = [line for line in output.splitlines() if line.startswith(("ok ", "not ok "))]
    assert results == [
        "ok 1 - persisted queries over POST: a miss, registered with the query, then the hash "
        "alone",
        "ok 2 - persisted queries over GET (useGETForHashedQueries), and found by another process",
        "ok 3 - persisted queries in front of the split link: mutation over HTTP, subscription "
        "over graphql-ws",
    ], output
