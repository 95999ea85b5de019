"""Redis clients for a shard of ``settings.REDIS_SHARDS``: a URL, or a master found through
Redis Sentinel that the client follows to the promoted replica after a failover."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.sentinel import Sentinel

__all__ = ["redis_async_client", "redis_async_client_close", "redis_client"]

# The keys of a shard dict that configure the master's connections (the rest say where
# the master is).
_CONNECTION_KEYS = ("password", "db")


def _connection_options(shard: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    return {**{key: shard[key] for key in _CONNECTION_KEYS if key in shard}, **options}


def redis_client(shard: dict[str, Any], **options: Any) -> redis.Redis:
    """A blocking client of the shard's master; ``options`` go to its connections."""
    if "address" in shard:
        return redis.Redis.from_url(shard["address"], **options)
    sentinel = Sentinel(shard["sentinels"], sentinel_kwargs=shard.get("sentinel_kwargs"))
    return sentinel.master_for(shard["master_name"], **_connection_options(shard, options))


def redis_async_client(shard: dict[str, Any], **options: Any) -> aioredis.Redis:
    """An asyncio client of the shard's master; ``options`` go to its connections."""
    if "address" in shard:
        return aioredis.Redis.from_url(shard["address"], **options)
    sentinel = AsyncSentinel(shard["sentinels"], sentinel_kwargs=shard.get("sentinel_kwargs"))
    return sentinel.master_for(shard["master_name"], **_connection_options(shard, options))


async def redis_async_client_close(client: aioredis.Redis) -> None:
    """Close a client of ``redis_async_client`` for good: with Sentinel, its connections
    to the sentinels too (closing the client closes only the master's)."""
    await client.aclose()
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    if manager is not None:
        for sentinel in manager.sentinels:
            await sentinel.aclose()
