"""GraphQL over HTTP checked by third parties, in Node against a real daphne: the
graphql-http package's server audits, and Apollo Client reading a stale token's refusal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.daphne import Daphne
from tests.frontend.conftest import run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_graphql_http_audits_and_apollo_stale_token(frontend: Path, daphne: Daphne) -> None:
    run("node", "build.mjs", "--tests")
    env = {**os.environ, "CHAT_HTTP_URL": daphne.http_url, "CHAT_WS_URL": daphne.ws_url}
    output = run("node", "--test", "--test-reporter=tap", ".build/conformance.test.mjs", env=env)
    results = [line for line in output.splitlines() if line.startswith(("ok ", "not ok "))]
    assert results == [
        "ok 1 - graphql-http server audits: every one passes",
        "ok 2 - Apollo Client: a stale token's refusal is a GraphQL error with its code; login "
        "still works",
    ], output
