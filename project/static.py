"""Static files under daphne: WhiteNoise as an async-only middleware.

WhiteNoise's own middleware is sync-only, so Django would run every request (GraphQL
included) through a thread hop for it; this subclass keeps the chain async and only
touches threads for static files.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import IO, Any

from asgiref.sync import markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase
from whitenoise.middleware import WhiteNoiseMiddleware

__all__ = ["StaticFilesMiddleware"]

_BLOCK_SIZE = 64 * 1024


async def _read_in_thread(file: IO[bytes]) -> AsyncIterator[bytes]:
    read = sync_to_async(file.read, thread_sensitive=False)
    try:
        while chunk := await read(_BLOCK_SIZE):
            yield chunk
    finally:
        file.close()


class StaticFilesMiddleware(WhiteNoiseMiddleware):  # type: ignore[misc]
    """Serve STATIC_URL from STATIC_ROOT (after collectstatic) and the apps' static dirs."""

    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]) -> None:
        super().__init__(get_response)
        markcoroutinefunction(self)

    def add_files(self, root: str, prefix: str | None = None) -> None:
        # STATIC_ROOT exists only after collectstatic; the finders serve the files without it.
        if os.path.isdir(root):
            super().add_files(root, prefix)

    async def __call__(self, request: HttpRequest) -> Any:
        path = request.path_info
        static_file = None
        if path.startswith(self.static_prefix):
            if self.autorefresh:
                static_file = await sync_to_async(self.find_file, thread_sensitive=False)(path)
            else:
                static_file = self.files.get(path)
        if static_file is None:
            return await self.get_response(request)
        response = await sync_to_async(self.serve, thread_sensitive=False)(static_file, request)
        if response.file_to_stream is not None:
            # An async body: Django would otherwise iterate the file in a thread per chunk,
            # with a warning for each response.
            response.streaming_content = _read_in_thread(response.file_to_stream)
        return response
