"""Static files (GraphiQL's assets, the admin's) served by the app itself, under daphne.

WhiteNoise's middleware is sync-only: in Django's middleware chain it would put every
request, GraphQL POSTs included, through a thread hop. This subclass is async-only and
costs non-static requests one dict lookup; a static file is read in a worker thread and
sent whole (the largest is ~2 MB), not as a sync iterator Django would warn about. It
looks files up through WhiteNoise's internals (``files``, ``find_file``): when that hook
is off, each request goes through the stock middleware in a thread, as Django would run it.
"""

from __future__ import annotations

import copy
import inspect
import os
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse
from whitenoise.base import WhiteNoise
from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.responders import Response, StaticFile

from internals.hooks import hook, hook_active

__all__ = ["StaticFilesMiddleware"]

HOOK = "whitenoise.async_lookup"


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
        # The stock middleware, run in a thread with a sync get_response, when the hook is off.
        self._stock: WhiteNoiseMiddleware | None = None
        if not hook_active(HOOK):
            self._stock = copy.copy(self)
            self._stock.get_response = async_to_sync(get_response)

    def add_files(self, root: str, prefix: str | None = None) -> None:
        # Files come from the finders; STATIC_ROOT exists only after `collectstatic`.
        if os.path.isdir(root):
            super().add_files(root, prefix)

    async def __call__(self, request: HttpRequest) -> Any:  # type: ignore[override]
        if self._stock is not None:
            return await sync_to_async(WhiteNoiseMiddleware.__call__)(self._stock, request)
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


@hook(
    HOOK,
    library="whitenoise",
    versions=">=6.6,<7",
    purpose="static files looked up and served on the event loop (no thread hop per request)",
    fallback="WhiteNoise's stock sync middleware, run in a thread for every request",
)
def _check() -> None:
    probe = WhiteNoise(None)
    if not isinstance(probe.files, dict) or not callable(getattr(probe, "find_file", None)):
        raise TypeError("WhiteNoise no longer keeps files in a dict or has find_file")
    if list(inspect.signature(StaticFile.get_response).parameters) != [
        "self",
        "method",
        "request_headers",
    ]:
        raise TypeError("StaticFile.get_response's signature changed")
    if list(inspect.signature(Response.__init__).parameters) != [
        "self",
        "status",
        "headers",
        "file",
    ]:
        raise TypeError("whitenoise Response is no longer (status, headers, file)")
    if "autorefresh" not in inspect.signature(WhiteNoise.__init__).parameters:
        raise TypeError("WhiteNoise has no autorefresh")
