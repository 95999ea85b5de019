"""SIGTERM under daphne: a graceful stop (realtime.draining), then Twisted's own.

daphne leaves SIGTERM to Twisted, whose handler stops the reactor at once: daphne cancels
every application (its websockets end without a close frame, 1006), the event loop stops
while posts are in their database call, and what those commit is never answered nor
published by this process. Here a SIGTERM first stops accepting connections, refuses new
requests (503), drains (realtime.draining) and only then stops the reactor; a watchdog
ends the process at ``CHAT_SHUTDOWN_SECONDS`` whatever is still running (an ORM thread
waiting for a lock would otherwise hold up the interpreter's exit).

Public APIs only: the reactor's callWhenRunning (after startup, when Twisted has
installed its signal handlers), callFromThread, getReaders and stop, IListeningPort's
stopListening, and the signal module.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from chat.inflight import work
from realtime.draining import drain, draining

__all__ = ["DrainingHTTP", "graceful_stop_install"]

logger = logging.getLogger(__name__)

_REFUSAL = json.dumps(
    {
        "errors": [
            {
                "message": "This server is restarting; retry (another one will answer).",
                "extensions": {"code": "SERVICE_UNAVAILABLE"},
            }
        ]
    }
).encode()


class DrainingHTTP:
    """Count each HTTP request as work in flight; once draining, answer 503 at once."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and draining():
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", b"1"),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _REFUSAL})
            return
        with work():
            await self.app(scope, receive, send)


def graceful_stop_install(seconds: float) -> None:
    """Under daphne (Twisted's reactor imported), make SIGTERM a graceful stop within
    ``seconds``; elsewhere (tests, management commands) do nothing."""
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is None:
        return
    reactor.callWhenRunning(_handler_install, reactor, seconds)


def _handler_install(reactor: Any, seconds: float) -> None:
    twisted_handler = signal.getsignal(signal.SIGTERM)
    begun = threading.Event()

    def on_sigterm(number: int, frame: Any) -> None:
        if begun.is_set():
            # A second SIGTERM: stop now, as Twisted would have.
            if callable(twisted_handler):
                twisted_handler(number, frame)
            return
        begun.set()
        reactor.callFromThread(_begin, reactor, seconds)

    signal.signal(signal.SIGTERM, on_sigterm)


def _watchdog(seconds: float) -> None:
    def expire() -> None:
        logger.error(
            "graceful stop overran %.1f s; exiting now",
            seconds,
            extra={"event": "shutdown.overrun"},
        )
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def _begin(reactor: Any, seconds: float) -> None:
    from twisted.internet.interfaces import IListeningPort

    started = time.monotonic()
    _watchdog(seconds)
    # No new connections: the load balancer sends them to the other processes.
    for reader in reactor.getReaders():
        if IListeningPort.providedBy(reader):
            reader.stopListening()
    logger.info("SIGTERM: graceful stop begun", extra={"event": "shutdown.begun"})
    task = asyncio.get_running_loop().create_task(_drain_then_stop(reactor, seconds, started))
    # Held: the loop keeps only a weak reference to a task.
    _tasks.add(task)


_tasks: set[asyncio.Task[None]] = set()


async def _drain_then_stop(reactor: Any, seconds: float, started: float) -> None:
    try:
        outcome = await drain(seconds - (time.monotonic() - started))
        logger.info("graceful stop drained", extra={"event": "shutdown.drained", **outcome})
    finally:
        reactor.stop()
