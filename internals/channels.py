"""Hooks into Channels' internals: the consumer's receive loop and dispatch."""

from __future__ import annotations

import inspect

from channels.consumer import AsyncConsumer

from internals.hooks import hook

__all__ = ["CONSUMER_LOOP"]

# Used by internals/websocket.py (ChatWSConsumer.__call__ and dispatch).
CONSUMER_LOOP = "channels.consumer_loop"


@hook(
    CONSUMER_LOOP,
    library="channels",
    versions=">=4.2,<4.4",
    purpose="frames dispatched without a task per receive() or a connection check per frame",
    fallback="Channels' own AsyncConsumer.__call__ and dispatch",
)
def _check_consumer_loop() -> None:
    call = inspect.getsource(AsyncConsumer.__call__)
    for part in ("self.scope = scope", "self.channel_layer = ", "self.base_send = send"):
        if part not in call:
            raise TypeError(f"AsyncConsumer.__call__ no longer does {part!r}")
    if "get_handler_name(message)" not in inspect.getsource(AsyncConsumer.dispatch):
        raise TypeError("AsyncConsumer.dispatch no longer finds handlers by get_handler_name")
