"""Django's ASGI handler without a thread per request."""

from __future__ import annotations

import inspect
from typing import Any

from django.core.handlers.asgi import ASGIHandler

from internals.hooks import hook, hook_active

__all__ = ["ChatASGIHandler"]

HOOK = "django.asgi_without_thread_sensitive_context"


class ChatASGIHandler(ASGIHandler):
    """Run each request's synchronous parts (sync middleware hooks, request signals,
    strawberry-django's field resolvers, session loads) in the process's one sync thread.

    Django wraps every request in asgiref's ThreadSensitiveContext, which starts a thread
    for the request's first synchronous call and a second one to join it at the end, and
    any ORM call there opens a database connection no later request can reuse: a
    PostgreSQL backend fork per HTTP request. Without the context, those calls share one
    long-lived thread, as in Channels' consumers, and its persistent connection. The
    trade-off: a slow synchronous view (the admin) holds up the others' synchronous
    parts. ORM work of our own runs in chat.db's pool.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not hook_active(HOOK):
            return await super().__call__(scope, receive, send)
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)


@hook(
    HOOK,
    library="Django",
    versions=">=5.2,<6.1",
    purpose="HTTP requests' sync parts share one thread (and its database connection)",
    fallback="Django's ASGIHandler.__call__ (a thread, and a connection, per request)",
)
def _check() -> None:
    # The override reproduces ASGIHandler.__call__ minus the context: it must still be
    # the type check, the context and a call of handle(scope, receive, send).
    source = inspect.getsource(ASGIHandler.__call__)
    for part in ("ThreadSensitiveContext()", "await self.handle(scope, receive, send)"):
        if part not in source:
            raise TypeError(f"ASGIHandler.__call__ no longer has {part!r}")
    if list(inspect.signature(ASGIHandler.handle).parameters) != [
        "self",
        "scope",
        "receive",
        "send",
    ]:
        raise TypeError("ASGIHandler.handle's signature changed")
