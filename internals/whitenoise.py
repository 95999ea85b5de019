"""Static files (GraphiQL's assets, the admin's) served by the app itself, under daphne.

WhiteNoise's middleware is sync-only: in Django's middleware chain it would put every
request, GraphQL POSTs included, through a thread hop. This subclass is async-only and
costs non-static requests one dict lookup; a static file is read in a worker thread and
sent whole (the largest is ~2 MB), not as a sync iterator Django would warn about.
"""

from __future__ import annotations

import os
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware

__all__ = ["StaticFilesMiddleware"]


def _read(file: Any) -> bytes:
    with file:
        return file.read()  # type: ignore[no-any-return]


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = False
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        assert iscoroutinefunction(get_response)
        markcoroutinefunction(self)

    def add_files(self, root: str, prefix: str | None = None) -> None:
        # Files come from the finders; STATIC_ROOT exists only after `collectstatic`.
        if os.path.isdir(root):
            super().add_files(root, prefix)

    async def __call__(self, request: HttpRequest) -> Any:  # type: ignore[override]
        if self.autorefresh:
            static_file = self.find_file(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is None:
            return await self.get_response(request)
        served = static_file.get_response(request.method, request.META)
        body = b""
        if served.file is not None:
            body = await sync_to_async(_read, thread_sensitive=False)(served.file)
        response = HttpResponse(body, status=int(served.status))
        del response["Content-Type"]
        for key, value in served.headers:
            response[key] = value
        return response
