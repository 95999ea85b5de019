"""Rate limits shared by every process through Redis: posts per user, sign-in attempts per
client IP and per username."""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Sequence

import redis
from django.conf import settings

from chat.errors import RateLimited
from chat.redisclients import redis_client

__all__ = [
    "login_attempt_check",
    "register_attempt_check",
    "send_rate_check",
    "send_rate_check_many",
    "typing_rate_check",
]

logger = logging.getLogger(__name__)

_clients: dict[str, redis.Redis] = {}
# Embedded default (no Redis): each key names its window, and is dropped when it ends.
_local: dict[str, int] = {}
_local_expiry: dict[str, float] = {}
_local_pruned = [0.0]
_local_lock = threading.Lock()


def _redis() -> redis.Redis | None:
    if not settings.REDIS_SHARDS:
        return None
    shard = settings.REDIS_SHARDS[0]
    key = repr(shard)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = redis_client(shard, socket_timeout=0.5, socket_connect_timeout=0.5)
    return client


def _counts(keys: list[tuple[str, int]]) -> list[int]:
    """Count one more for each (key, window) and return the counts; a key names its
    fixed window and lives as long as the window."""
    client = _redis()
    if client is None:
        # Embedded default: one process, so an in-process count is the whole truth.
        now = time.monotonic()
        with _local_lock:
            if now - _local_pruned[0] >= 1:
                _local_pruned[0] = now
                for key, expiry in list(_local_expiry.items()):
                    if expiry < now:
                        _local.pop(key, None)
                        del _local_expiry[key]
            counts = []
            for key, window in keys:
                _local[key] = _local.get(key, 0) + 1
                _local_expiry.setdefault(key, now + window + 1)
                counts.append(_local[key])
            return counts
    # One round trip for a whole batch of posts.
    pipe = client.pipeline(transaction=False)
    for key, window in keys:
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
        counts = _counts([(f"{prefix}:{user_id}:{bucket}", window) for user_id in user_ids])
    except redis.RedisError:
        logger.warning("rate limit check skipped: Redis unavailable")
        return [None] * len(user_ids)
    return [
        RateLimited(f"Too many messages: at most {limit} every {window} seconds.")
        if count > limit
        else None
        for count in counts
    ]


def send_rate_check(user_id: int) -> None:
    """Count one write by ``user_id`` against the posts' limit (edits, reactions and
    membership changes share it); raise RATE_LIMITED past it."""
    refusal = send_rate_check_many([user_id])[0]
    if refusal is not None:
        raise refusal


def _attempts_check(action: str, limits: list[tuple[str, tuple[int, int]]]) -> None:
    """Count an attempt at ``action`` under each (scope, (COUNT, SECONDS)) limit; raise
    RATE_LIMITED, with the seconds until the latest exceeded window ends, past any."""
    now = time.time()
    prefix = f"{settings.CHAT['REDIS_PREFIX']}:rate:{action}"
    counted = [
        (f"{prefix}:{scope}:{int(now // window)}", limit, window)
        for scope, (limit, window) in limits
        if limit > 0
    ]
    if not counted:
        return
    try:
        counts = _counts([(key, window) for key, _, window in counted])
    except redis.RedisError:
        logger.warning("%s rate limit check skipped: Redis unavailable", action)
        return
    waits = [
        window - now % window
        for (_, limit, window), count in zip(counted, counts, strict=True)
        if count > limit
    ]
    if waits:
        retry_after = max(1, math.ceil(max(waits)))
        raise RateLimited(
            f"Too many attempts; try again in {retry_after} seconds.", retry_after=retry_after
        )


def login_attempt_check(*, client_ip: str, username: str) -> None:
    """Count a login attempt (the chat's or the admin's, right password or wrong, known
    user or not) per client IP and per username (as folded, see chat.usernames);
    raise RATE_LIMITED past CHAT_LOGIN_RATE_LIMIT_IP or CHAT_LOGIN_RATE_LIMIT_USER.

    Counting every attempt alike tells nothing about whether the user exists. The name
    is hashed: Redis holds no usernames, and a key's length does not depend on input.
    """
    name = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    _attempts_check(
        "login",
        [
            (f"ip:{client_ip}", settings.CHAT["LOGIN_RATE_LIMIT_IP"]),
            (f"user:{name}", settings.CHAT["LOGIN_RATE_LIMIT_USER"]),
        ],
    )


def register_attempt_check(*, client_ip: str) -> None:
    """Count a registration attempt per client IP; raise RATE_LIMITED past
    CHAT_REGISTER_RATE_LIMIT_IP."""
    _attempts_check("register", [(f"ip:{client_ip}", settings.CHAT["REGISTER_RATE_LIMIT_IP"])])


def typing_rate_check(user_id: int) -> None:
    """Count a setTyping by ``user_id``; raise RATE_LIMITED past CHAT_TYPING_RATE_LIMIT
    (clients send one every few seconds while typing; each one reaches every process)."""
    _attempts_check("typing", [(f"user:{user_id}", settings.CHAT["TYPING_RATE_LIMIT"])])
