"""One instance per event loop: per process in production, per test in the tests."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

__all__ = ["loop_local"]

T = TypeVar("T")


def loop_local(factory: Callable[[], T]) -> Callable[[], T]:
    """Return a getter of the running loop's instance, made by ``factory`` on first use.

    Loop-bound state (tasks, futures, layer connections) cannot be shared across loops,
    and an instance goes away with its loop.
    """
    instances: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def get() -> T:
        loop = asyncio.get_running_loop()
        instance = instances.get(loop)
        if instance is None:
            instance = instances[loop] = factory()
        return instance

    return get
