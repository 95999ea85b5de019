"""Session-cookie authentication for websockets that stays out of the send path."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from channels.auth import get_user
from django.conf import settings
from django.http import parse_cookie

__all__ = ["SessionAuthMiddleware"]


class SessionAuthMiddleware:
    """Put ``session`` and ``user`` in the scope from the session cookie, once, at connect.

    Channels' AuthMiddlewareStack does the same but its session middleware also wraps
    ``send`` to save a modified session on responses, which inspects every outgoing
    frame. Websocket handlers here never modify the session (login over a socket only
    issues a token), so that wrapper would be pure cost on the fan-out path.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        cookies: dict[str, str] = {}
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                cookies.update(parse_cookie(value.decode("latin1")))
        scope = {**scope, "session": self.session_store(cookies.get(settings.SESSION_COOKIE_NAME))}
        scope["user"] = await get_user(scope)
        return await self.inner(scope, receive, send)
