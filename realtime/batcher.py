"""Batched writes from async code: the calls of an event loop reach the database together.

Each write would otherwise be an ORM call of its own, and the process's ORM threads
(``CHAT_DB_THREADS``, one by default) run one call at a time, so the thread time of one
write was the ceiling of a process's write rate, however idle its event loop. Items that
arrive while a batch runs wait for the next one, which takes them all in one call (for
posts on PostgreSQL, one statement: chat.posting.messages_create). An idle process runs
an item at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError

from chat.db import in_thread

__all__ = ["MAX_BATCH", "batched"]

# Items in one call at most; more wait for the next batch.
MAX_BATCH = 100

logger = logging.getLogger(__name__)

I = TypeVar("I")  # noqa: E741
R = TypeVar("R")

# Items -> one result per item, in order: the item's value or the error that refused it.
BatchFunction = Callable[[Sequence[I]], list[R | Exception]]


class _Batcher(Generic[I, R]):
    def __init__(self, function: BatchFunction[I, R], each: Callable[[I, R], None] | None) -> None:
        self._function = function
        self._each = each
        # Each item with its caller's future and context.
        self._waiting: list[tuple[I, asyncio.Future[R], contextvars.Context]] = []
        # Counted as they start and end, not by their done callbacks, which run a loop
        # pass later: an item in between would find no batch to take it.
        self._running = 0
        # Held here: the loop keeps only weak references to tasks.
        self._tasks: set[asyncio.Task[None]] = set()

    async def call(self, item: I) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future, contextvars.copy_context()))
        # As many batches at once as there are ORM threads to run them.
        if self._running < settings.CHAT["DB_THREADS"]:
            self._running += 1
            # A fresh context: the batch serves every socket.
            task = asyncio.create_task(self._run(), context=contextvars.Context())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
                items = [item for item, _, _ in batch]
                try:
                    results = await in_thread(self._function)(items)
                except Exception as error:
                    if len(batch) == 1 or isinstance(error, OperationalError | InterfaceError):
                        # One item, or the database unavailable: the same for every item.
                        results = [error] * len(batch)
                    else:
                        # Whatever else failed the whole call, each item alone: one item's
                        # failure is never another's.
                        logger.warning("batch failed; running its items one by one", exc_info=True)
                        results = [await self._alone(item) for item in items]
                for (item, future, context), result in zip(batch, results, strict=True):
                    if not isinstance(result, Exception) and self._each is not None:
                        # In the caller's context (its log context), even if the caller
                        # was cancelled meanwhile: the write stands.
                        context.run(self._each, item, result)
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._running -= 1

    async def _alone(self, item: I) -> R | Exception:
        try:
            return (await in_thread(self._function)([item]))[0]
        except Exception as error:
            return error


def batched(
    function: BatchFunction[I, R], *, each: Callable[[I, R], None] | None = None
) -> Callable[[I], Awaitable[R]]:
    """Return an async call of ``function`` for one item, batched with the running event
    loop's other calls; ``each(item, result)`` runs for every item written, in its
    caller's context."""
    batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batcher[I, R]] = (
        weakref.WeakKeyDictionary()
    )

    async def call(item: I) -> R:
        loop = asyncio.get_running_loop()
        batcher = batchers.get(loop)
        if batcher is None:
            batcher = batchers[loop] = _Batcher(function, each)
        return await batcher.call(item)

    return call
