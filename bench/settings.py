"""Settings for benchmark servers: the project's, with the layer class chosen by BENCH_LAYER.

BENCH_LAYER=core selects channels-redis' RedisChannelLayer (the Channels tutorial's layer),
anything else keeps the project's choice (RedisPubSubChannelLayer). Capacity and pool size
are raised so the baselines are not measured against their defaults' failures.
"""

from __future__ import annotations

import os

from project.settings import *  # noqa: F403
from project.settings import CHANNEL_LAYERS, REDIS_URL

if REDIS_URL and os.environ.get("BENCH_LAYER") == "core":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "max_connections": 2000}],
                "capacity": 10_000,
            },
        }
    }
elif REDIS_URL:
    CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["max_connections"] = 2000  # type: ignore[index]

ROOT_URLCONF = os.environ.get("BENCH_URLCONF", "project.urls")
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
