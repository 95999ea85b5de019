"""Posting from async code: the posts of an event loop reach the database in batches.

Each post would otherwise be an ORM call of its own, and the process's ORM threads
(``CHAT_DB_THREADS``, one by default) run one call at a time: with a post taking about a
millisecond of thread time, that was the ceiling of a process's posting rate, however
idle its event loop. Posts that arrive while a batch runs wait for the next one, which
takes them all in one call and, on PostgreSQL, one statement (posting.messages_create).
An idle process runs a post at once, as before.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging

from django.conf import settings
from django.contrib.auth.models import User
from django.db import InterfaceError, OperationalError

from chat import posting
from chat.db import in_thread
from chat.models import Message
from realtime.loops import loop_local

__all__ = ["MAX_BATCH", "message_post"]

# Posts in one statement at most; more wait for the next batch.
MAX_BATCH = 100

logger = logging.getLogger(__name__)

_Waiting = list[tuple[posting.Post, "asyncio.Future[Message]"]]


class _Batcher:
    def __init__(self) -> None:
        self._waiting: _Waiting = []
        # Counted as they start and end, not by their done callbacks, which run a loop
        # pass later: a post in between would find no batch to take it.
        self._running = 0
        # Held here: the loop keeps only weak references to tasks.
        self._tasks: set[asyncio.Task[None]] = set()

    async def post(self, post: posting.Post) -> Message:
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiting.append((post, future))
        # As many batches at once as there are ORM threads to run them.
        if self._running < settings.CHAT["DB_THREADS"]:
            self._running += 1
            # A fresh context: the batch serves every socket (each post keeps its own
            # for its log line).
            task = asyncio.create_task(self._run(), context=contextvars.Context())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
                posts = [post for post, _ in batch]
                try:
                    results = await in_thread(posting.messages_create)(posts)
                except Exception as error:
                    if len(batch) == 1 or isinstance(error, OperationalError | InterfaceError):
                        # One post, or the database unavailable: the same for every post.
                        results = [error] * len(batch)
                    else:
                        # Whatever else failed the whole call, each post alone: one post's
                        # failure is never another's.
                        logger.warning("posting batch failed; posting one by one", exc_info=True)
                        results = [await _post_alone(post) for post in posts]
                for (_, future), result in zip(batch, results, strict=True):
                    # Done already if its poster was cancelled (the post stands).
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._running -= 1


async def _post_alone(post: posting.Post) -> Message | Exception:
    try:
        return (await in_thread(posting.messages_create)([post]))[0]
    except Exception as error:
        return error


_batcher = loop_local(_Batcher)


async def message_post(*, room_name: str, author: User, text: str) -> Message:
    """posting.message_create from async code, batched with the loop's other posts."""
    post = posting.Post(
        room_name=room_name, author=author, text=text, log_context=contextvars.copy_context()
    )
    return await _batcher().post(post)
