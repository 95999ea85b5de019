"""Apollo Client, subscriptions-transport-ws and graphql-sse, in Node, against a real daphne:
over websockets, and over HTTP streaming (SSE, multipart)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.daphne import Daphne
from tests.frontend.conftest import run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_apollo_and_legacy_clients(frontend: Path, daphne: Daphne) -> None:
    run("node", "build.mjs", "--tests")
    env = {**os.environ, "CHAT_HTTP_URL": daphne.http_url, "CHAT_WS_URL": daphne.ws_url}
    # Apollo's development build checks more and warns of cache trouble (a fragment on an
    # interface without possibleTypes, data it cannot merge) on stderr: TAP comments here.
    # (tests/frontend/test_http_conformance.py runs .build/conformance.test.mjs.)
    output = run(
        "node",
        "--conditions=development",
        "--test",
        "--test-reporter=tap",
        ".build/compat.test.mjs",
        ".build/events.test.mjs",
        ".build/streams.test.mjs",
        env=env,
    )  # fmt: skip (persisted.test.mjs: test_persisted_clients.py, with two servers)
    lines = output.splitlines()
    results = [line for line in lines if line.startswith(("ok ", "not ok "))]
    assert results == [
        "ok 1 - Apollo Client: mutation and query over HTTP, live subscription over graphql-ws",
        "ok 2 - subscriptions-transport-ws on the graphql-ws subprotocol receives live messages",
        "ok 3 - Apollo Client: roomEvents with a fragment on each event type, possibleTypes in "
        "the cache, resumed after a reconnect",
        "ok 4 - subscriptions-transport-ws on the graphql-ws subprotocol: roomEvents, completed "
        "after your own MemberLeft",
        "ok 5 - graphql-sse (distinct connections): resumed with afterSeq, live messages, errors "
        "as results",
        "ok 6 - Apollo Client with HttpLink alone: a subscription over multipart HTTP",
        "ok 7 - Apollo Client with HttpLink alone: a refused subscription's error code is readable",
    ], output
    comments = [
        line
        for line in lines
        if line.startswith("#") and not line.startswith(("# Subtest: ", "# duration_ms "))
    ]
    assert comments == [
        "# tests 7",
        "# suites 0",
        "# pass 7",
        "# fail 0",
        "# cancelled 0",
        "# skipped 0",
        "# todo 0",
    ], output
