"""Subscriptions over HTTP streaming at /graphql/, for clients and networks without
websockets: GraphQL over Server-Sent Events (the graphql-sse protocol, "distinct
connections" mode) and Apollo's multipart HTTP subscriptions.

``StreamingFront`` sits in front of the HTTP application (project/asgi.py): a request to
/graphql/ whose ``Accept`` asks for ``text/event-stream`` or ``multipart/mixed`` with
``subscriptionSpec`` is served here; every other request passes through unchanged.

One request is one operation, as on a websocket: the same authentication (bearer token,
or the session cookie with Django's CSRF check on POST, as schema/http.py), the same
execution (the room fast paths of internals/fastpaths/subscription.py, else Strawberry's
``Schema.stream`` with every extension: cost, depth and token limits), the same live
credentials (realtime/credentials.py: logout or revocation ends the stream with
UNAUTHENTICATED) and room access (a removed member's stream ends with FORBIDDEN), the
same persisted queries and allow-list (schema/persisted.py) and the same CORS policy
(django-cors-headers, asked directly: Django's middleware does not see these responses).
Connections count against ``CHAT_MAX_SOCKETS_PER_IP`` together with websockets, and
subscriptions to rooms that do not exist against ``CHAT_MAX_UNKNOWN_ROOM_SUBSCRIPTIONS``
per client address (each stream is a connection of its own, so a per-connection count
would bound nothing). Heartbeats every ``CHAT_KEEPALIVE_SECONDS``; a client that stops
reading pauses its stream (internals/writepath.py), and one that goes away
(``http.disconnect``) cancels it, which releases its hub registration and presence.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
import uuid
from collections import Counter
from contextlib import aclosing
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs

from channels.auth import get_user
from corsheaders.middleware import CorsMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from strawberry import Schema
from strawberry.types.execution import ExecutionResult, PreExecutionError

from chat.clientip import client_ip
from chat.db import in_thread
from chat.logs import connection_id
from chat.metrics import HTTP_STREAMS_OPEN
from chat.selectors import token_credential_get, token_digest
from internals.fastpaths.registry import fast_path_serve
from internals.fastpaths.subscription import OperationPlan, room_serve
from internals.keepalive import pinger
from internals.writepath import HttpWritePressure, http_pressure_attach, write_through_enable
from realtime.credentials import LiveCredential, credential_register, credential_unregister
from schema.context import ChatContext
from schema.errors import error_record
from schema.http import bearer_token, csrf_failed, json_decode
from schema.limits import MAX_TOKENS, QUERY_TOO_LARGE, query_size_error
from schema.persisted import PersistedQueryError, persisted_document

__all__ = ["MULTIPART", "SSE", "StreamingFront", "stream_mode"]

logger = logging.getLogger(__name__)

SSE = "sse"
MULTIPART = "multipart"
GRAPHQL_PATH = "/graphql/"

# What a stream gets when its credential is revoked (logout, token revoked, user
# deactivated), as operations on a legacy graphql-ws socket do.
SESSION_ENDED = {
    "data": None,
    "errors": [{"message": "Your session has ended.", "extensions": {"code": "UNAUTHENTICATED"}}],
}

_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    # nginx buffers responses unless told not to.
    (b"x-accel-buffering", b"no"),
]
_MULTIPART_HEADERS = [
    (b"content-type", b'multipart/mixed; boundary="graphql"; subscriptionSpec=1.0'),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_HEADERS = {"sse": _SSE_HEADERS, "multipart": _MULTIPART_HEADERS}
# Each part is closed by the next delimiter at once (clients hand a part on only when
# they see its end); the last delimiter then becomes the close delimiter.
_DELIMITER = b"\r\n--graphql"
_PART = b"\r\ncontent-type: application/json; charset=utf-8\r\n\r\n"
_HEARTBEAT = _PART + b"{}" + _DELIMITER
_MULTIPART_END = b"--\r\n"
# Some browsers (Firefox, Safari) expose an event stream only once a byte of it has come.
_SSE_OPEN = b":\n\n"
_SSE_COMPLETE = b"event: complete\ndata:\n\n"
# An operation that failed outside execution (a bug, the database gone under the fast
# path's access check): over SSE the result Strawberry's path gives a resolver that
# fails; over multipart Apollo's transport error, which ends the subscription.
_INTERNAL_ERROR = [
    {"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
]
_FAILED_SSE = (
    b"event: next\ndata: "
    + json.dumps({"data": None, "errors": _INTERNAL_ERROR}).encode()
    + b"\n\n"
)
_FAILED_MULTIPART = (
    _PART + json.dumps({"payload": None, "errors": _INTERNAL_ERROR}).encode() + _DELIMITER
)


# django-cors-headers' own decision for a request (the API's CORS policy, project/settings.py):
# streams are answered without Django's middleware chain.
_cors = CorsMiddleware(lambda request: HttpResponse())


def cors_headers(request: ASGIRequest) -> list[tuple[bytes, bytes]]:
    """The CORS response headers (and Vary) Django's middleware would add for ``request``."""
    response = _cors.add_response_headers(request, HttpResponse())
    return [
        (name.lower().encode("latin1"), value.encode("latin1"))
        for name, value in response.items()
        if name.lower().startswith("access-control-") or name.lower() == "vary"
    ]


def stream_mode(headers: list[tuple[bytes, bytes]]) -> str | None:
    """SSE or MULTIPART when the request's ``Accept`` asks for a stream (the first
    streaming media range wins), else None."""
    for name, value in headers:
        if name != b"accept":
            continue
        for media_range in value.decode("latin1").lower().split(","):
            media_type, *parameters = (part.strip() for part in media_range.split(";"))
            if media_type == "text/event-stream":
                return SSE
            if media_type == "multipart/mixed" and any(
                p.replace(" ", "").startswith("subscriptionspec=") for p in parameters
            ):
                return MULTIPART
    return None


class RequestError(Exception):
    """A request refused before its stream starts, with its HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        headers: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = list(headers)


class _Gone(Exception):
    """The client went away before its request was read."""


# Per client address, live stream subscriptions to rooms that did not exist when they
# started (schema.subscriptions.unknown_room_take counts on the context).
_unknown_rooms: Counter[str] = Counter()


class StreamContext(ChatContext):
    """The context of one HTTP stream: its unknown-room count is its client address's."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._counted_at: str | None = self.client_ip

    @property  # type: ignore[override]
    def unknown_room_subscriptions(self) -> int:
        key = self.__dict__.get("_counted_at")
        return 0 if key is None else _unknown_rooms[key]

    @unknown_room_subscriptions.setter
    def unknown_room_subscriptions(self, value: int) -> None:
        key = self.__dict__.get("_counted_at")
        if key is None:
            return  # ChatContext's __init__ setting its default
        if value > 0:
            _unknown_rooms[key] = value
        else:
            _unknown_rooms.pop(key, None)


class StreamingFront:
    """Serve streamed subscriptions at /graphql/ (see the module docstring); pass every
    other HTTP request to ``inner``.

    ``open_per_address`` is the count of open websockets per client address
    (project.connlimit.SocketsPerAddressLimit): streams count there too.
    """

    def __init__(self, inner: Any, schema: Schema, open_per_address: Counter[str]) -> None:
        self.inner = inner
        self.schema = schema
        self.open = open_per_address
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "http":
            path = scope["path"].removeprefix(scope.get("root_path", ""))
            mode = stream_mode(scope["headers"]) if path == GRAPHQL_PATH else None
            if mode is not None:
                return await _Stream(self, scope, receive, send, mode).serve()
        return await self.inner(scope, receive, send)


class _Stream:
    """One streamed operation."""

    def __init__(
        self, front: StreamingFront, scope: dict[str, Any], receive: Any, send: Any, mode: str
    ) -> None:
        self.front = front
        self.scope = scope
        self.receive = receive
        self.base_send = send
        self.mode = mode
        # Duck-typed for internals.keepalive's pinger, which sends every stream's heartbeat
        # from one task per event loop: it asks ``view.write_paused`` and ``send_message``.
        self.view = self
        self.pressure: HttpWritePressure | None = None
        self.credential: LiveCredential | None = None
        self.revoked = False
        self.gone = False
        self.cors: list[tuple[bytes, bytes]] = []
        self.runner: asyncio.Task[None] | None = None
        self.address = client_ip(scope)

    @property
    def write_paused(self) -> bool:
        return self.pressure is not None and self.pressure.paused

    async def serve(self) -> None:
        connection_id.set(uuid.uuid4().hex[:12])
        limit = settings.CHAT["MAX_SOCKETS_PER_IP"]
        if limit > 0 and self.front.open[self.address] >= limit:
            # Before anything is read or looked up: a flood costs nobody a query.
            await self._refuse(
                RequestError(429, "Too many connections from this address.", "RATE_LIMITED")
            )
            return
        self.front.open[self.address] += 1
        try:
            try:
                request = await self._request()
                context = await self._context(request)
                params = self._params(request)
                refusal = await self._document(params)
            except RequestError as error:
                await self._refuse(error)
                return
            except _Gone:
                return
            await self._logged(context, params, refusal)
        finally:
            self.front.open[self.address] -= 1
            if not self.front.open[self.address]:
                del self.front.open[self.address]

    async def _logged(
        self, context: StreamContext, params: dict[str, Any], refusal: GraphQLError | None
    ) -> None:
        gauge = HTTP_STREAMS_OPEN.labels(transport=self.mode)
        gauge.inc()
        opened_at = time.monotonic()
        logger.info("stream opened", extra={"event": "stream.opened", "transport": self.mode})
        try:
            await self._stream(context, params, refusal)
        finally:
            gauge.dec()
            logger.info(
                "stream closed",
                extra={
                    "event": "stream.closed",
                    "transport": self.mode,
                    "closed_by": "client" if self.gone else "server",
                    "duration_seconds": round(time.monotonic() - opened_at, 3),
                },
            )

    # The request: read, authenticated, its parameters checked.

    async def _request(self) -> ASGIRequest:
        method = self.scope["method"]
        if method not in ("GET", "POST"):
            raise RequestError(
                405, "Use GET or POST.", "METHOD_NOT_ALLOWED", [(b"allow", b"GET, POST")]
            )
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = bytearray()
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            body += message.get("body", b"")
            if limit is not None and len(body) > limit:
                raise RequestError(413, "The body is too large.", "BAD_USER_INPUT")
            if not message.get("more_body"):
                break
        request = ASGIRequest(self.scope, io.BytesIO(bytes(body)))
        try:
            request.get_host()
        except DisallowedHost as error:
            raise RequestError(400, "Invalid Host header.", "BAD_REQUEST") from error
        # On every answer from here, refusals included: a cross-origin app reads them too.
        self.cors = cors_headers(request)
        return request

    async def _context(self, request: ASGIRequest) -> StreamContext:
        authorization = request.headers.get("Authorization")
        token = bearer_token(authorization)
        if authorization and token is None:
            raise RequestError(
                401, "Authorization header must be `Bearer <token>`.", "UNAUTHENTICATED"
            )
        if token is not None:
            found = await in_thread(token_credential_get)(raw=token)
            if found is None:
                raise RequestError(401, "Invalid or expired token.", "UNAUTHENTICATED")
            user, expires_at = found
            self.credential = LiveCredential(
                user_id=user.pk, token_digest=token_digest(token), expires_at=expires_at.timestamp()
            )
            return StreamContext(user=user, token=token, client_ip=self.address)
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if session_key is None:
            return StreamContext(user=AnonymousUser(), client_ip=self.address)
        if csrf_failed(request):
            raise RequestError(
                403,
                "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken "
                "header, or authenticate with a bearer token.",
                "FORBIDDEN",
            )
        session = self.front.session_store(session_key)
        user = await get_user({"session": session})
        if isinstance(user, User) and session.session_key:
            # Lives as long as its session does, as a cookie websocket.
            self.credential = LiveCredential(
                user_id=user.pk,
                session_key=session.session_key,
                expires_at=session.get_expiry_date().timestamp(),
            )
        return StreamContext(user=user, session=session, client_ip=self.address)

    def _params(self, request: ASGIRequest) -> dict[str, Any]:
        """The GraphQL request's parameters (GraphQL over HTTP: GET's query string, or a
        JSON object POSTed), checked as graphql-sse's reference server checks them."""
        if request.method == "GET":
            query_string = self.scope.get("query_string", b"").decode("latin1")
            fields = {name: values[-1] for name, values in parse_qs(query_string).items()}
            params: dict[str, Any] = {
                "query": fields.get("query"),
                "operationName": fields.get("operationName"),
            }
            for name in ("variables", "extensions"):
                if name in fields:
                    params[name] = self._json(fields[name])
        else:
            content_type = request.headers.get("Content-Type", "")
            if "application/json" not in content_type.lower():
                raise RequestError(
                    415, "Send the request as application/json.", "UNSUPPORTED_MEDIA_TYPE"
                )
            params = self._json(request.body)
            if not isinstance(params, dict):
                raise RequestError(400, "The body must be a JSON object.", "BAD_USER_INPUT")
        for name in ("variables", "extensions"):
            if not isinstance(params.get(name), dict | None):
                raise RequestError(400, f"`{name}` must be an object.", "BAD_USER_INPUT")
        query = params.get("query")
        # (Automatic persisted queries name the document by hash instead.)
        if query is None and "persistedQuery" not in (params.get("extensions") or {}):
            raise RequestError(400, "Missing query.", "BAD_USER_INPUT")
        if not isinstance(query, str | None):
            raise RequestError(400, "`query` must be a string.", "BAD_USER_INPUT")
        if not isinstance(params.get("operationName"), str | None):
            raise RequestError(400, "`operationName` must be a string.", "BAD_USER_INPUT")
        return params

    async def _document(self, params: dict[str, Any]) -> PersistedQueryError | None:
        """Put the document to run in ``params["query"]``: its own, or the persisted one
        (schema/persisted.py, allow-list mode included, as over HTTP and websockets); the
        refusal to stream instead, if any."""
        try:
            document = await persisted_document(params.get("query"), params.get("extensions"))
        except PersistedQueryError as refusal:
            return refusal
        params["query"] = document
        if (
            self.scope["method"] == "GET"
            and isinstance(document, str)
            and _is_mutation(document, params.get("operationName"))
        ):
            # GraphQL over HTTP: mutations only by POST.
            raise RequestError(
                405, "Send mutations by POST.", "METHOD_NOT_ALLOWED", [(b"allow", b"POST")]
            )
        return None

    @staticmethod
    def _json(data: str | bytes) -> Any:
        try:
            return json_decode(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise RequestError(400, "The body is not valid JSON.", "BAD_USER_INPUT") from error

    async def _refuse(self, error: RequestError) -> None:
        error_record(error.code)
        body = json.dumps(
            {"errors": [{"message": str(error), "extensions": {"code": error.code}}]}
        ).encode()
        headers = [(b"content-type", b"application/json"), *error.headers, *self.cors]
        await self.base_send(
            {"type": "http.response.start", "status": error.status, "headers": headers}
        )
        await self.base_send({"type": "http.response.body", "body": body})

    # The stream.

    async def _stream(
        self, context: StreamContext, params: dict[str, Any], refusal: GraphQLError | None
    ) -> None:
        send = self.base_send
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_HEADERS[self.mode], *self.cors],
            }
        )
        self.pressure = http_pressure_attach(send)
        write_through_enable(send)
        await self._write(_SSE_OPEN if self.mode == SSE else _DELIMITER + _HEARTBEAT)
        if self.credential is not None:
            self.credential.on_revoked = self._revoked
            await credential_register(self.credential)
        keepalive = settings.CHAT["KEEPALIVE_SECONDS"] > 0
        if keepalive:
            pinger().add(self)  # type: ignore[arg-type]
        self.runner = asyncio.create_task(self._run(context, params, refusal))
        if self.revoked:
            # Revoked while it was being registered (an expiry already past).
            self.runner.cancel()
        gone = asyncio.ensure_future(self._disconnected())
        ended = True
        failed = False
        try:
            await asyncio.wait((self.runner, gone), return_when=asyncio.FIRST_COMPLETED)
            if gone.done():
                ended = False
                self.gone = True
                self.runner.cancel()
            try:
                await self.runner
            except asyncio.CancelledError:
                pass
            except Exception:
                # As Strawberry's handlers do: logged, and the operation ends. Here the
                # client is also told, the one failure that is the transport's to report.
                logger.exception("stream operation failed")
                failed = True
        finally:
            gone.cancel()
            if keepalive:
                pinger().discard(self)
            if self.credential is not None:
                credential_unregister(self.credential)
            if self.pressure is not None:
                self.pressure.detach()
        if ended:
            if failed:
                await self._write(_FAILED_SSE if self.mode == SSE else _FAILED_MULTIPART)
            elif self.revoked:
                await self.send_payload(json.dumps(SESSION_ENDED))
            await self._end()

    async def _disconnected(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass

    def _revoked(self) -> None:
        """Called by realtime.credentials: end the operation with UNAUTHENTICATED."""
        self.revoked = True
        if self.runner is not None:
            self.runner.cancel()

    async def _run(
        self, context: StreamContext, params: dict[str, Any], refusal: GraphQLError | None
    ) -> None:
        if refusal is not None:
            # As the HTTP view reports it (Apollo's persisted-query link then sends the
            # document with its hash).
            await self.send_payload(json.dumps({"data": None, "errors": [refusal.formatted]}))
            return
        query: str = params["query"]
        operation_name = params.get("operationName")
        variables = params.get("variables")
        if (error := query_size_error(query)) is not None:
            # Refused before it is parsed (nor cached).
            error_record(QUERY_TOO_LARGE)
            await self.send_payload(json.dumps({"errors": [error.formatted]}))
            return
        served = fast_path_serve(self.front.schema, query, operation_name, variables)
        if served is not None and isinstance(served.plan, OperationPlan):
            if await room_serve(served.plan, self.front.schema, context, self):
                return
        # Every other operation, and refusals: Strawberry's path (any operation type, as
        # graphql-sse allows; one result for a query or mutation).
        results = await self.front.schema.stream(
            query,
            variable_values=variables,
            context_value=context,
            operation_name=operation_name,
            operation_extensions=params.get("extensions"),
        )
        async with aclosing(results) as values:
            async for result in values:
                await self.send_payload(_encode(result))  # type: ignore[arg-type]

    # Writing: fastpaths.subscription.PayloadSink, and the pinger's heartbeat.

    async def send_payload(self, payload: str) -> None:
        if self.pressure is not None and self.pressure.paused:
            # Hold this stream until the client reads: what it misses meanwhile is read
            # from the database later (the hub's bounded buffer), not buffered here.
            await self.pressure.drained()
        await self.send_payload_unpaused(payload)

    async def send_payload_unpaused(self, payload: str) -> None:
        if self.mode == SSE:
            await self._write(b"event: next\ndata: " + payload.encode() + b"\n\n")
        else:
            await self._write(_PART + b'{"payload": ' + payload.encode() + b"}" + _DELIMITER)

    async def send_message(self, message: Any) -> None:
        """The pinger's heartbeat: an SSE comment, or an empty multipart part."""
        await self._write(_SSE_OPEN if self.mode == SSE else _HEARTBEAT)

    async def _write(self, body: bytes) -> None:
        await self.base_send({"type": "http.response.body", "body": body, "more_body": True})

    async def _end(self) -> None:
        body = _SSE_COMPLETE if self.mode == SSE else _MULTIPART_END
        await self.base_send({"type": "http.response.body", "body": body})


def _encode(result: ExecutionResult) -> str:
    """A result as Strawberry's graphql-transport-ws handler encodes ``next`` payloads;
    errors before execution (no ``data``) as GraphQL over HTTP reports request errors."""
    payload: dict[str, Any] = {}
    if not isinstance(result, PreExecutionError):
        payload["data"] = result.data
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return json.dumps(payload)


def _is_mutation(query: str, operation_name: str | None) -> bool:
    if query_size_error(query) is not None:
        return False
    try:
        operation = get_operation_ast(parse(query, max_tokens=MAX_TOKENS), operation_name)
    except GraphQLError:
        return False  # reported by the stream, as any other error before execution
    return operation is not None and operation.operation == OperationType.MUTATION
