"""The floor: one process relaying each received frame to every local socket.

No channel layer, no GraphQL, no database: what writing the frames costs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]
# Sockets by path, so that /room/a and /room/b are separate rooms.
_rooms: dict[str, set[Send]] = {}


async def application(scope: dict[str, Any], receive: Any, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            pass
        return
    if scope["type"] != "websocket":
        await receive()
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    sockets = _rooms.setdefault(scope["path"], set())
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            sockets.add(send)
        elif message["type"] == "websocket.receive":
            frame = {"type": "websocket.send", "text": message.get("text")}
            for socket_send in list(sockets):
                await socket_send(frame)
        elif message["type"] == "websocket.disconnect":
            sockets.discard(send)
            return
