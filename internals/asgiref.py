"""Hooks into asgiref's internals: the event loop a sync_to_async thread was called from.

asgiref records it in ``SyncToAsync.threadlocal`` (for async_to_sync's use) and has no
public accessor. The standard path is chat.db.calling_loop(), recorded by chat.db's own
``in_thread``; this one also finds the loop for sync_to_async calls made elsewhere (Django's
handler, Channels' database_sync_to_async).
"""

from __future__ import annotations

import asyncio
import inspect
import os

from asgiref.sync import AsyncToSync, SyncToAsync

from internals.hooks import hook, hook_active

__all__ = ["MAIN_EVENT_LOOP", "main_event_loop"]

MAIN_EVENT_LOOP = "asgiref.main_event_loop"


def main_event_loop() -> asyncio.AbstractEventLoop | None:
    """Return the running loop whose sync_to_async call this thread is serving, or None
    (outside one, or when the hook is off)."""
    if not hook_active(MAIN_EVENT_LOOP):
        return None
    local = SyncToAsync.threadlocal
    if getattr(local, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(local, "main_event_loop", None)
    return loop if isinstance(loop, asyncio.AbstractEventLoop) and loop.is_running() else None


def _install() -> None:
    # realtime/ may not import internals/: its publisher asks through this seam.
    from realtime import publisher

    publisher.main_loop_finder = main_event_loop  # type: ignore[attr-defined]


@hook(
    MAIN_EVENT_LOOP,
    library="asgiref",
    versions=">=3.8,<3.14",
    purpose="the serving loop of any sync_to_async thread (publishing after commit)",
    fallback="chat.db.calling_loop() (chat.db's ORM threads only; elsewhere a blocking publish)",
    install=_install,
)
def _check() -> None:
    if not hasattr(SyncToAsync, "threadlocal"):
        raise AttributeError("SyncToAsync has no threadlocal")
    for name in ("self.threadlocal.main_event_loop = ", "self.threadlocal.main_event_loop_pid = "):
        if name not in inspect.getsource(SyncToAsync):
            raise AttributeError(f"SyncToAsync no longer sets {name.split(' ')[0]}")
    if "SyncToAsync.threadlocal" not in inspect.getsource(AsyncToSync):
        raise TypeError("AsyncToSync no longer reads SyncToAsync.threadlocal")
