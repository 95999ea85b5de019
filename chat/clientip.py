"""The client's IP address, for per-client limits (login throttling, sockets per IP)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from django.conf import settings

__all__ = ["client_ip", "client_ip_from_headers"]


def client_ip_from_headers(headers: Iterable[tuple[bytes, bytes]], peer: str | None) -> str:
    """The address a trusted proxy saw, else the socket's peer.

    Only with ``CHAT_CLIENT_IP_HEADER`` set (e.g. ``X-Forwarded-For``) is a header read:
    without a proxy in front, any client could write it. Proxies append the address they
    saw, so the last entry is the one our own proxy wrote; earlier ones are the client's
    word.
    """
    header = settings.CHAT["CLIENT_IP_HEADER"]
    if header:
        wanted = header.lower().encode("latin1")
        value = None
        for name, raw in headers:
            if name.lower() == wanted:
                value = raw  # the last occurrence, for the same reason as the last entry
        if value is not None:
            last = value.decode("latin1").rsplit(",", 1)[-1].strip()
            if last:
                return _client(last[:64])
    return _client(peer) if peer else "unknown"


def _client(address: str) -> str:
    """One key per client: an IPv6 client holds a whole /64 (counting its addresses apart
    would give it 2^64 budgets); an IPv4-mapped address is its IPv4 one."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def client_ip(scope: dict[str, Any]) -> str:
    """The client address of an ASGI scope (HTTP or websocket)."""
    client = scope.get("client")
    peer = str(client[0]) if client else None
    return client_ip_from_headers(scope.get("headers") or (), peer)
