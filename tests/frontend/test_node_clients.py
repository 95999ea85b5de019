"""Apollo Client and subscriptions-transport-ws, in Node, against a real daphne."""

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
    output = run("node", "--test", "--test-reporter=tap", ".build/", env=env)
    results = [line for line in output.splitlines() if line.startswith(("ok ", "not ok "))]
    assert results == [
        "ok 1 - Apollo Client: mutation and query over HTTP, live subscription over graphql-ws",
        "ok 2 - subscriptions-transport-ws on the graphql-ws subprotocol receives live messages",
    ], output
    assert "# pass 2\n# fail 0\n" in output, output
