"""Websockets per client address (CHAT_MAX_SOCKETS_PER_IP), counted in this process."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.conf import settings

from chat.clientip import client_ip
from internals.writepath import close_with_reason

__all__ = ["SocketsPerAddressLimit"]

# The subprotocols the consumer speaks, in its order of preference.
_SUBPROTOCOLS = ("graphql-transport-ws", "graphql-ws")


class SocketsPerAddressLimit:
    """Refuse a websocket when its client address already holds ``MAX_SOCKETS_PER_IP``
    open ones in this process.

    Counted per process, not in Redis: what the cap protects is this process's memory,
    file descriptors and hub, and an in-process count is exact, free (no round trip per
    handshake) and cannot leak when a process dies. Behind a load balancer spreading over
    N processes an address may hold up to N times the cap in all; the balancer's own
    per-client connection limit is the fleet-wide one (README "Security and reliability").

    A refused socket is accepted and closed at once with 4429 and a reason, rather than
    refused at the handshake: browsers report a refused handshake as 1006 without a
    reason, which graphql-ws clients retry as a network error, while 4429 ("too many
    requests") is final for them. (daphne 4.2 drops the close reason; other servers send it.)
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.open: Counter[str] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        limit = settings.CHAT["MAX_SOCKETS_PER_IP"]
        address = client_ip(scope)
        if limit > 0 and self.open[address] >= limit:
            await self._refuse(scope, receive, send)
            return None
        self.open[address] += 1
        try:
            return await self.inner(scope, receive, send)
        finally:
            self.open[address] -= 1
            if not self.open[address]:
                del self.open[address]

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        requested = scope.get("subprotocols") or ()
        # Browsers fail a handshake that answers none of the subprotocols they asked for,
        # and would then report 1006 instead of our code.
        subprotocol = next((p for p in _SUBPROTOCOLS if p in requested), None)
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        reason = "Too many connections from this address"
        # daphne drops an ASGI close reason: written straight to its protocol when it can.
        if not close_with_reason(send, 4429, reason):
            await send({"type": "websocket.close", "code": 4429, "reason": reason})
