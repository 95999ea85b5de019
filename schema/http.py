"""GraphQL over HTTP: who is asking (bearer token or session cookie, CSRF-checked), then
Strawberry's view."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.template.loader import render_to_string
from graphql import ExecutionResult
from strawberry.django.views import AsyncGraphQLView

from chat.clientip import client_ip
from chat.db import in_thread
from chat.selectors import token_user_get
from schema.context import ChatContext
from schema.errors import DATABASE_UNAVAILABLE, error_record
from schema.limits import QUERY_TOO_LARGE, query_size_error

__all__ = [
    "ChatGraphQLView",
    "bearer_token",
    "content_security_policy",
    "csrf_failed",
    "json_decode",
]

logger = logging.getLogger(__name__)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None for another scheme."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _error(message: str, code: str, status: int) -> JsonResponse:
    error_record(code)
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JsonResponse(body, status=status)


def _unauthenticated(message: str) -> JsonResponse:
    return _error(message, "UNAUTHENTICATED", 401)


class _UnparseableBody(Exception):
    pass


def json_decode(data: str | bytes) -> object:
    """json.loads, with nesting too deep for it (RecursionError: a body of 100,000
    ``[``) refused as the malformed JSON it is to us."""
    try:
        return json.loads(data)
    except RecursionError as error:
        raise json.JSONDecodeError("nested too deeply", "", 0) from error


def content_security_policy(request: HttpRequest, *, inline_styles: bool = False) -> str:
    """The Content-Security-Policy of our pages: everything from this origin only, no
    inline script anywhere. ``inline_styles`` is for GraphiQL, whose editor (Monaco)
    injects style elements at run time."""
    try:
        # 'self' covers ws: and wss: only in CSP Level 3 browsers (not Safari before 15.4).
        websocket = ("wss://" if request.is_secure() else "ws://") + request.get_host()
    except DisallowedHost:
        websocket = ""
    styles = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    return (
        f"default-src 'self'; script-src 'self'; style-src {styles}; img-src 'self' data:; "
        f"font-src 'self' data:; connect-src 'self' {websocket}".rstrip()
        + "; worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


# The view is csrf_exempt so that token clients need no CSRF token; requests that carry
# the session cookie are checked here instead.
def _no_response(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


_csrf = CsrfViewMiddleware(_no_response)


def csrf_failed(request: HttpRequest) -> bool:
    """Whether a POST carrying the session cookie fails Django's CSRF check."""
    return (
        request.method == "POST"
        and settings.SESSION_COOKIE_NAME in request.COOKIES
        and _csrf.process_view(request, _no_response, (), {}) is not None
    )


class ChatGraphQLView(AsyncGraphQLView[ChatContext, None]):
    """GraphQL over HTTP (POST, and GET for queries and GraphiQL)."""

    async def dispatch(  # type: ignore[override]
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> Any:
        try:
            return await self._dispatch(request, *args, **kwargs)
        except _UnparseableBody:
            return _error("The body is not valid JSON.", "BAD_USER_INPUT", 400)
        except (OperationalError, InterfaceError):
            # Authentication reads the database before any resolver runs.
            logger.exception("database unavailable")
            return _error(DATABASE_UNAVAILABLE, "SERVICE_UNAVAILABLE", 503)

    async def _dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        authorization = request.headers.get("Authorization")
        token = bearer_token(authorization)
        if authorization and token is None:
            return _unauthenticated("Authorization header must be `Bearer <token>`.")
        if token is not None:
            user = await in_thread(token_user_get)(raw=token)
            if user is None:
                return _unauthenticated("Invalid or expired token.")
            request.chat_context = ChatContext(user=user, token=token, request=request)  # type: ignore[attr-defined]
        else:
            if csrf_failed(request):
                return _error(
                    "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken "
                    "header, or authenticate with a bearer token.",
                    "FORBIDDEN",
                    403,
                )
            request.chat_context = ChatContext(user=await request.auser(), request=request)  # type: ignore[attr-defined]
        return await super().dispatch(request, *args, **kwargs)

    def parse_json(self, data: str | bytes) -> Any:
        # Strawberry answers a text/plain 400 (or a 500, too deep); clients get a GraphQL
        # error body.
        try:
            return json_decode(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise _UnparseableBody from error

    async def execute_operation(  # type: ignore[override]
        self,
        request: HttpRequest,
        request_adapter: Any,
        request_data: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        # Refused before Strawberry parses it (nor caches anything of it). (A batch, if
        # batching is ever turned on, is refused whole.)
        batch = request_data if isinstance(request_data, list) else [request_data]
        for data in batch:
            query = getattr(data, "query", None)
            if isinstance(query, str) and (error := query_size_error(query)) is not None:
                error_record(QUERY_TOO_LARGE)
                refused = ExecutionResult(data=None, errors=[error])
                return [refused] * len(batch) if isinstance(request_data, list) else refused
        return await super().execute_operation(
            request, request_adapter, request_data, *args, **kwargs
        )

    async def render_graphql_ide(self, request: HttpRequest) -> HttpResponse:
        # Our template loads GraphiQL from our static files; Strawberry's loads it from
        # CDNs. get_token sets the csrftoken cookie the page sends back after a login.
        if not settings.CHAT["GRAPHIQL"]:
            raise Http404
        get_token(request)
        response = HttpResponse(render_to_string("graphql/graphiql.html", request=request))
        response["Content-Security-Policy"] = content_security_policy(request, inline_styles=True)
        return response

    async def get_context(self, request: HttpRequest, response: HttpResponse) -> ChatContext:
        context: ChatContext = request.chat_context  # type: ignore[attr-defined]
        context.response = response
        context.client_ip = client_ip(request.scope)  # type: ignore[attr-defined]
        return context
