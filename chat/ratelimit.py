"""Per-user posting rate limit, shared by every process through Redis."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence

import redis
from django.conf import settings

from chat.errors import RateLimited

__all__ = ["send_rate_check_many"]

logger = logging.getLogger(__name__)

_clients: dict[str, redis.Redis] = {}
# Embedded default (no Redis): counts of the current window only.
_local: defaultdict[str, int] = defaultdict(int)
_local_window = [0]
_local_lock = threading.Lock()


def _redis() -> redis.Redis | None:
    if not settings.REDIS_URLS:
        return None
    url = settings.REDIS_URLS[0]
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
    return client


def _counts(keys: list[str], bucket: int, window: int) -> list[int]:
    client = _redis()
    if client is None:
        # Embedded default: one process, so an in-process count is the whole truth.
        with _local_lock:
            if _local_window[0] != bucket:
                _local.clear()
                _local_window[0] = bucket
            counts = []
            for key in keys:
                _local[key] += 1
                counts.append(_local[key])
            return counts
    # One round trip for a whole batch of posts.
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.incr(key)
        pipe.expire(key, window + 1)
    replies = pipe.execute()
    return [int(count) for count in replies[::2]]


def send_rate_check_many(user_ids: Sequence[int]) -> list[RateLimited | None]:
    """For posts by ``user_ids`` (one entry a post), the error of each post past
    CHAT_RATE_LIMIT posts per window (fixed windows), else None.

    With Redis unreachable the check lets the posts through: posting must keep working
    without Redis, and the database is the record either way.
    """
    limit, window = settings.CHAT["RATE_LIMIT"]
    if limit <= 0 or not user_ids:
        return [None] * len(user_ids)
    bucket = int(time.time() // window)
    prefix = f"{settings.CHAT['REDIS_PREFIX']}:rate:send"
    try:
        counts = _counts([f"{prefix}:{user_id}:{bucket}" for user_id in user_ids], bucket, window)
    except redis.RedisError:
        logger.warning("rate limit check skipped: Redis unavailable")
        return [None] * len(user_ids)
    return [
        RateLimited(f"Too many messages: at most {limit} every {window} seconds.")
        if count > limit
        else None
        for count in counts
    ]
