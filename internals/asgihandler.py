"""Django's ASGI handler without a thread per request."""

from __future__ import annotations

from typing import Any

from django.core.handlers.asgi import ASGIHandler

__all__ = ["ChatASGIHandler"]


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
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)
