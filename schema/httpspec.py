"""GraphQL over HTTP: which media type a response uses and which status it gets (the
GraphQL-over-HTTP spec, https://graphql.github.io/graphql-over-http/draft/).

One policy for every path that answers GraphQL over HTTP (schema/http.py's view and any
fast path in front of it), so they answer the same request with the same status,
Content-Type and body:

- ``application/json`` (no Accept header, ``*/*``, ``application/*`` or asked for by name):
  every GraphQL response is 200, request errors included, because a client cannot trust a
  non-2xx ``application/json`` answer to come from us (Apollo Client turns any of them into
  a ServerError and hides the body). Bodies keep ``"data": null`` on request errors, as
  they always had.
- ``application/graphql-response+json`` (asked for by name; preferred on a tie): a response
  with a ``data`` entry (an operation that executed) is 200; a request error has no
  ``data`` entry and a 4xx (or 5xx) status, 400 unless its code says otherwise.

Not GraphQL responses, and so the same in both: 400 for a body that is not JSON or not a
GraphQL request, 405 for a mutation sent by GET, 406 when the Accept header names neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "GRAPHQL_RESPONSE_JSON",
    "JSON",
    "NOT_ACCEPTABLE_MESSAGE",
    "content_type",
    "is_request_error",
    "request_error_status",
    "response_body",
    "response_media_type",
    "response_status",
]

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# Our preference on a tie (the spec's recommended media type comes first).
_SUPPORTED = (GRAPHQL_RESPONSE_JSON, JSON)

NOT_ACCEPTABLE_MESSAGE = (
    "GraphQL responses are application/graphql-response+json or application/json; the "
    "Accept header allows neither."
)

# The status of a request error under application/graphql-response+json, by its code
# ("If the client is not permitted to issue the GraphQL request then the server SHOULD
# reply with 403, 401 or similar appropriate status code"); any other code is 400 ("If
# the request is not a well-formed GraphQL-over-HTTP request, or it does not pass
# validation, then the server SHOULD reply with 400 status code").
_REQUEST_ERROR_STATUS: Mapping[str, int] = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "QUERY_TOO_LARGE": 413,
    "RATE_LIMITED": 429,
    "SERVICE_UNAVAILABLE": 503,
}


def _ranges(accept: str) -> list[tuple[str, str, float]]:
    """The acceptable media ranges of an Accept header: (type, subtype, q)."""
    ranges = []
    for item in accept.split(","):
        full_type, *parameters = item.split(";")
        main, _, sub = full_type.strip().lower().partition("/")
        if not main or not sub:
            continue
        quality = 1.0
        acceptable = True
        for parameter in parameters:
            name, _, value = parameter.strip().partition("=")
            name, value = name.strip().lower(), value.strip().strip('"').lower()
            if name == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
            elif name == "charset" and value not in ("utf-8", "utf8"):
                # We only ever answer in UTF-8.
                acceptable = False
        if acceptable and quality > 0:
            ranges.append((main, sub, quality))
    return ranges


def response_media_type(accept_header: str | None) -> str | None:
    """The media type of the response to a GraphQL request with this Accept header, or
    None when it allows neither of ours (answer 406 Not Acceptable).

    No header (or an empty one) is ``application/json``, as are ``*/*`` and
    ``application/*``: what the graphql-http audits expect, and what every client written
    before application/graphql-response+json reads."""
    if accept_header is None or not accept_header.strip():
        return JSON
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    for main, sub, quality in _ranges(accept_header):
        for preference, media_type in enumerate(_SUPPORTED):
            supported_main, supported_sub = media_type.split("/")
            if (main, sub) == (supported_main, supported_sub):
                specificity = 2
            elif (main == "*" and sub == "*") or (main, sub) == (supported_main, "*"):
                # A wildcard stands for application/json only (see above).
                if media_type != JSON:
                    continue
                specificity = 0
            else:
                continue
            # Highest q first, then a named type over a wildcard, then our preference.
            rank = (quality, specificity, -preference)
            if best is None or rank > best:
                best, chosen = rank, media_type
    return chosen


def content_type(media_type: str) -> str:
    """The Content-Type header of a response in ``media_type`` (application/json stays
    without a charset, as it always was: JSON is UTF-8 by definition)."""
    return media_type if media_type == JSON else f"{media_type}; charset=utf-8"


def is_request_error(result: Mapping[str, Any]) -> bool:
    """Whether a GraphQL response (as sent) reports a request error: no data, and errors
    of which none has a ``path`` (every field error has one). Parse, validation, operation
    selection and variable coercion errors are request errors; a non-null root field
    that failed and nulled ``data`` is a field error."""
    errors: Sequence[Mapping[str, Any]] | None = result.get("errors")
    if result.get("data") is not None or not errors:
        return False
    return all(not error.get("path") for error in errors)


def request_error_status(code: object) -> int:
    """The status of a request error with ``extensions.code`` ``code`` under
    application/graphql-response+json."""
    return _REQUEST_ERROR_STATUS.get(code, 400) if isinstance(code, str) else 400


def response_status(media_type: str, result: Mapping[str, Any]) -> int:
    """The status of a GraphQL response in ``media_type`` (see the module's docstring)."""
    if media_type == JSON or not is_request_error(result):
        return 200
    errors = result["errors"]
    return request_error_status(errors[0].get("extensions", {}).get("code"))


def response_body(media_type: str, result: dict[str, Any]) -> dict[str, Any]:
    """The response as sent in ``media_type``: a request error has no ``data`` entry under
    application/graphql-response+json ("If the GraphQL response does not contain the
    {data} entry then the server MUST reply with a 4xx or 5xx status code")."""
    if media_type == GRAPHQL_RESPONSE_JSON and "data" in result and is_request_error(result):
        return {key: value for key, value in result.items() if key != "data"}
    return result
