"""/healthz: can this process reach its database and its Redis servers?"""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from chat.db import in_thread
from chat.redisclients import redis_async_client, redis_async_client_close

__all__ = ["healthz"]

TIMEOUT_SECONDS = 2.0


def _database_ping() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def _database() -> str:
    try:
        await asyncio.wait_for(in_thread(_database_ping)(), TIMEOUT_SECONDS)
    except Exception as error:
        return f"error: {type(error).__name__}"
    return "ok"


async def _redis(shard: dict[str, Any]) -> str:
    # With Sentinel: the master the sentinels name now (none during a failover: an error).
    client = redis_async_client(
        shard, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )
    try:
        await client.ping()
    except Exception as error:
        return f"error: {type(error).__name__}"
    finally:
        await redis_async_client_close(client)
    return "ok"


async def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and every Redis server answer, 503 otherwise."""
    database, *redis_states = await asyncio.gather(
        _database(), *(_redis(shard) for shard in settings.REDIS_SHARDS)
    )
    body = {"database": database, "redis": redis_states or "not configured"}
    healthy = database == "ok" and all(state == "ok" for state in redis_states)
    return JsonResponse(body, status=200 if healthy else 503)
