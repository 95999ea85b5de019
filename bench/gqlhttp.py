"""GraphQL over HTTP/1.1 keep-alive connections, for the benchmark clients.

Apollo's split link sends mutations and queries over HTTP and subscriptions over the
websocket; the signal scenarios do the same. The standard library has no asyncio HTTP
client and urllib in threads would cost the client process more than the server's
answers, so this speaks just enough HTTP/1.1: POST with a JSON body, a response with
Content-Length or chunked, connections reused from a pool.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

__all__ = ["GraphQLError", "HttpGraphQL"]


class GraphQLError(RuntimeError):
    """A response with ``errors`` (or not HTTP 200): the body, for the caller to count."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class HttpGraphQL:
    """POST GraphQL operations to ``base`` (``ws://`` or ``http://host:port``) over at
    most ``connections`` keep-alive connections."""

    def __init__(self, base: str, connections: int = 32) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._free: list[Connection] = []
        self._slots = asyncio.Semaphore(connections)

    async def _open(self) -> Connection:
        return await asyncio.open_connection(self.host, self.port, limit=1 << 22)

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> Any:
        """The operation's ``data``; GraphQLError when it has errors."""
        status, body = await self.post(query, variables, token=token)
        if status != 200 or body.get("errors"):
            raise GraphQLError(status, body)
        return body["data"]

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> tuple[int, Any]:
        """The response's status and decoded body."""
        payload = json.dumps({"query": query, "variables": variables or {}}).encode()
        head = (
            f"POST /graphql/ HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n"
        )
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        request = (head + "\r\n").encode() + payload
        async with self._slots:
            connection = self._free.pop() if self._free else await self._open()
            try:
                status, body, keep = await self._exchange(connection, request)
            except (ConnectionError, asyncio.IncompleteReadError):
                # A kept-alive connection the server closed meanwhile: once more, fresh.
                connection[1].close()
                connection = await self._open()
                status, body, keep = await self._exchange(connection, request)
            if keep:
                self._free.append(connection)
            else:
                connection[1].close()
        return status, json.loads(body) if body else {}

    async def _exchange(self, connection: Connection, request: bytes) -> tuple[int, bytes, bool]:
        reader, writer = connection
        writer.write(request)
        await writer.drain()
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")
            body = b"".join(chunks)
        else:
            body = await reader.read()
            return status, body, False
        return status, body, headers.get("connection", "").lower() != "close"

    async def close(self) -> None:
        for _, writer in self._free:
            writer.close()
        self._free.clear()
