"""Work in flight in this process (requests, posts, ORM calls), for a graceful stop to
wait on: a SIGTERM stops the event loop only once what was started has finished."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

__all__ = ["in_flight", "work", "work_begin", "work_end", "work_idle"]

_lock = threading.Lock()
_count = 0
# Futures (with their loops) waiting for the count to reach 0.
_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def work_begin() -> None:
    """Count a piece of work as started (from any thread)."""
    global _count
    with _lock:
        _count += 1


def work_end() -> None:
    """Count a piece of work as finished (from any thread); wake work_idle's waiters at 0."""
    global _count
    with _lock:
        _count -= 1
        if _count:
            return
        waiters = _waiters[:]
        _waiters.clear()
    for loop, future in waiters:
        # Thread-safe, and a no-op on a loop already closed.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_wake, future)


@contextlib.contextmanager
def work() -> Iterator[None]:
    """Count the body as work in flight."""
    work_begin()
    try:
        yield
    finally:
        work_end()


def in_flight() -> int:
    """The number of pieces of work started and not finished."""
    return _count


async def work_idle() -> None:
    """Return once no work is in flight (at once if none is); more may start after."""
    with _lock:
        if not _count:
            return
        future = asyncio.get_running_loop().create_future()
        _waiters.append((asyncio.get_running_loop(), future))
    await future
