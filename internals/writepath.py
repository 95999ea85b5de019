"""The write path of websockets served by daphne: backpressure and write-through.

ASGI has no backpressure: daphne hands every ``websocket.send`` to Twisted, whose transport
buffers whatever the client has not read yet, without limit. A client that stops reading
(a phone in a tunnel, a stuck tab) would grow the server's memory by every message of its
rooms. Twisted's own remedy is a push producer: the transport pauses it when its buffer
passes ``bufferSize`` (64 KiB) and resumes it once the buffer has drained. Registering one
for the socket tells us when to stop writing; the socket's subscriptions then fall behind,
their bounded buffers overflow and they catch up from the database once the client reads
again (see realtime.hub and realtime.streams).

Write-through: Twisted never writes to a socket from ``transport.write``; it buffers the
data, registers the socket with the event loop's selector, and sends on the next loop
iteration when the socket is writable, then unregisters it: two ``epoll_ctl`` calls, a
callback and a loop pass per frame. For a fan-out of one frame to many sockets that was
most of the cost of a delivery. ``WriteThroughServer`` sends at once when nothing is
buffered (as asyncio's transports do; a ``writeSequence`` too, as twisted.web writes each
chunk of a streamed HTTP response) and falls back to Twisted's buffering for whatever
the kernel does not take, so ordering, ``bufferSize`` and the producer above are unchanged.

Hooks (internals/hooks.py), each with its standard path when off: ``daphne.send_protocol``
(daphne's protocol behind ``send``; off: none of the three below), ``twisted.write_through``
(off: Twisted's buffering), ``twisted.upgrade_producer`` (off: no backpressure, writes are
unbounded as in plain Channels) and ``autobahn.write_text`` (off: autobahn's sendMessage).

Streamed HTTP responses (SSE and multipart subscriptions, internals/httpstream.py) have the
same problem: daphne hands every ``http.response.body`` to Twisted's request, whose channel
writes it to the transport, which buffers it. ``http_pressure_attach`` registers a
WritePressure on the request (Twisted's public ``Request.registerProducer``: the channel
passes the transport's pause on to it); the hook ``twisted.http_producer`` checks that
forwarding (off: HTTP streams are unbounded).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import struct
from collections.abc import Iterable
from typing import Any

from twisted.internet import tcp
from twisted.web.http import HTTPChannel

from internals.autobahn import CLOSE_CODE, WRITE_TEXT
from internals.daphne import CLOSE_REASON, SEND_PROTOCOL
from internals.hooks import hook_active
from internals.twisted import HTTP_PRODUCER, UPGRADE_PRODUCER, WRITE_THROUGH

__all__ = [
    "HttpWritePressure",
    "WritePressure",
    "WriteThroughServer",
    "close_frame_send",
    "close_with_reason",
    "http_pressure_attach",
    "text_frame",
    "write_pressure_attach",
    "write_through_enable",
]

logger = logging.getLogger(__name__)


def text_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented, uncompressed websocket text frame (RFC 6455 5.2)."""
    size = len(payload)
    if size <= 125:
        return bytes((0x81, size)) + payload
    if size <= 0xFFFF:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class WritePressure:
    """Twisted ``IPushProducer`` for one websocket: tracks whether its buffer is full.

    It also writes text frames straight to daphne's transport (``write_text``): the hub
    sends one event to every subscriber in turn, and daphne's and autobahn's per-frame
    work (a coroutine hop, header and option checks, debug-log arguments built eagerly)
    costs more than writing the frame does.
    """

    __slots__ = ("_protocol", "_resumed", "paused")

    def __init__(self, protocol: Any = None) -> None:
        self.paused = False
        # Made only when someone waits: one per socket, mostly idle.
        self._resumed: asyncio.Future[None] | None = None
        self._protocol = protocol

    def write_text(self, text: str) -> bool:
        """Write one text frame now; False if this socket needs autobahn's own path
        (not open, an option that changes framing: compression, fragmentation, masking,
        frame logging; or over the payload limit)."""
        protocol = self._protocol
        if (
            protocol is None
            or not hook_active(WRITE_TEXT)
            or protocol.state != protocol.STATE_OPEN
            or protocol._perMessageCompress is not None
            or protocol.autoFragmentSize
            or protocol.maskServerFrames
            or protocol.logFrames
            or protocol.trackedTimings
        ):
            return False
        payload = text.encode()
        if 0 < protocol.maxMessagePayloadSize < len(payload):
            return False  # autobahn refuses it, as it should
        protocol.transport.write(text_frame(payload))
        return True

    async def drained(self) -> None:
        """Return once the transport accepts writes again (or the connection is gone)."""
        if self.paused:
            if self._resumed is None:
                self._resumed = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._resumed)

    # Called by Twisted on the event loop's thread (daphne runs Twisted's asyncio reactor).
    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        if self._resumed is not None:
            self._resumed.set_result(None)
            self._resumed = None

    def stopProducing(self) -> None:
        # The connection is lost: writes are dropped by daphne from now on, so nobody
        # must wait for a drain that will never come.
        self.resumeProducing()


class WriteThroughServer(tcp.Server):
    """A TCP server connection whose writes go to the socket at once when nothing is
    buffered; what the kernel does not take is buffered as usual."""

    def write(self, data: bytes) -> None:
        if (
            data
            and self.connected
            and not self.disconnecting
            and not self._writeDisconnected
            and not self.TLS
            and self.offset == len(self.dataBuffer)
            and not self._tempDataBuffer
        ):
            try:
                sent = self.socket.send(data)
            except OSError:
                # Would block, or the connection is gone: buffer it, and let doWrite
                # find out and report the loss the usual way.
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        super().write(data)

    def writeSequence(self, iovec: Iterable[bytes]) -> None:
        # twisted.web writes every chunk of a chunked response (each event of an HTTP
        # stream) as a sequence, which Twisted always buffers: joined, it goes at once too.
        iovec = list(iovec)
        if iovec and self.offset == len(self.dataBuffer) and not self._tempDataBuffer:
            self.write(b"".join(iovec))
            return
        super().writeSequence(iovec)


def _protocol(send: Any) -> Any:
    """daphne's protocol behind an ASGI ``send``: daphne passes
    ``partial(server.handle_reply, protocol)`` and our middleware does not wrap it. None
    under another server (or Channels' test communicator)."""
    if not isinstance(send, functools.partial) or not send.args or not hook_active(SEND_PROTOCOL):
        return None
    protocol = send.args[0]
    return protocol if getattr(protocol, "transport", None) is not None else None


def close_frame_send(send: Any, code: int, reason: str) -> bool:
    """Close the websocket behind ``send`` with ``code``, any code (autobahn's sendClose,
    which daphne's websocket.close goes to, refuses all but 1000 and 3000-4999); False if
    that is not possible here (the hook is off, another server)."""
    protocol = _protocol(send) if hook_active(CLOSE_CODE) else None
    if protocol is None:
        return False
    # sendClose's own call, minus its check of the code (see internals/autobahn.py).
    protocol.sendCloseFrame(code=code, reasonUtf8=reason.encode()[:123], isReply=False)
    return True


def close_with_reason(send: Any, code: int, reason: str) -> bool:
    """Close the accepted socket behind ``send`` with ``code`` and ``reason`` as daphne's
    ``serverClose`` would, but with the reason it drops (autobahn cuts it to the 123 bytes
    a close frame has room for); False if there is no daphne protocol to do it, or the
    code is one autobahn refuses (the caller sends the ASGI ``websocket.close``)."""
    protocol = _protocol(send) if hook_active(CLOSE_REASON) else None
    if protocol is None or protocol.state != protocol.STATE_OPEN:
        return False
    if code != 1000 and not 3000 <= code <= 4999:
        return False
    protocol.sendClose(code=code, reason=reason)
    return True


def write_through_enable(send: Any) -> bool:
    """Make the plain TCP transport behind ``send`` write through; False if there is none
    (TLS, a Unix socket, another server)."""
    protocol = _protocol(send) if hook_active(WRITE_THROUGH) else None
    transport = protocol.transport if protocol is not None else None
    if type(transport) is not tcp.Server or transport.TLS:
        return False
    # Same object, one method more; no per-socket memory.
    transport.__class__ = WriteThroughServer
    return True


def write_pressure_attach(send: Any) -> WritePressure | None:
    """Register a WritePressure on daphne's transport behind ``send``, if there is one.

    Without one (another server, Channels' test communicator) writes stay unbounded, as
    in plain Channels.
    """
    # Without the producer swap below, daphne's HTTP channel holds the producer slot.
    protocol = _protocol(send) if hook_active(UPGRADE_PRODUCER) else None
    register = getattr(protocol, "registerProducer", None)
    if protocol is None or register is None:
        return None
    transport = protocol.transport
    if isinstance(getattr(transport, "producer", None), HTTPChannel):
        # The HTTP channel that upgraded this connection stays registered as its
        # producer, though it no longer reads or writes it (daphne hands the transport
        # to the websocket protocol): put ours in its place.
        transport.unregisterProducer()
    pressure = WritePressure(protocol)
    try:
        register(pressure, True)
    except RuntimeError:
        logger.warning("websocket transport has another producer; write backpressure is off")
        return None
    return pressure


class HttpWritePressure(WritePressure):
    """WritePressure of a streamed HTTP response, registered on its request."""

    __slots__ = ("_request",)

    def __init__(self, request: Any) -> None:
        super().__init__()
        self._request = request

    def detach(self) -> None:
        """Unregister from the request (before its response ends: a keep-alive
        connection's next request registers its own) and release any waiting writer."""
        request, self._request = self._request, None
        if request is not None and request.producer is self:
            request.unregisterProducer()
        self.stopProducing()


def http_pressure_attach(send: Any) -> HttpWritePressure | None:
    """Register a WritePressure on daphne's HTTP request behind ``send`` (a streamed
    response), if there is one; None under another server: writes stay unbounded."""
    protocol = _protocol(send) if hook_active(HTTP_PRODUCER) else None
    register = getattr(protocol, "registerProducer", None)
    if protocol is None or register is None:
        return None
    pressure = HttpWritePressure(protocol)
    try:
        register(pressure, True)
    except (RuntimeError, ValueError):
        logger.warning("HTTP request has another producer; write backpressure is off")
        return None
    return pressure
