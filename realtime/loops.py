"""One instance per event loop: per process in production, per test in the tests."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["cancel_requested", "loop_local", "to_the_end"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


def loop_local(factory: Callable[[], T]) -> Callable[[], T]:
    """Return a getter of the running loop's instance, made by ``factory`` on first use.

    Loop-bound state (tasks, futures, layer connections) cannot be shared across loops,
    and an instance goes away with its loop.
    """
    instances: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def get() -> T:
        loop = asyncio.get_running_loop()
        instance = instances.get(loop)
        if instance is None:
            instance = instances[loop] = factory()
        return instance

    return get


def cancel_requested() -> bool:
    """True if this task was asked to stop, even if the CancelledError was swallowed."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def to_the_end(awaitable: Awaitable[None]) -> None:
    """Await ``awaitable`` in a task of its own to its end, even if this task is cancelled
    meanwhile (then raise CancelledError after it)."""
    task = asyncio.ensure_future(awaitable)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.warning("%s failed after a cancel", awaitable, exc_info=error)
        raise asyncio.CancelledError
    task.result()
