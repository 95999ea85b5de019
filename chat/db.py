"""Running ORM code from async code."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import close_old_connections, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from chat.inflight import work

__all__ = ["calling_loop", "in_thread", "statement_cursor"]

P = ParamSpec("P")
R = TypeVar("R")


HEALTH_CHECK_SECONDS = 1.0
_checked = threading.local()
# The event loop whose in_thread call the current ORM thread is running (calling_loop()).
_caller = threading.local()
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _orm_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=settings.CHAT["DB_THREADS"], thread_name_prefix="chat-orm"
            )
        return _executor


def in_thread(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Run ``func`` in one of the process's ORM threads, first dropping stale or broken
    connections.

    Not sync_to_async's default (thread_sensitive): under Django's ASGI handler that runs
    each request's sync code in a thread made for the request, where the ORM opens a new
    database connection (a PostgreSQL backend fork) that is never reused. A fixed pool
    keeps one persistent connection per thread (``CHAT_DB_THREADS``), reached by a plain
    executor hop (see _result).

    Django checks connections at the start of each HTTP request and Channels before every
    consumer message, which costs a thread hop per websocket frame; here the check runs in
    the hop each ORM call makes anyway. With CONN_HEALTH_CHECKS the check is a round trip
    (``SELECT 1``) before the call's first query, so it is made at most once a second per
    thread, and always after a database error; a connection that broke within that second
    fails one call (SERVICE_UNAVAILABLE) and is replaced by the next.
    """

    def call(loop: asyncio.AbstractEventLoop, *args: P.args, **kwargs: P.kwargs) -> R:
        now = time.monotonic()
        if now - getattr(_checked, "at", -HEALTH_CHECK_SECONDS) >= HEALTH_CHECK_SECONDS or any(
            connection.errors_occurred for connection in connections.all(initialized_only=True)
        ):
            close_old_connections()
            _checked.at = now
        _caller.loop = loop
        try:
            # Counted in this thread, where it runs: a caller cancelled meanwhile does not
            # stop it, and a graceful stop waits for it (realtime.draining).
            with work():
                return func(*args, **kwargs)
        finally:
            _caller.loop = None

    async def in_pool(*args: P.args, **kwargs: P.kwargs) -> R:
        # The caller's loop goes along with the call, so code in the thread (a publish
        # after commit) can find it: calling_loop(). The call runs in a copy of the
        # caller's context, as sync_to_async's would.
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        future = _orm_executor().submit(context.run, call, loop, *args, **kwargs)
        return await _result(loop, future)

    return in_pool


async def _result(loop: asyncio.AbstractEventLoop, future: Future[R]) -> R:
    """The thread's result, awaited. A cancelled caller stops waiting, not the call: it
    runs to its end (started or not), as under asgiref's sync_to_async, which this
    replaces on the hot path (its per-call set-up, a shield and a context restore, cost
    about a tenth of a busy chat server's event loop)."""
    waiter: asyncio.Future[R] = loop.create_future()

    def settle(done: Future[R]) -> None:
        if waiter.done():
            return
        error = done.exception()
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(done.result())

    def done_in_thread(done: Future[R]) -> None:
        # (A loop closed meanwhile, at exit: nobody waits any more.)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, done)

    future.add_done_callback(done_in_thread)
    return await waiter


def calling_loop() -> asyncio.AbstractEventLoop | None:
    """Return the event loop whose ``in_thread`` call this ORM thread is running, or
    None outside one (public API only: the loop is recorded before the hop)."""
    return getattr(_caller, "loop", None)


def _plain_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    return connection.cursor()


# How statement_cursor makes a cursor: Django's own by default; internals/django.py
# installs one with server-side prepared statements at start-up under its hook.
statement_cursor_factory: Callable[[BaseDatabaseWrapper], CursorWrapper] = _plain_cursor


def statement_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """Return a cursor for a statement run on every request (prepared if the hook is on)."""
    return statement_cursor_factory(connection)
