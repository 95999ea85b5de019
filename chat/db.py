"""Running ORM code from async code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

__all__ = ["in_thread"]

P = ParamSpec("P")
R = TypeVar("R")


def in_thread(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Run ``func`` in the ORM thread, first dropping stale or broken connections.

    Django does that at the start of each HTTP request and Channels before every consumer
    message, which costs a thread hop per websocket frame; the chat consumer skips
    Channels' hop and every ORM call pays for the check in its own hop instead.
    """

    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        close_old_connections()
        return func(*args, **kwargs)

    return sync_to_async(call)
