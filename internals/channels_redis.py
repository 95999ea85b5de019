"""Hooks into channels_redis' internals: several group messages published to a shard in
one pipelined round trip.

channels_redis' pub/sub layer sends each ``group_send`` in a round trip of its own; the
publisher sends bursts of events (a batch of posts), so it asks ``shard_batches`` for
them grouped by shard, each with one awaitable publishing them pipelined, as
``RedisSingleShardConnection.publish`` does one.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)

from internals.hooks import hook, hook_active

__all__ = ["SHARD_PUBLISH", "shard_batches"]

SHARD_PUBLISH = "channels_redis.shard_publish"


def shard_batches(
    layer: Any, items: list[tuple[str, dict[str, Any]]]
) -> list[tuple[list[dict[str, Any]], Awaitable[None]]] | None:
    """Group (group name, event) pairs by shard: per shard, its events (in order) and one
    awaitable publishing them; None if ``layer`` is not channels_redis pub/sub or the
    hook is off (send each with ``group_send``)."""
    if not hook_active(SHARD_PUBLISH) or not isinstance(layer, RedisPubSubChannelLayer):
        return None
    loop_layer = layer._get_layer()
    shards: dict[Any, list[tuple[str, dict[str, Any]]]] = {}
    for group, event in items:
        channel = loop_layer._get_group_channel_name(group)
        shards.setdefault(loop_layer._get_shard(channel), []).append((channel, event))
    return [
        ([event for _, event in pairs], _shard_publish(layer, shard, pairs))
        for shard, pairs in shards.items()
    ]


async def _shard_publish(layer: Any, shard: Any, pairs: list[tuple[str, dict[str, Any]]]) -> None:
    # As RedisSingleShardConnection.publish, for several messages.
    async with shard._lock:
        shard._ensure_redis()
        pipe = shard._redis.pipeline(transaction=False)
        for channel, event in pairs:
            pipe.publish(channel, layer.serialize(event))
        await pipe.execute()


def _install() -> None:
    # realtime/ may not import internals/: its publisher asks through this seam.
    from realtime import publisher

    publisher.shard_batcher = shard_batches  # type: ignore[attr-defined]


@hook(
    SHARD_PUBLISH,
    library="channels_redis",
    versions=">=4.2,<4.4",
    purpose="a burst of events published per Redis shard in one pipelined round trip",
    fallback="channels_redis' group_send, one round trip per event",
    install=_install,
)
def _check() -> None:
    if not callable(getattr(RedisPubSubChannelLayer, "_get_layer", None)):
        raise AttributeError("RedisPubSubChannelLayer has no _get_layer")
    if not callable(getattr(RedisPubSubChannelLayer, "serialize", None)):
        raise AttributeError("RedisPubSubChannelLayer has no serialize")
    for name in ("_get_shard", "_get_group_channel_name"):
        if len(inspect.signature(getattr(RedisPubSubLoopLayer, name)).parameters) != 2:
            raise TypeError(f"RedisPubSubLoopLayer.{name} no longer takes one name")
    publish = inspect.getsource(RedisSingleShardConnection.publish)
    for part in ("async with self._lock", "self._ensure_redis()", "self._redis.publish("):
        if part not in publish:
            raise TypeError(f"RedisSingleShardConnection.publish no longer does {part!r}")
    group_send = inspect.getsource(RedisPubSubLoopLayer.group_send)
    for part in ("self._get_group_channel_name(group)", "self._get_shard("):
        if part not in group_send:
            raise TypeError(f"RedisPubSubLoopLayer.group_send no longer does {part!r}")
