"""The client address per-client limits count by (project/clientip.py)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from chat.clientip import client_ip


def scope(peer: str, forwarded: str | None = None) -> dict[str, object]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"client": (peer, 50000), "headers": headers}


@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        ("203.0.113.7", "203.0.113.7"),
        # One IPv6 client holds a whole /64: counting its addresses apart would give it
        # 2^64 budgets.
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("not an address", "not an address"),
    ],
)
def test_addresses_are_counted_per_client(peer: str, expected: str) -> None:
    assert client_ip(scope(peer)) == expected


def test_the_proxy_header_is_read_only_when_configured() -> None:
    forged = scope("198.51.100.1", "2001:db8::1, 203.0.113.9")
    assert client_ip(forged) == "198.51.100.1"
    with override_settings(CHAT={**settings.CHAT, "CLIENT_IP_HEADER": "X-Forwarded-For"}):
        assert client_ip(forged) == "203.0.113.9"
        assert client_ip(scope("198.51.100.1", "2001:db8:5:6::9")) == "2001:db8:5:6::/64"
