"""POST /graphql/ served before Django: the websocket fast paths, over HTTP.

A ``sendMessage`` over HTTP went through Django's handler and middleware, Strawberry's
view, a parse and validation of the same document every time, the executor and a
database read of the bearer token: a third of the rate of a Django 404 on the same
process. ``GraphQLHTTPFront`` sits in front of Django (project/asgi.py) and serves the
requests it can answer exactly as the standard path would, with what the websocket path
already has: documents parsed and validated once (fastpaths/execution.py), the registry's
fast paths that serve HTTP (``FastPath.http``: ``sendMessage`` and queries) and the
process's token cache (realtime/tokens.py).

It serves a request only when all of these hold, and hands it to Django (with the body it
read) otherwise, so everything else behaves as before:
- fast paths are on (``CHAT_FAST_PATHS``) and the middleware is exactly
  ``REPLICATED_MIDDLEWARE``, whose effect on these responses ``_response_headers`` restates;
- ``POST`` to the GraphQL path, ``Content-Type: application/json`` (charset utf-8 at
  most), an ``Accept`` that schema/httpspec.py answers (its media type, status and body
  rules are the standard path's too);
- no cookie (sessions, CSRF and messages are Django's), no ``Origin`` (CORS is Django's),
  a host ALLOWED_HOSTS accepts, no HTTPS redirect due, no allow-list mode
  (``CHAT_PERSISTED_QUERIES_ONLY``);
- no ``Authorization``, or a bearer token the cache knows to be valid (an invalid one gets
  the standard path's answer from the standard path);
- a JSON object body of ``query`` (a string), ``variables`` (an object or null) and
  ``operationName`` (a string or null), no ``extensions`` (persisted queries are
  Django's), within DATA_UPLOAD_MAX_MEMORY_SIZE and MAX_QUERY_BYTES;
- the registry has an HTTP fast path whose plan accepts the operation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from corsheaders.conf import conf as cors
from corsheaders.signals import check_request_enabled
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import InterfaceError, OperationalError
from django.http.request import split_domain_port, validate_host
from graphql import DocumentNode

from chat.clientip import client_ip
from internals.fastpaths.execution import operation_execute
from internals.fastpaths.post import PostPlan, post_payload
from internals.fastpaths.registry import fast_path_serve
from realtime.tokens import token_user_cached
from schema.context import ChatContext
from schema.http import bearer_token, json_decode
from schema.httpspec import content_type, response_body, response_media_type, response_status
from schema.limits import query_size_error

if TYPE_CHECKING:
    from strawberry import Schema

__all__ = ["REPLICATED_MIDDLEWARE", "GraphQLHTTPFront"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# project/settings.py's MIDDLEWARE: what each does to a JSON answer of the GraphQL view
# for a request without a cookie is in _response_headers. Another middleware (or another
# order) turns the front off until it is added here and there.
REPLICATED_MIDDLEWARE = (
    "project.middleware.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "project.middleware.ContentSecurityPolicyMiddleware",
    "internals.whitenoise.StaticFilesMiddleware",
    "project.middleware.SessionMiddleware",
    "project.middleware.CommonMiddleware",
    "project.middleware.CsrfViewMiddleware",
    "project.middleware.AuthenticationMiddleware",
    "project.middleware.MessageMiddleware",
    "project.middleware.XFrameOptionsMiddleware",
)

_SERVED_CONTENT_TYPE = {b"application/json", b"application/json;charset=utf-8"}


def _headers(scope: Scope) -> dict[bytes, bytes] | None:
    """The request's headers by lowercase name; None if one that matters is repeated."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in headers:
            if name in (b"authorization", b"content-type", b"accept", b"host", b"origin"):
                return None
            continue
        headers[name] = value
    return headers


def _secure(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    """request.is_secure(), as Django answers it."""
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        name, secure_value = proxy
        value = headers.get(name.removeprefix("HTTP_").lower().replace("_", "-").encode())
        if value is not None:
            return bool(value.decode("latin1").split(",", 1)[0].strip() == secure_value)
    return bool(scope.get("scheme") == "https")


def _host_allowed(host: bytes | None) -> bool:
    """Whether request.get_host() would accept the Host header (an absent one: leave it
    to Django)."""
    if host is None or settings.USE_X_FORWARDED_HOST:
        return False
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(host.decode("latin1"))
    return bool(domain) and validate_host(domain, allowed)


def _eligible(scope: Scope, headers: dict[bytes, bytes], secure: bool) -> bool:
    """The request line and headers are ones the front answers as Django would."""
    content_type = headers.get(b"content-type", b"").replace(b" ", b"").lower()
    if content_type not in _SERVED_CONTENT_TYPE:
        return False
    # Any Origin is CorsMiddleware's to answer (its allowed origins, credentials).
    if b"cookie" in headers or b"origin" in headers or not _host_allowed(headers.get(b"host")):
        return False
    if settings.SECURE_SSL_REDIRECT and not secure:
        return False
    # Not in allow-list mode: which documents may run is the standard path's check
    # (schema/persisted.py).
    return (
        not settings.DISALLOWED_USER_AGENTS
        and not settings.CHAT["PERSISTED_QUERIES_ONLY"]
        and tuple(settings.MIDDLEWARE) == REPLICATED_MIDDLEWARE
        and not check_request_enabled.receivers
    )


def _operation(body: bytes) -> tuple[str, str | None, dict[str, Any] | None] | None:
    """(query, operationName, variables) of a plain JSON request body, or None."""
    try:
        data = json_decode(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("extensions") is not None:
        return None
    query, name, variables = data.get("query"), data.get("operationName"), data.get("variables")
    if not isinstance(query, str) or query_size_error(query) is not None:
        return None
    if not isinstance(name, str | None) or not isinstance(variables, dict | None):
        return None
    return query, name, variables


def _response_headers(
    body: bytes, media_type: str, path: str, *, anonymous: bool, secure: bool
) -> list[tuple[bytes, bytes]]:
    """The headers the standard path sends with the answer to an executed operation: the
    view's content type, then what the middleware adds (SecurityMiddleware,
    XFrameOptionsMiddleware, SessionMiddleware's Vary: Cookie when the view read the
    session: anonymous requests, whose user it looks for there; CorsMiddleware's Vary:
    origin on its paths, for a request without an Origin)."""
    headers = [
        (b"Content-Type", content_type(media_type).encode()),
        (b"X-Frame-Options", settings.X_FRAME_OPTIONS.upper().encode()),
        (b"Content-Length", str(len(body)).encode()),
    ]
    vary = (["Cookie"] if anonymous else []) + (
        ["origin"] if re.match(cors.CORS_URLS_REGEX, path) else []
    )
    if vary:
        headers.append((b"Vary", ", ".join(vary).encode()))
    if settings.SECURE_HSTS_SECONDS and secure:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append((b"Strict-Transport-Security", hsts.encode()))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"X-Content-Type-Options", b"nosniff"))
    if policy := settings.SECURE_REFERRER_POLICY:
        values = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy
        headers.append((b"Referrer-Policy", ",".join(values).encode()))
    if coop := settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"Cross-Origin-Opener-Policy", coop.encode()))
    return headers


class GraphQLHTTPFront:
    """ASGI middleware: answer the GraphQL POSTs a fast path serves, pass on the rest."""

    def __init__(self, inner: ASGIApp, *, schema: Schema, path: str = "/graphql/") -> None:
        self.inner = inner
        self.schema = schema
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"].removeprefix(scope.get("root_path", "")) != self.path
            or not settings.CHAT["FAST_PATHS"]
        ):
            await self.inner(scope, receive, send)
            return
        headers = _headers(scope)
        secure = headers is not None and _secure(scope, headers)
        if headers is None or not _eligible(scope, headers, secure):
            await self.inner(scope, receive, send)
            return
        # The body, read whole, then handed on with the rest if the front declines.
        received: list[Message] = []
        size, limit = 0, settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body") or (limit is not None and size > limit):
                break
        if await self._serve(scope, headers, secure, received, send):
            return

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        await self.inner(scope, replay, send)

    async def _serve(
        self,
        scope: Scope,
        headers: dict[bytes, bytes],
        secure: bool,
        received: list[Message],
        send: Send,
    ) -> bool:
        """Answer the request if a fast path serves it; False to hand it to Django."""
        last = received[-1]
        if last["type"] != "http.request" or last.get("more_body"):
            return False
        operation = _operation(b"".join(m.get("body", b"") for m in received))
        if operation is None:
            return False
        query, name, variables = operation
        accept = headers.get(b"accept")
        media_type = response_media_type(None if accept is None else accept.decode("latin1"))
        if media_type is None:
            return False  # 406: the standard path's answer
        authorization = headers.get(b"authorization")
        context = ChatContext(user=AnonymousUser(), client_ip=client_ip(scope))
        if authorization is not None:
            # Another scheme, or none: the standard path answers it.
            token = bearer_token(authorization.decode("latin1"))
            if token is None:
                return False
            try:
                user = await token_user_cached(raw=token)
            except (OperationalError, InterfaceError):
                # The standard path tries again, and answers 503 if it fails too.
                return False
            if user is None:
                return False
            context.user, context.token = user, token
        served = fast_path_serve(self.schema, query, name, variables, http=True)
        if served is None:
            return False
        plan = served.plan
        if isinstance(plan, PostPlan):
            payload = await post_payload(plan, context, self.schema, variables)
        else:
            assert isinstance(plan, DocumentNode)
            payload = await operation_execute(
                self.schema, plan, operation_name=name, variables=variables, context=context
            )
        # As Strawberry's Django view encodes it (DjangoJSONEncoder only differs on
        # values a payload never holds: dates, decimals, UUIDs are strings by now), with
        # schema/httpspec.py's status and body for the media type.
        body = json.dumps(response_body(media_type, payload), separators=(",", ":")).encode()
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        await send(
            {
                "type": "http.response.start",
                "status": response_status(media_type, payload),
                "headers": _response_headers(
                    body, media_type, path, anonymous=authorization is None, secure=secure
                ),
            }
        )
        await send({"type": "http.response.body", "body": body})
        return True
