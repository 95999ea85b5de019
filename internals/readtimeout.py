"""A deadline for reading each HTTP request under daphne (slowloris).

LIBRARY INTERNALS: patches ``twisted.web.http.HTTPChannel``. Written for Twisted 26.10
under daphne 4.2.3; the hooked methods (``connectionMade``, ``dataReceived``,
``allContentReceived``, ``requestDone``, ``connectionLost``) are checked at start-up and
the hook stays off, with one warning, if any is missing. (Issue 12 moves every such hook
behind one boundary; this is the only one for Twisted's HTTP channel.)

Why: Twisted's only read timeout is an idle one (60 s) that every byte resets, and daphne
adds none before its application sees the request, so a client sending one header byte a
minute holds a connection for as long as it likes (16 KiB of headers: 11 days). Daphne's
``--http-timeout`` starts once the request is read, and its websocket handshake timeout
once the upgrade request is read.

The deadline runs from a new connection's start, and on a kept-alive connection from the
first byte of the next request: an idle pooled connection (a load balancer's) is Twisted's
idle timeout's business, not a slow client. It ends when the whole request (line, headers,
body) is in, which for a websocket is its upgrade request. On expiry the client gets
``408 Request Timeout`` and the connection is closed.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["request_read_timeout_install"]

logger = logging.getLogger(__name__)

_TARGETS = ("connectionMade", "dataReceived", "allContentReceived", "requestDone", "connectionLost")
_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

# Seconds; read by the patched methods, so a second install only changes it.
_seconds = 0.0


def request_read_timeout_install(seconds: float) -> bool:
    """Give every HTTP request ``seconds`` to arrive whole (0: no deadline); False if the
    hook is not active (no Twisted, or not the Twisted it was written for)."""
    global _seconds
    _seconds = seconds
    try:
        from twisted.web.http import HTTPChannel
    except ImportError:  # pragma: no cover - daphne always brings Twisted
        return False
    if getattr(HTTPChannel, "_chat_read_deadline", False):
        return seconds > 0
    missing = [name for name in _TARGETS if not callable(getattr(HTTPChannel, name, None))]
    if missing:
        logger.warning(
            "request read timeout not installed: twisted.web.http.HTTPChannel lacks %s",
            ", ".join(missing),
        )
        return False
    _patch(HTTPChannel)
    return seconds > 0


def _patch(channel: Any) -> None:
    connection_made = channel.connectionMade
    data_received = channel.dataReceived
    all_content_received = channel.allContentReceived
    request_done = channel.requestDone
    connection_lost = channel.connectionLost

    def start(self: Any) -> None:
        if _seconds > 0 and getattr(self, "_chat_deadline", None) is None:
            self._chat_deadline = self.callLater(_seconds, expire, self)

    def stop(self: Any) -> None:
        deadline = getattr(self, "_chat_deadline", None)
        self._chat_deadline = None
        if deadline is not None and deadline.active():
            deadline.cancel()

    def expire(self: Any) -> None:
        self._chat_deadline = None
        logger.info("request read timeout", extra={"event": "http.read_timeout"})
        self.transport.write(_RESPONSE)
        self.transport.loseConnection()

    def connectionMade(self: Any) -> None:
        connection_made(self)
        self._chat_reading = True
        start(self)

    def dataReceived(self: Any, data: bytes) -> None:
        if getattr(self, "_chat_reading", False):
            start(self)
        data_received(self, data)

    def allContentReceived(self: Any) -> None:
        self._chat_reading = False
        stop(self)
        all_content_received(self)

    def requestDone(self: Any, request: Any) -> None:
        # The next request's deadline starts with its first byte (dataReceived).
        self._chat_reading = True
        request_done(self, request)

    def connectionLost(self: Any, reason: Any) -> None:
        stop(self)
        connection_lost(self, reason)

    channel.connectionMade = connectionMade
    channel.dataReceived = dataReceived
    channel.allContentReceived = allContentReceived
    channel.requestDone = requestDone
    channel.connectionLost = connectionLost
    channel._chat_read_deadline = True
