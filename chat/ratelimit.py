"""Per-user posting rate limit, shared by every process through Redis."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict

import redis
from django.conf import settings

from chat.errors import RateLimited

__all__ = ["send_rate_check"]

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


def _count(key: str, bucket: int, window: int) -> int:
    client = _redis()
    if client is None:
        # Embedded default: one process, so an in-process count is the whole truth.
        with _local_lock:
            if _local_window[0] != bucket:
                _local.clear()
                _local_window[0] = bucket
            _local[key] += 1
            return _local[key]
    pipe = client.pipeline()
    pipe.incr(key)
    pipe.expire(key, window + 1)
    count, _ = pipe.execute()
    return int(count)


def send_rate_check(*, user_id: int) -> None:
    """Raise RateLimited past CHAT_RATE_LIMIT posts per window (fixed windows).

    With Redis unreachable the check lets the post through: posting must keep working
    without Redis, and the database is the record either way.
    """
    limit, window = settings.CHAT["RATE_LIMIT"]
    if limit <= 0:
        return
    bucket = int(time.time() // window)
    key = f"{settings.CHAT['REDIS_PREFIX']}:rate:send:{user_id}:{bucket}"
    try:
        count = _count(key, bucket, window)
    except redis.RedisError:
        logger.warning("rate limit check skipped: Redis unavailable")
        return
    if count > limit:
        raise RateLimited(f"Too many messages: at most {limit} every {window} seconds.")
