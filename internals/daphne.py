"""Hooks into daphne's internals: the protocol behind an ASGI ``send``."""

from __future__ import annotations

import inspect
from typing import Any

from internals.hooks import hook

__all__ = ["CLOSE_REASON", "SEND_PROTOCOL"]

# Used by internals/writepath.py.
SEND_PROTOCOL = "daphne.send_protocol"
# internals/writepath.py's close_with_reason. Off: close frames carry the code only.
CLOSE_REASON = "daphne.close_reason"


def _source(obj: Any) -> str:
    return inspect.getsource(obj)


@hook(
    SEND_PROTOCOL,
    library="daphne",
    versions=">=4.1,<4.3",
    purpose="daphne's websocket protocol behind ASGI send (partial(handle_reply, protocol))",
    fallback="no write-through, no backpressure, frames through ASGI websocket.send",
    required=True,
)
def _check_send_protocol() -> None:
    from daphne.server import Server

    if "partial(self.handle_reply, protocol)" not in _source(Server):
        raise TypeError("daphne no longer sends through partial(handle_reply, protocol)")
    if list(inspect.signature(Server.handle_reply).parameters) != ["self", "protocol", "message"]:
        raise TypeError("daphne Server.handle_reply's signature changed")


@hook(
    CLOSE_REASON,
    library="daphne",
    versions=">=4.1,<4.3",
    purpose="close frames carry their reason (daphne's serverClose drops the ASGI reason)",
    fallback="close frames carry the code only, as daphne sends them",
)
def _check_close_reason() -> None:
    from daphne.ws_protocol import WebSocketProtocol

    if "self.sendClose(code=code)" not in _source(WebSocketProtocol.serverClose):
        raise TypeError("daphne's serverClose no longer calls sendClose(code=code)")
    if "reason" not in inspect.signature(WebSocketProtocol.sendClose).parameters:
        raise TypeError("autobahn's sendClose no longer takes a reason")
