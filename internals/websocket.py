"""The websocket consumer: one socket, any number of subscriptions, with write
backpressure and live credentials."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from django.conf import settings
from django.contrib.auth.models import User
from strawberry.channels import GraphQLWSConsumer
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from chat.clientip import client_ip
from chat.db import in_thread
from chat.logs import connection_id
from chat.metrics import WEBSOCKETS_OPEN
from chat.selectors import token_credential_get, token_digest
from internals.channels import CONSUMER_LOOP
from internals.hooks import hook_active
from internals.protocols import GraphQLTransportWSHandler, GraphQLWSHandler
from internals.strawberry import CONSUMER_QUEUE
from internals.writepath import (
    WritePressure,
    close_frame_send,
    close_with_reason,
    write_pressure_attach,
    write_through_enable,
)
from realtime.credentials import LiveCredential, credential_register, credential_unregister
from realtime.draining import SERVICE_RESTART, draining, socket_register, socket_unregister
from realtime.mailbox import Mailbox
from schema.context import ChatContext
from schema.http import json_decode

__all__ = ["ChatWSConsumer"]

logger = logging.getLogger(__name__)


class ChatWSConsumer(GraphQLWSConsumer):
    """One socket, any number of subscriptions (graphql-transport-ws and graphql-ws)."""

    # Read by Channels' own __call__, which runs when the channels.consumer_loop hook is
    # off: an alias with no layer, so that even then a socket opens no channel of its own
    # (a Redis SUBSCRIBE and a receive task per connection with the pub/sub layer).
    channel_layer_alias = "__chat_no_per_socket_channel__"
    graphql_ws_handler_class = GraphQLWSHandler  # type: ignore[assignment]
    graphql_transport_ws_handler_class = GraphQLTransportWSHandler  # type: ignore[assignment]

    opened_at: float | None = None
    server_close_code: int | None = None
    # Its close frame (1012) is sent: nothing more may be (see _close_for_restart).
    restart_closed: bool = False
    # What authenticated this socket (indexed in realtime.credentials), and whether it has
    # been revoked: the socket is then closing, and nothing it sends is executed.
    live_credential: LiveCredential | None = None
    credential_revoked: bool = False
    chat_context: ChatContext | None = None
    # The protocol handler serving this socket (set by it, see internals/protocols.py).
    protocol_handler: Any = None
    _revoked_close_task: asyncio.Task[None] | None = None

    def __init__(self, **kwargs: Any) -> None:
        chat = settings.CHAT
        kwargs.setdefault(
            "connection_init_wait_timeout",
            dt.timedelta(seconds=chat["CONNECTION_INIT_TIMEOUT_SECONDS"]),
        )
        kwargs.setdefault(
            "max_subscriptions_per_connection", chat["MAX_SUBSCRIPTIONS_PER_CONNECTION"]
        )
        super().__init__(**kwargs)
        if hook_active(CONSUMER_QUEUE):
            # Strawberry reads incoming frames from this with one task; an asyncio.Queue
            # would cost ~3 KB of every idle socket.
            self.message_queue = Mailbox()  # type: ignore[assignment]

    write_pressure: WritePressure | None = None

    def decode_json(self, data: str | bytes) -> object:
        # A frame too deep to decode closes the socket as malformed JSON does (4400 on
        # graphql-transport-ws) instead of crashing this consumer.
        return json_decode(data)

    @property
    def write_paused(self) -> bool:
        """True while the client has 64 KiB or more unread (see internals/writepath.py)."""
        return self.write_pressure is not None and self.write_pressure.paused

    async def send(  # type: ignore[override]
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        pressure = self.write_pressure
        if pressure is not None and pressure.paused and not close:
            # Hold this subscription (or handler) until the client reads: what it misses
            # meanwhile is read from the database later, not buffered here.
            await pressure.drained()
        if text_data is not None and bytes_data is None and not close:
            await self.send_unpaused(text_data)
            return
        if self.restart_closed:
            return
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def send_unpaused(self, text: str) -> None:
        """Send a text frame the caller knows may be written now (``write_paused`` is
        false): straight to daphne's transport when possible (see internals/writepath.py),
        else as the ASGI message Channels' ``send`` would make."""
        if self.restart_closed:
            # Closed with 1012: its subscriptions' last events are not sent (autobahn
            # would raise on each); the client resumes them from its last position.
            return
        pressure = self.write_pressure
        if pressure is None or not pressure.write_text(text):
            await self.base_send({"type": "websocket.send", "text": text})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not hook_active(CONSUMER_LOOP):
            return await super().__call__(scope, receive, send)
        # Sockets never read the channel layer themselves: the per-process RoomHub does.
        # So no channel of their own (Channels' __call__ would open one: a Redis SUBSCRIBE
        # and a receive task per connection with the pub/sub layer), and no
        # await_many_dispatch, which wraps every receive() in a task of its own: one
        # source, awaited here directly, a task fewer per idle socket and none per frame.
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        with contextlib.suppress(StopConsumer):
            while True:
                await self.dispatch(await receive())

    async def dispatch(self, message: Any) -> None:
        # Channels' dispatch closes stale database connections before every websocket
        # frame, in a thread hop of its own; chat.db.in_thread does that check in the
        # hop each ORM call makes anyway. (Only websocket.* messages reach this consumer:
        # it has no channel-layer channel.)
        if (self.credential_revoked or draining()) and message["type"] == "websocket.receive":
            # Closed for a revoked credential, or about to close for a restart: frames
            # still in flight are not executed (after a restart's 1012 the client resends
            # what was not answered, a post with the same clientId).
            return
        if not hook_active(CONSUMER_LOOP):
            return await super().dispatch(message)
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_connect(self, message: Any) -> None:
        # Set in this consumer's task before Strawberry starts its own tasks, which
        # inherit it: every log line about this socket carries the id.
        connection_id.set(uuid.uuid4().hex[:12])
        self.write_pressure = write_pressure_attach(self.base_send)
        write_through_enable(self.base_send)
        await super().websocket_connect(message)

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        await super().accept(subprotocol, headers)
        self.opened_at = time.monotonic()
        socket_register(self, self._close_for_restart)
        WEBSOCKETS_OPEN.inc()
        logger.info(
            "socket connected",
            extra={"event": "socket.connected", "protocol": subprotocol},
        )

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        if isinstance(code, int) and not isinstance(code, bool):
            self.server_close_code = code
            # daphne drops the ASGI close reason: written here, clients see why (PROTOCOL.md
            # close events are "<code>: <reason>"). Under another server, ASGI's close.
            if (
                reason
                and self.opened_at is not None
                and close_with_reason(self.base_send, code, reason)
            ):
                return
        await super().close(code, reason)

    async def _close_for_restart(self) -> None:
        """Close with 1012 (a graceful stop): the client reconnects and resumes."""
        if close_frame_send(self.base_send, SERVICE_RESTART, "Service Restart"):
            self.server_close_code = SERVICE_RESTART
            self.restart_closed = True
            return
        await self.close(code=1000, reason="Service Restart")

    async def websocket_disconnect(self, message: Any) -> None:
        socket_unregister(self)
        if self.live_credential is not None:
            credential_unregister(self.live_credential)
            self.live_credential = None
        if self.write_pressure is not None:
            # autobahn unregisters our producer before dropping a connection (ping
            # timeout), so Twisted never calls stopProducing: release the writers here.
            self.write_pressure.stopProducing()
        try:
            await super().websocket_disconnect(message)
        finally:
            if self.opened_at is not None:
                WEBSOCKETS_OPEN.dec()
                logger.info(
                    "socket closed",
                    extra={
                        "event": "socket.closed",
                        # The server's code when it closed the socket, else the client's.
                        "close_code": self.server_close_code or message.get("code"),
                        "closed_by": "server" if self.server_close_code else "client",
                        "duration_seconds": round(time.monotonic() - self.opened_at, 3),
                    },
                )
                self.opened_at = None

    def is_websocket_origin_allowed(self, request: Any, origin: str) -> bool:
        # project.asgi's AllowedHostsOrNoOriginValidator already checked the Origin
        # (scheme, host and port against the socket's own, or CSRF_TRUSTED_ORIGINS).
        return True

    async def get_context(self, request: Any, response: Any) -> ChatContext:  # type: ignore[override]
        user = self.scope.get("user") or ChatContext().user
        session = self.scope.get("session")
        context = self.chat_context = ChatContext(
            user=user,
            session=session,
            client_ip=client_ip(self.scope),
            token_adopt=self._token_adopt,
        )
        if isinstance(user, User) and session is not None and session.session_key:
            # A cookie socket: it lives as long as its session does.
            await self._credential_set(
                LiveCredential(
                    user_id=user.pk,
                    session_key=session.session_key,
                    expires_at=session.get_expiry_date().timestamp(),
                )
            )
        return context

    async def _credential_set(self, credential: LiveCredential) -> None:
        if self.live_credential is not None:
            credential_unregister(self.live_credential)
        credential.on_revoked = self._credential_revoked
        self.live_credential = credential
        await credential_register(credential)

    def _credential_revoked(self) -> None:
        """Called by realtime.credentials (in the hub's or the timer's context): end every
        operation and close with 4403."""
        if self.credential_revoked:
            return
        self.credential_revoked = True
        self.live_credential = None
        context = self.chat_context
        if context is not None:
            logout = context.logout_task
            context.user, context.token, context.session = ChatContext().user, None, None
            context.logout_task = logout
        # Held here: the loop keeps only a weak reference to a task.
        self._revoked_close_task = asyncio.get_running_loop().create_task(self._close_revoked())

    async def _close_revoked(self) -> None:
        context = self.chat_context
        logout = context.logout_task if context is not None else None
        if logout is not None and logout is not asyncio.current_task() and not logout.done():
            # The socket's own logout: let its answer go out first.
            await asyncio.wait([logout], timeout=5)
        handler = self.protocol_handler
        if handler is not None:
            with contextlib.suppress(Exception):
                await handler.credential_revoked()
        with contextlib.suppress(Exception):
            await self.close(code=4403, reason="Forbidden")

    async def on_ws_connect(self, context: ChatContext) -> UnsetType:  # type: ignore[override]
        params = context.connection_params or {}
        token = params.get("authToken")
        if token is None or (token == context.token and context.is_authenticated):
            # No token (anonymous or session cookie), or already checked.
            return UNSET
        found = await in_thread(token_credential_get)(raw=token) if isinstance(token, str) else None
        if found is None:
            raise ConnectionRejectionError({"message": "Invalid or expired token."})
        user, expires_at = found
        context.user = user
        context.token = token
        context.session = None
        await self._token_credential_set(user, token, expires_at.timestamp())
        return UNSET

    async def _token_adopt(self, token: str) -> None:
        """A login or register on this socket issued ``token``: it authenticates the socket."""
        found = await in_thread(token_credential_get)(raw=token)
        if found is not None:
            user, expires_at = found
            await self._token_credential_set(user, token, expires_at.timestamp())

    async def _token_credential_set(self, user: User, token: str, expires_at: float) -> None:
        await self._credential_set(
            LiveCredential(user_id=user.pk, token_digest=token_digest(token), expires_at=expires_at)
        )
