"""Hooks into autobahn's internals: a text frame written straight to the transport."""

from __future__ import annotations

import inspect
from typing import Any

from internals.hooks import hook

__all__ = ["WRITE_TEXT"]

# Used by internals/writepath.py (WritePressure.write_text).
WRITE_TEXT = "autobahn.write_text"


def _source(obj: Any) -> str:
    return inspect.getsource(obj)


@hook(
    WRITE_TEXT,
    library="autobahn",
    versions=">=24.4,<27",
    purpose="text frames written straight to the transport, skipping autobahn's per-frame work",
    fallback="autobahn's sendMessage (through daphne's ASGI send)",
)
def _check_write_text() -> None:
    from autobahn.websocket.protocol import WebSocketProtocol, WebSocketServerProtocol

    options = set(WebSocketServerProtocol.CONFIG_ATTRS)
    wanted = {
        "autoFragmentSize",
        "maskServerFrames",
        "logFrames",
        "trackTimings",
        "maxMessagePayloadSize",
    }
    if not wanted <= options:
        raise AttributeError(f"autobahn lacks the options {sorted(wanted - options)}")
    if WebSocketServerProtocol.STATE_OPEN != 3:
        raise TypeError("autobahn's STATE_OPEN changed")
    source = _source(WebSocketProtocol)
    for name in ("self._perMessageCompress", "self.trackedTimings", "self.state"):
        if name not in source:
            raise AttributeError(f"autobahn's WebSocketProtocol no longer sets {name}")
