"""The websocket route: session-cookie authentication that stays out of the send path."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from channels.auth import get_user
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import parse_cookie

from project.origin import origin_credentialed

__all__ = ["SessionAuthRoute"]


class SessionAuthRoute:
    """Serve the websocket at ``path`` with ``user`` in the scope, set once at connect from
    the session cookie (with ``session``, if there is one); refuse every other path.

    Channels' AuthMiddlewareStack does the same but its session middleware also wraps
    ``send`` to save a modified session on responses, which inspects every outgoing
    frame. Websocket handlers here never modify the session (login over a socket only
    issues a token), so that wrapper would be pure cost on the fan-out path. Routing here
    rather than with URLRouter makes one copy of the scope per socket instead of two
    (every idle connection keeps it).
    """

    def __init__(self, path: str, inner: Any) -> None:
        self.path = path
        self.inner = inner
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        if path != self.path:
            await receive()  # websocket.connect
            await send({"type": "websocket.close"})  # the handshake is refused (403)
            return
        cookies: dict[str, str] = {}
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                cookies.update(parse_cookie(value.decode("latin1")))
        # A page of a CORS-allowed origin that is not trusted with credentials gets the
        # cookie the browser sends anyway ignored (websockets have no CORS of their own).
        session_key = (
            cookies.get(settings.SESSION_COOKIE_NAME) if origin_credentialed(scope) else None
        )
        if session_key is None:
            # Token and anonymous clients: no session to load, no thread hop to load it.
            scope = {**scope, "user": AnonymousUser()}
        else:
            scope = {**scope, "session": self.session_store(session_key)}
            scope["user"] = await get_user(scope)
        return await self.inner(scope, receive, send)
