"""A graceful stop (SIGTERM, a rolling restart): finish what is in flight, close every
socket with 1012 so that its client reconnects at once to another process and resumes,
flush the publisher; then the server may stop its loop (project/shutdown.py).

Every step has its share of the deadline: a stop never takes longer than
``CHAT_SHUTDOWN_SECONDS``, whatever a client or the database does meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from chat.inflight import in_flight, work_idle
from realtime.publisher import publisher_flush

__all__ = [
    "SERVICE_RESTART",
    "drain",
    "draining",
    "socket_register",
    "socket_unregister",
]

logger = logging.getLogger(__name__)

# RFC 6455 registry: "Service Restart": the client may reconnect (here: at once, to
# another process through the load balancer) and resume.
SERVICE_RESTART = 1012
# Of the deadline, what is kept for closing sockets and flushing the publisher after the
# wait for work in flight, and what for the server's own stop after that.
_CLOSE_SHARE = 0.25
_STOP_MARGIN_SECONDS = 0.5

_draining = False
# Each open socket's close for a restart, by socket.
_sockets: dict[object, Callable[[], Awaitable[None]]] = {}
_all_closed: asyncio.Event | None = None


def draining() -> bool:
    """True once a graceful stop has begun: refuse new work."""
    return _draining


def socket_register(socket: object, close: Callable[[], Awaitable[None]]) -> None:
    """Track an open socket; ``close`` closes it with SERVICE_RESTART."""
    _sockets[socket] = close


def socket_unregister(socket: object) -> None:
    _sockets.pop(socket, None)
    if not _sockets and _all_closed is not None:
        _all_closed.set()


async def _bounded(awaitable: Awaitable[object], until: float) -> bool:
    """Await ``awaitable`` until the monotonic time ``until``; False if it ran out."""
    try:
        async with asyncio.timeout(max(until - time.monotonic(), 0.0)):
            await awaitable
    except TimeoutError:
        return False
    return True


async def _work_done() -> None:
    # More may start after an idle moment (the next batch of posts already queued).
    while in_flight():
        await work_idle()


async def drain(seconds: float) -> dict[str, object]:
    """Stop taking work, wait for what is in flight, close every socket with 1012 and
    flush the publisher, all within ``seconds``; return what happened (for the log)."""
    global _draining, _all_closed
    started = time.monotonic()
    deadline = started + max(seconds - _STOP_MARGIN_SECONDS, 0.0)
    _draining = True
    work_deadline = deadline - seconds * _CLOSE_SHARE
    busy = in_flight()
    finished = await _bounded(_work_done(), work_deadline)
    sockets = list(_sockets.values())
    _all_closed = asyncio.Event()
    if not _sockets:
        _all_closed.set()
    for close in sockets:
        try:
            await close()
        except Exception:
            logger.warning("closing a socket for a restart failed", exc_info=True)
    flushed = await _bounded(publisher_flush(), deadline)
    # The clients answer the close frames: each socket then ends (websocket.disconnect).
    closed = await _bounded(_all_closed.wait(), deadline)
    return {
        "work_in_flight": busy,
        "work_finished": finished,
        "work_left": in_flight(),
        "sockets": len(sockets),
        "sockets_closed": closed,
        "published": flushed,
        "seconds": round(time.monotonic() - started, 3),
    }
