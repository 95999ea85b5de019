"""The per-process index of live socket credentials (realtime.credentials)."""

from __future__ import annotations

import time

import pytest

from realtime import credentials
from realtime.credentials import LiveCredential, credential_register, credential_unregister

pytestmark = pytest.mark.django_db(transaction=True)


async def test_closed_sockets_leave_nothing_behind_in_the_expiry_heap() -> None:
    """Tokens live for weeks: the entries of sockets that closed are compacted away, not
    held (with their socket) until the token's expiry."""
    index = credentials._index()
    month = time.time() + 30 * 24 * 3600
    for n in range(1000):
        credential = LiveCredential(user_id=n, token_digest=f"{n:064x}", expires_at=month)
        await credential_register(credential)
        credential_unregister(credential)
    assert len(index._expiries) <= 130
    assert index._by_key == {}
    assert index._by_user == {}


async def test_a_notice_revokes_every_credential_of_its_key_or_user_once() -> None:
    revoked: list[str] = []
    held = [
        LiveCredential(user_id=1, token_digest="a" * 64, on_revoked=lambda: revoked.append("a1")),
        LiveCredential(user_id=1, session_key="s", on_revoked=lambda: revoked.append("s1")),
        LiveCredential(user_id=2, token_digest="b" * 64, on_revoked=lambda: revoked.append("b2")),
    ]
    for credential in held:
        await credential_register(credential)
    index = credentials._index()
    index.notice({"type": "chat.access", "credential": "token:" + "a" * 64})
    assert revoked == ["a1"]
    index.notice({"type": "chat.access", "user_id": 1})
    index.notice({"type": "chat.access", "user_id": 1})
    assert revoked == ["a1", "s1"]
    assert set(index._by_user) == {2}
    credential_unregister(held[2])
