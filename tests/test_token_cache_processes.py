"""The bearer token cache across real daphne processes: a revocation made anywhere holds
in every process within 1 s (realtime/tokens.py), though each process had the token
cached."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async

from chat.models import AuthToken
from chat.selectors import token_digest
from tests import factories
from tests.daphne import Daphne, daphnes_running
from tests.servers import PostgresServer, RedisServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ME = "query { me { username } }"


@pytest.fixture(scope="module")
def daphnes(
    django_db_setup: None, redis_server: RedisServer, postgres_server: PostgresServer
) -> Iterator[tuple[Daphne, Daphne]]:
    # An hour: no process may fall back on the age limit, only on the notice.
    with daphnes_running(2, redis_server, postgres_server, CHAT_TOKEN_CACHE_SECONDS="3600") as (
        a,
        b,
    ):
        yield a, b


REFUSED = {"message": "Invalid or expired token.", "extensions": {"code": "UNAUTHENTICATED"}}


def accepted(daphne: Daphne, query: str, token: str) -> bool:
    """Whether a GraphQL POST with ``token`` is served (else it must be refused as a
    stale token is: 200 and UNAUTHENTICATED under application/json)."""
    body = daphne.post(query, {}, token)
    if body == {"errors": [REFUSED]}:
        return False
    assert "data" in body, body
    return True


def cache_hits(daphne: Daphne) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{daphne.port}/metrics", timeout=10) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith('chat_token_cache_lookups_total{result="hit"}'):
            return float(line.split()[-1])
    return 0.0


def refused_within(daphne: Daphne, token: str, started: float, seconds: float) -> float:
    """Seconds from ``started`` until ``daphne`` refuses ``token`` (asked again and again,
    for at most ``seconds``)."""
    while True:
        if not accepted(daphne, ME, token):
            return time.monotonic() - started
        elapsed = time.monotonic() - started
        assert elapsed < seconds, f"{daphne.port} still accepts the token after {elapsed:.2f}s"


@pytest.mark.parametrize("how", ["logout on the other process", "token deleted", "deactivated"])
async def test_a_revocation_holds_in_every_process_within_a_second(
    daphnes: tuple[Daphne, Daphne], how: str
) -> None:
    a, b = daphnes
    alice = await sync_to_async(factories.member)(f"alice{how.split()[0]}")
    # Both processes have the token cached: B answers again without reading it.
    for daphne in (a, b, b):
        assert daphne.post(ME, {}, alice.token) == {
            "data": {"me": {"username": alice.user.username}}
        }
    hits = await sync_to_async(cache_hits)(b)
    assert accepted(b, ME, alice.token)
    assert await sync_to_async(cache_hits)(b) == hits + 1

    def revoke() -> None:
        if how == "token deleted":
            AuthToken.objects.filter(digest=token_digest(alice.token)).delete()
        else:
            alice.user.is_active = False
            alice.user.save()

    started = time.monotonic()
    if how == "logout on the other process":
        assert a.post("mutation { logout }", {}, alice.token) == {"data": {"logout": True}}
    else:
        # Here, in the test process: a third process (an admin's, a command's).
        await sync_to_async(revoke)()
    for daphne in (b, a):
        await sync_to_async(refused_within)(daphne, alice.token, started, 1.0)
