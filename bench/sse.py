"""Benchmark subscribers over HTTP streaming (internals/httpstream.py): GraphQL over SSE
or Apollo's multipart subscriptions, on raw sockets (an HTTP/1.1 request, a chunked
response parsed as it comes), handed to bench/client.py's subscriber loop as the
graphql-transport-ws ``next`` frames it reads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from bench.client import Design

__all__ = ["StreamConnection", "StreamDesign"]

# What bench/client.py's subscribers select (Design.subscribe, ours).
MESSAGE_ADDED = (
    "subscription($room: String!) { messageAdded(room: $room) "
    "{ id seq text createdAt author { id username } room { id name } } }"
)
ACCEPT = {
    "sse": b"text/event-stream",
    "multipart": b"multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json",
}
SSE_NEXT = b"event: next\ndata: "
DELIMITER = b"\r\n--graphql"


class StreamConnection:
    """One streamed subscription; iterating it yields its results as
    graphql-transport-ws ``next`` frames (text), heartbeats left out."""

    def __init__(
        self, transport: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.transport = transport
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, transport: str, base: str, query: str, room: str) -> StreamConnection:
        url = urlsplit(base.replace("ws://", "http://", 1))
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        body = json.dumps({"query": query, "variables": {"room": room}}).encode()
        writer.write(
            b"POST /graphql/ HTTP/1.1\r\nHost: " + url.netloc.encode() + b"\r\nAccept: "
            + ACCEPT[transport] + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body
        )  # fmt: skip
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200 "):
            raise RuntimeError(head.decode("latin1"))
        return cls(transport, reader, writer)

    async def _chunks(self) -> AsyncIterator[bytes]:
        while size := int((await self.reader.readline()).strip(), 16):
            chunk = await self.reader.readexactly(size + 2)
            yield chunk[:-2]

    async def __aiter__(self) -> AsyncIterator[str]:
        separator = b"\n\n" if self.transport == "sse" else DELIMITER
        buffer = b""
        try:
            async for chunk in self._chunks():
                buffer += chunk
                *whole, buffer = buffer.split(separator)
                for item in whole:
                    if (payload := self._payload(item)) is not None:
                        yield '{"type": "next", "payload": ' + payload + "}"
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            return

    def _payload(self, item: bytes) -> str | None:
        if self.transport == "sse":
            return item[len(SSE_NEXT) :].decode() if item.startswith(SSE_NEXT) else None
        _, _, body = item.partition(b"\r\n\r\n")
        if not body.startswith(b'{"payload": '):
            return None  # the opening delimiter, a heartbeat, the end
        return body[len(b'{"payload": ') : -1].decode()

    async def close(self) -> None:
        self.writer.close()


class StreamDesign(Design):
    """Ours, with subscribers over ``transport`` ("sse" or "multipart"): for
    bench.client.open_subscribers (posts still go over the websocket design's sockets)."""

    def __init__(self, transport: str, design: Design) -> None:
        super().__init__(design.name, design.base, design.subscription)
        assert design.name == "ours" and design.subscription == "messageAdded"
        self.transport = transport

    async def connect(  # type: ignore[override]
        self, room: str, *, auth: bool = False, token: str | None = None
    ) -> StreamConnection:
        # One request is the subscription.
        return await StreamConnection.open(self.transport, self.base, MESSAGE_ADDED, room)

    async def subscribe(self, ws: Any, room: str) -> None:
        return
