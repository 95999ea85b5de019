"""Write backpressure for websockets served by daphne.

ASGI has no backpressure: daphne hands every ``websocket.send`` to Twisted, whose transport
buffers whatever the client has not read yet, without limit. A client that stops reading
(a phone in a tunnel, a stuck tab) would grow the server's memory by every message of its
rooms. Twisted's own remedy is a push producer: the transport pauses it when its buffer
passes ``bufferSize`` (64 KiB) and resumes it once the buffer has drained. Registering one
for the socket tells us when to stop writing; the socket's subscriptions then fall behind,
their bounded buffers overflow and they catch up from the database once the client reads
again (see chat.hub and chat.streams).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from twisted.web.http import HTTPChannel

__all__ = ["WritePressure", "write_pressure_attach"]

logger = logging.getLogger(__name__)


class WritePressure:
    """Twisted ``IPushProducer`` for one websocket: tracks whether its buffer is full."""

    __slots__ = ("_resumed", "paused")

    def __init__(self) -> None:
        self.paused = False
        # Made only when someone waits: one per socket, mostly idle.
        self._resumed: asyncio.Future[None] | None = None

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


def write_pressure_attach(send: Any) -> WritePressure | None:
    """Register a WritePressure on daphne's transport behind ``send``, if there is one.

    ``send`` is the ASGI send callable the consumer got; daphne passes
    ``partial(server.handle_reply, protocol)`` and our middleware does not wrap it. Under
    another server (or Channels' test communicator) there is no transport to watch and
    writes stay unbounded, as in plain Channels.
    """
    if not isinstance(send, functools.partial) or not send.args:
        return None
    protocol = send.args[0]
    register = getattr(protocol, "registerProducer", None)
    if register is None or getattr(protocol, "transport", None) is None:
        return None
    transport = protocol.transport
    if isinstance(getattr(transport, "producer", None), HTTPChannel):
        # The HTTP channel that upgraded this connection stays registered as its
        # producer, though it no longer reads or writes it (daphne hands the transport
        # to the websocket protocol): put ours in its place.
        transport.unregisterProducer()
    pressure = WritePressure()
    try:
        register(pressure, True)
    except RuntimeError:
        logger.warning("websocket transport has another producer; write backpressure is off")
        return None
    return pressure
