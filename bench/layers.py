"""Compare channels-redis layer classes on the service's publish path.

Each process of the service holds one hub channel per room group and every post is one
``group_send``. This measures, per layer class, on a private redis-server: group_send
throughput from one publisher to two receiving "processes" (two layer instances, as two
daphne processes would be), and the publish-to-receive latency.

    .venv/bin/python -m bench.layers [--messages 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time

from tests.servers import RedisServer

CLASSES = {
    "RedisChannelLayer": "channels_redis.core.RedisChannelLayer",
    "RedisPubSubChannelLayer": "channels_redis.pubsub.RedisPubSubChannelLayer",
}


async def run(layer_path: str, url: str, messages: int) -> dict[str, object]:
    from django.utils.module_loading import import_string

    cls = import_string(layer_path)
    kwargs = {"hosts": [url]}
    if "core" in layer_path:
        kwargs["capacity"] = messages + 10  # type: ignore[assignment]
    publisher = cls(**kwargs)
    receivers = [cls(**kwargs), cls(**kwargs)]
    group = f"bench.{os.getpid()}.{time.monotonic_ns()}"
    channels = []
    for layer in receivers:
        channel = await layer.new_channel("hub.")
        await layer.group_add(group, channel)
        channels.append(channel)
    latencies: list[float] = []

    async def receive(layer: object, channel: str) -> None:
        for _ in range(messages):
            event = await layer.receive(channel)  # type: ignore[attr-defined]
            latencies.append(time.perf_counter() - event["t"])

    tasks = [
        asyncio.create_task(receive(layer, ch))
        for layer, ch in zip(receivers, channels, strict=True)
    ]
    await asyncio.sleep(0.2)
    start = time.perf_counter()
    for n in range(messages):
        await publisher.group_send(
            group, {"type": "chat.message", "n": n, "t": time.perf_counter()}
        )
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    latencies.sort()
    for layer, channel in zip(receivers, channels, strict=True):
        await layer.group_discard(group, channel)
    return {
        "layer": layer_path.rsplit(".", 1)[1],
        "messages": messages,
        "publishes_per_s": round(messages / elapsed),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import tempfile
    from pathlib import Path

    redis = RedisServer(Path(tempfile.mkdtemp(prefix="bench-redis-")))
    redis.start()
    try:
        for path in CLASSES.values():
            print(json.dumps(asyncio.run(run(path, redis.url, args.messages))))
    finally:
        redis.kill()


if __name__ == "__main__":
    main()
