"""graphql-transport-ws keepalive: one task per event loop pings every acknowledged socket."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any, Protocol

from django.conf import settings

from realtime.loops import loop_local

__all__ = ["pinger"]

logger = logging.getLogger(__name__)


class Handler(Protocol):
    """A graphql-transport-ws handler, as the pinger uses it."""

    view: Any  # internals.websocket.ChatWSConsumer

    async def send_message(self, message: Any) -> None: ...


class _Pinger:
    """Sends graphql-transport-ws ``ping`` to every acknowledged socket of an event loop
    from one task: a sleeping task per socket would cost ~1.5 KB of each idle connection."""

    def __init__(self) -> None:
        self._handlers: set[Handler] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, handler: Handler) -> None:
        self._handlers.add(handler)
        if self._task is None:
            # A fresh context: not the log context (connection id) of this first socket.
            self._task = asyncio.create_task(
                self._run(), name="chat-keepalive", context=contextvars.Context()
            )

    def discard(self, handler: Handler) -> None:
        self._handlers.discard(handler)

    async def _run(self) -> None:
        try:
            while self._handlers and (interval := settings.CHAT["KEEPALIVE_SECONDS"]) > 0:
                await asyncio.sleep(interval)
                for handler in tuple(self._handlers):
                    # A socket whose client is not reading gets no ping: it would only
                    # wait here, holding up everyone else's.
                    if handler.view.write_paused:
                        continue
                    try:
                        await handler.send_message({"type": "ping"})
                    except Exception:
                        logger.exception("keepalive ping failed")
        finally:
            self._task = None


pinger = loop_local(_Pinger)
