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
from graphql import ExecutionResult, GraphQLError
from strawberry.django.views import AsyncGraphQLView, TemporalHttpResponse
from strawberry.exceptions import MissingQueryError
from strawberry.http.base import HTTPException
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from chat.clientip import client_ip
from realtime.tokens import token_user_cached
from schema.context import ChatContext
from schema.errors import DATABASE_UNAVAILABLE, error_record
from schema.httpspec import (
    JSON,
    NOT_ACCEPTABLE_MESSAGE,
    content_type,
    request_error_status,
    response_body,
    response_media_type,
    response_status,
)
from schema.limits import QUERY_TOO_LARGE, query_size_error
from schema.operations import (
    OPERATION_RESOLUTION_FAILURE,
    document_operation_name_error,
    signs_in_only,
)
from schema.persisted import PersistedQueryError, persisted_document

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


SUBSCRIPTION_OVER_HTTP = (
    "Subscriptions are not served over plain HTTP requests: subscribe over the websocket at "
    "/graphql/ (graphql-transport-ws or graphql-ws), or send this request with Accept: "
    "text/event-stream (Server-Sent Events) or Accept: multipart/mixed;subscriptionSpec=1.0 "
    "(multipart HTTP)."
)
MUTATION_OVER_GET = "Mutations cannot be sent by GET: use POST."
# Strawberry's own refusals (text/plain), answered as GraphQL errors with their status.
_HTTP_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def _media_type(request: HttpRequest) -> str:
    """The media type of the response to ``request`` (application/json when its Accept
    header allows neither of ours and it is answered anyway, e.g. with a 406)."""
    return response_media_type(request.headers.get("Accept")) or JSON


def _error(
    request: HttpRequest, message: str, code: str, status: int, **headers: str
) -> JsonResponse:
    """A request error (no ``data``) in the request's media type, with ``status``; a
    ``status`` of 200 (a GraphQL request error under application/json) becomes
    schema.httpspec's 4xx or 5xx for ``code`` under application/graphql-response+json."""
    error_record(code)
    media_type = _media_type(request)
    if media_type != JSON and status == 200:
        status = request_error_status(code)
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    response = JsonResponse(body, status=status, content_type=content_type(media_type))
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _unauthenticated(request: HttpRequest, message: str) -> JsonResponse:
    # Status 200 under application/json: Apollo Client (and any client following the
    # GraphQL-over-HTTP spec) reads no non-2xx application/json body, so the code would
    # be lost. 401 under application/graphql-response+json, which clients do read.
    media_type = _media_type(request)
    if media_type == JSON:
        return _error(request, message, "UNAUTHENTICATED", 200)
    return _error(
        request, message, "UNAUTHENTICATED", 401, WWW_Authenticate='Bearer error="invalid_token"'
    )


class _MethodNotAllowed(Exception):
    pass


class _NotAcceptable(Exception):
    pass


def _request_error(message: str, code: str) -> ExecutionResult:
    """A request error found before execution, coded and counted as ErrorCodes would."""
    error_record(code)
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code})])


def _sign_in_request(request: HttpRequest) -> bool:
    """Whether ``request`` only signs in (login, register), so its Authorization header is
    ignored: a client holding a stale token must be able to sign in again."""
    if request.method == "GET":
        return signs_in_only(request.GET.get("query"), request.GET.get("operationName") or None)
    try:
        data = json_decode(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    if not isinstance(data, dict):
        return False
    return signs_in_only(data.get("query"), data.get("operationName"))


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
            return _error(request, "The body is not valid JSON.", "BAD_USER_INPUT", 400)
        except _NotAcceptable:
            return _error(request, NOT_ACCEPTABLE_MESSAGE, "NOT_ACCEPTABLE", 406)
        except _MethodNotAllowed:
            # GraphQL over HTTP, GET: "If the values of {query} and {operationName}
            # indicate that a mutation operation is to be executed, the server MUST
            # respond with error status code 405 (Method Not Allowed)".
            return _error(request, MUTATION_OVER_GET, "METHOD_NOT_ALLOWED", 405, Allow="POST")
        except (OperationalError, InterfaceError):
            # Authentication reads the database before any resolver runs.
            logger.exception("database unavailable")
            return _error(request, DATABASE_UNAVAILABLE, "SERVICE_UNAVAILABLE", 503)

    async def _dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if response_media_type(request.headers.get("Accept")) is None and not (
            request.method == "GET" and "query" not in request.GET
        ):
            # (A GET without a query is GraphiQL's page, or Strawberry's 404.)
            raise _NotAcceptable
        authorization = request.headers.get("Authorization")
        token = bearer_token(authorization)
        user = await token_user_cached(raw=token) if token is not None else None
        # login and register take no credential: a stale or malformed one must not stop
        # them (looked at only once the header is refused: no parse on the common path).
        if authorization and user is None and not _sign_in_request(request):
            if token is None:
                return _unauthenticated(request, "Authorization header must be `Bearer <token>`.")
            return _unauthenticated(request, "Invalid or expired token.")
        if user is not None:
            request.chat_context = ChatContext(user=user, token=token, request=request)  # type: ignore[attr-defined]
        else:
            if csrf_failed(request):
                return _error(
                    request,
                    "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken "
                    "header, or authenticate with a bearer token.",
                    "FORBIDDEN",
                    403,
                )
            request.chat_context = ChatContext(user=await request.auser(), request=request)  # type: ignore[attr-defined]
        return await super().dispatch(request, *args, **kwargs)

    async def run(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().run(request, *args, **kwargs)
        except HTTPException as error:
            # Strawberry answers these in text/plain; clients get a GraphQL error body
            # (a request that is not a well-formed GraphQL-over-HTTP request: its 4xx in
            # both media types).
            code = _HTTP_CODES.get(error.status_code, "BAD_REQUEST")
            # (RFC 9110: a 405 lists the methods the resource allows.)
            allow = {"Allow": "GET, POST"} if error.status_code == 405 else {}
            return _error(request, error.reason, code, error.status_code, **allow)

    async def get_sub_response(self, request: HttpRequest) -> TemporalHttpResponse:
        response = await super().get_sub_response(request)
        # Copied onto the response by create_response, which has no request.
        response["Content-Type"] = content_type(_media_type(request))
        return response

    def create_response(  # type: ignore[override]
        self, response_data: Any, sub_response: HttpResponse
    ) -> HttpResponse:
        media_type = sub_response["Content-Type"].split(";")[0]
        status = 200
        if isinstance(response_data, dict):
            status = response_status(media_type, response_data)
            response_data = response_body(media_type, response_data)
        response = super().create_response(response_data, sub_response)
        if not sub_response.status_code:
            response.status_code = status
        return response  # type: ignore[return-value]

    async def execute_single(  # type: ignore[override]
        self,
        request: HttpRequest,
        request_adapter: Any,
        sub_response: HttpResponse,
        context: ChatContext,
        root_value: Any,
        request_data: Any,
    ) -> Any:
        # Strawberry's own, but with its refusals as GraphQL responses (it raises
        # text/plain 400s), and no subscriptions: Strawberry runs one sent as a plain
        # POST or GET as a query, which fails inside with a logged traceback.
        method = request_adapter.method
        allowed = {OperationType.QUERY} | ({OperationType.MUTATION} if method == "POST" else set())
        operation_name = request_data.operation_name
        if operation_name is not None and not isinstance(operation_name, str):
            # Not a well-formed GraphQL-over-HTTP request (Strawberry checks the other
            # parameters' types, not this one).
            raise HTTPException(
                400,
                "The GraphQL operation's `operationName` must be a string or null, if provided.",
            )
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                # GET: "Setting the value of the {operationName} parameter to the empty
                # string is equivalent to omitting the {operationName} parameter."
                operation_name=operation_name or None,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as error:
            # GetOperation: "If operation was not found, raise a request error."
            return _request_error(error.as_http_error_reason(), OPERATION_RESOLUTION_FAILURE)
        except InvalidOperationTypeError as error:
            # Strawberry judged the first operation: with several and no operationName,
            # none is selected (GetOperation), whatever the first one's type.
            unselected = document_operation_name_error(request_data.query, operation_name or None)
            if unselected is not None:
                error_record(OPERATION_RESOLUTION_FAILURE)
                return ExecutionResult(data=None, errors=[unselected])
            if error.operation_type == OperationType.MUTATION:
                raise _MethodNotAllowed from error
            return _request_error(SUBSCRIPTION_OVER_HTTP, "BAD_REQUEST")
        except MissingQueryError as error:
            raise HTTPException(400, "No GraphQL query found in the request.") from error

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
            try:
                data.query = await persisted_document(data.query, data.extensions)
            except PersistedQueryError as refusal:
                return ExecutionResult(data=None, errors=[refusal])
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
