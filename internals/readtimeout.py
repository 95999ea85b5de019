"""A deadline for reading each HTTP request under daphne (slowloris).

LIBRARY INTERNALS: patches ``twisted.web.http.HTTPChannel`` (hook
``twisted.http_read_timeout``; its hooked methods are checked at start-up by
internals/hooks.py, and without them there is no deadline but Twisted's idle timeout).

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

from internals.hooks import hook, hook_active

__all__ = ["request_read_timeout_install"]

logger = logging.getLogger(__name__)

HOOK = "twisted.http_read_timeout"

_TARGETS = ("connectionMade", "dataReceived", "allContentReceived", "requestDone", "connectionLost")
_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

# Seconds; read by the patched methods, so a second install only changes it.
_seconds = 0.0


def request_read_timeout_install(seconds: float) -> bool:
    """Give every HTTP request ``seconds`` to arrive whole (0: no deadline); False if the
    hook is not active (not the Twisted it was written for)."""
    global _seconds
    _seconds = seconds
    return hook_active(HOOK) and seconds > 0


def _channel() -> Any:
    from twisted.web import http

    return http.HTTPChannel


def _install() -> None:
    channel = _channel()
    if not getattr(channel, "_chat_read_deadline", False):
        _patch(channel)


@hook(
    HOOK,
    library="Twisted",
    versions=">=24.7,<27",
    purpose="a deadline for reading each HTTP request (slowloris)",
    fallback="no read deadline but Twisted's 60 s idle timeout",
    install=_install,
)
def _check() -> None:
    channel = _channel()
    missing = [name for name in _TARGETS if not callable(getattr(channel, name, None))]
    if missing:
        raise AttributeError(f"twisted.web.http.HTTPChannel lacks {', '.join(missing)}")


def _patch(channel: Any) -> None:
    connection_made = channel.connectionMade
    data_received = channel.dataReceived
    all_content_received = channel.allContentReceived
    request_done = channel.requestDone
    connection_lost = channel.connectionLost

    def start(self: Any) -> None:
        if _seconds > 0 and hook_active(HOOK) and getattr(self, "_chat_deadline", None) is None:
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
