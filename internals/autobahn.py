"""Hooks into autobahn's internals: a text frame written straight to the transport, and
a close frame with a code autobahn's public sendClose refuses (1012)."""

from __future__ import annotations

import inspect
from typing import Any

from internals.hooks import hook

__all__ = ["CLOSE_CODE", "WRITE_TEXT"]

# Used by internals/writepath.py (WritePressure.write_text).
WRITE_TEXT = "autobahn.write_text"
# Used by internals/writepath.py (close_frame_send).
CLOSE_CODE = "autobahn.close_code"


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


@hook(
    CLOSE_CODE,
    library="autobahn",
    versions=">=24.4,<27",
    purpose="websockets closed with 1012 (Service Restart) on a graceful stop",
    fallback="close code 1000 (sendClose allows only 1000 and 3000-4999), reason Service Restart",
)
def _check_close_code() -> None:
    from autobahn.websocket.protocol import WebSocketProtocol

    # sendClose validates the code, then calls sendCloseFrame, which sends any code.
    if "self.sendCloseFrame(code=code, reasonUtf8=reasonUtf8, isReply=False)" not in _source(
        WebSocketProtocol.sendClose
    ):
        raise TypeError("autobahn's sendClose no longer calls sendCloseFrame")
    parameters = list(inspect.signature(WebSocketProtocol.sendCloseFrame).parameters)
    if parameters != ["self", "code", "reasonUtf8", "isReply"]:
        raise TypeError("autobahn's sendCloseFrame signature changed")
