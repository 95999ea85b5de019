"""The per-process bearer token cache (realtime/tokens.py): verified once per
CHAT_TOKEN_CACHE_SECONDS, forgotten at once on a notice, never keeping invalid tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from chat import accounts
from chat.events import access_changed_event_build, token_credential_key
from chat.models import AuthToken
from chat.selectors import token_digest
from realtime import tokens
from realtime.tokens import token_user_cached
from tests import factories
from tests.conftest import GraphQLHttp

pytestmark = pytest.mark.django_db(transaction=True)

ME = "query { me { username } }"
REFUSED = {"message": "Invalid or expired token.", "extensions": {"code": "UNAUTHENTICATED"}}


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens read from the database, in order."""
    seen: list[str] = []
    original = tokens.token_credential_get

    def counted(*, raw: str) -> Any:
        seen.append(raw)
        return original(raw=raw)

    monkeypatch.setattr(tokens, "token_credential_get", counted)
    return seen


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Move the cache's monotonic clock forward by some seconds."""
    now = [1000.0]
    monkeypatch.setattr(tokens, "monotonic", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


async def test_a_valid_token_is_read_once_per_max_age(
    alice: factories.Member, reads: list[str], clock: Callable[[float], None]
) -> None:
    assert settings.CHAT["TOKEN_CACHE_SECONDS"] == 1.0
    for _ in range(3):
        user = await token_user_cached(raw=alice.token)
        assert user is not None and user.pk == alice.user.pk
    assert reads == [alice.token]
    clock(0.99)
    assert await token_user_cached(raw=alice.token) is not None
    assert reads == [alice.token]
    clock(0.02)
    assert await token_user_cached(raw=alice.token) is not None
    assert reads == [alice.token, alice.token]


async def test_invalid_tokens_are_remembered_apart(
    alice: factories.Member,
    reads: list[str],
    clock: Callable[[float], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for _ in range(3):
        assert await token_user_cached(raw="not-a-token") is None
    assert reads == ["not-a-token"]
    clock(1.01)
    assert await token_user_cached(raw="not-a-token") is None
    assert reads == ["not-a-token"] * 2
    # A flood of invalid tokens pushes out invalid ones only.
    monkeypatch.setattr(tokens, "MAX_TOKENS", 3)
    assert await token_user_cached(raw=alice.token) is not None
    for n in range(5):
        assert await token_user_cached(raw=f"flood{n}") is None
    reads.clear()
    assert await token_user_cached(raw=alice.token) is not None
    assert await token_user_cached(raw="flood4") is None
    assert await token_user_cached(raw="flood0") is None
    assert reads == ["flood0"]


async def test_an_expired_token_is_read_again(alice: factories.Member, reads: list[str]) -> None:
    assert await token_user_cached(raw=alice.token) is not None
    await sync_to_async(
        AuthToken.objects.filter(digest=token_digest(alice.token)).update,
        thread_sensitive=False,
    )(expires_at=timezone.now() - timedelta(seconds=1))
    # The entry still knows the old expiry, and the time has not come.
    assert await token_user_cached(raw=alice.token) is not None
    assert len(reads) == 1
    monkey = pytest.MonkeyPatch()
    # Past the expiry the cache knew: read again, and now refused.
    monkey.setattr(tokens, "wall", lambda: 2e10)
    try:
        assert await token_user_cached(raw=alice.token) is None
    finally:
        monkey.undo()
    assert len(reads) == 2


async def test_a_notice_naming_the_token_or_its_user_drops_it(
    alice: factories.Member, bob: factories.Member, reads: list[str]
) -> None:
    cache = tokens._cache()
    for member in (alice, bob):
        assert await token_user_cached(raw=member.token) is not None
    cache.notice(access_changed_event_build(credential=token_credential_key(token_digest("x"))))
    cache.notice(access_changed_event_build(user_id=alice.user.pk + bob.user.pk + 1))
    for member in (alice, bob):
        assert await token_user_cached(raw=member.token) is not None
    assert reads == [alice.token, bob.token]
    cache.notice(
        access_changed_event_build(credential=token_credential_key(token_digest(alice.token)))
    )
    cache.notice(access_changed_event_build(user_id=bob.user.pk))
    for member in (alice, bob):
        assert await token_user_cached(raw=member.token) is not None
    assert reads == [alice.token, bob.token, alice.token, bob.token]


async def test_a_read_overtaken_by_a_notice_is_not_kept(
    alice: factories.Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    original = tokens.token_credential_get
    cache = tokens._cache()

    def revoked_meanwhile(*, raw: str) -> Any:
        found = original(raw=raw)
        seen.append(raw)
        # The token is revoked (in another process) after the read, before its answer.
        cache.notice(access_changed_event_build(user_id=alice.user.pk))
        return found

    monkeypatch.setattr(tokens, "token_credential_get", revoked_meanwhile)
    assert await token_user_cached(raw=alice.token) is not None
    assert await token_user_cached(raw=alice.token) is not None
    assert seen == [alice.token, alice.token]


async def test_max_age_zero_reads_every_time(
    alice: factories.Member, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(settings.CHAT, "TOKEN_CACHE_SECONDS", 0.0)
    for _ in range(2):
        assert await token_user_cached(raw=alice.token) is not None
    assert reads == [alice.token] * 2


# Revocations made in this process hold before their request answers: no Redis round
# trip between them and the next request with the token.


async def test_logout_over_http_then_the_token_at_once(alice: factories.Member) -> None:
    http = GraphQLHttp(alice.token)
    assert await http(ME) == {"data": {"me": {"username": "alice"}}}
    assert await http("mutation { logout }") == {"data": {"logout": True}}
    # 200 under application/json (tests/schema/test_http_conformance.py).
    assert await http.post(ME) == (200, {"errors": [REFUSED]})


@pytest.mark.parametrize("how", ["deactivate", "delete token", "revoke token"])
async def test_deactivation_and_token_deletion_hold_at_once(
    alice: factories.Member, how: str
) -> None:
    http = GraphQLHttp(alice.token)
    assert await http(ME) == {"data": {"me": {"username": "alice"}}}

    def revoke() -> None:
        if how == "deactivate":
            alice.user.is_active = False
            alice.user.save()
        elif how == "delete token":
            AuthToken.objects.filter(digest=token_digest(alice.token)).delete()
        else:
            accounts.token_revoke(raw=alice.token)

    # In an ORM thread of this process, as an admin action or a management command's
    # code in the serving process would run.
    from chat.db import in_thread

    await in_thread(revoke)()
    assert await http.post(ME) == (200, {"errors": [REFUSED]})
