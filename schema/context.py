"""The typed context every resolver receives, over HTTP and over websockets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser, User
from strawberry.types import Info

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Awaitable, Callable

    from django.contrib.sessions.backends.base import SessionBase
    from django.http import HttpRequest, HttpResponse

__all__ = ["ChatContext", "ChatInfo"]


@dataclass
class ChatContext:
    user: User | AnonymousUser = field(default_factory=AnonymousUser)
    # The raw bearer token that authenticated this request or socket, if any.
    token: str | None = None
    # HTTP only: used to log the browser session in and out.
    request: HttpRequest | None = None
    response: HttpResponse | None = None
    # Websocket only: the connection_init payload.
    connection_params: dict[str, Any] | None = None
    # Websocket only: the session that authenticated a cookie socket.
    session: SessionBase | None = None
    # Websocket only: the task running this socket's logout, whose answer goes out
    # before the socket closes.
    logout_task: asyncio.Task[Any] | None = None
    # Websocket only: live subscriptions to rooms that did not exist when they started.
    unknown_room_subscriptions: int = 0
    # Websocket only: whether an inbox subscription is live (one per socket).
    inbox_open: bool = False
    # For per-client limits (project/clientip.py).
    client_ip: str = "unknown"
    # Websocket only: makes a token issued on this socket (login, register) the credential
    # that authenticates it, so that logout, revocation and deactivation end it.
    token_adopt: Callable[[str], Awaitable[None]] | None = None

    @property
    def is_authenticated(self) -> bool:
        return bool(self.user.is_authenticated)

    def __getitem__(self, key: str) -> Any:
        # Strawberry and strawberry-django read ``info.context["request"]``.
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


ChatInfo = Info[ChatContext, None]
