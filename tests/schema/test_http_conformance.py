"""GraphQL over HTTP as the GraphQL-over-HTTP spec (graphql/graphql-over-http,
spec/GraphQLOverHTTP.md) and the GraphQL spec's GetOperation say, each test quoting the
line it enforces: both response media types with their status codes, 405 for a mutation
by GET, operation selection, stale tokens, subscriptions sent as plain requests."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator

from chat.models import AuthToken, Message
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]

JSON = "application/json"
GRAPHQL_JSON = "application/graphql-response+json"
GRAPHQL_JSON_UTF8 = "application/graphql-response+json; charset=utf-8"
APOLLO_ACCEPT = "application/graphql-response+json,application/json;q=0.9"
SEND = 'mutation C { sendMessage(room: "lobby", text: "posted") { seq } }'


async def graphql(
    method: str,
    params: dict[str, Any] | None = None,
    *,
    accept: str | None = None,
    token: str | None = None,
    authorization: str | None = None,
    raw_body: bytes | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One request through project.asgi.application: status, headers, decoded JSON body."""
    from project.asgi import application

    headers = [(b"host", b"localhost")]
    if accept is not None:
        headers.append((b"accept", accept.encode()))
    if token is not None:
        authorization = f"Bearer {token}"
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    path, body = "/graphql/", b""
    if method == "GET":
        path += "?" + urlencode(params or {})
    else:
        headers.append((b"content-type", b"application/json"))
        body = raw_body if raw_body is not None else json.dumps(params).encode()
    communicator = HttpCommunicator(application, method, path, body=body, headers=headers)
    response = await communicator.get_response(timeout=10)
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout=10)
    answered = {name.decode().lower(): value.decode() for name, value in response["headers"]}
    return response["status"], answered, json.loads(response["body"])


def no_errors_logged(caplog: pytest.LogCaptureFixture) -> bool:
    return not [record for record in caplog.records if record.levelname == "ERROR"]


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        # "If the client does not supply an Accept header, the server SHOULD treat the
        # GraphQL-over-HTTP request as if it had Accept: application/json" (the legacy
        # watershed; the graphql-http audits expect it, as does every older client).
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (JSON, JSON),
        ("application/json; charset=utf-8", JSON),
        # "the server MUST respect the given Accept header and attempt to encode the
        # response in the highest priority media type listed that is supported"
        (GRAPHQL_JSON, GRAPHQL_JSON),
        (APOLLO_ACCEPT, GRAPHQL_JSON),
        ("application/graphql-response+json; charset=utf-8, application/json; charset=utf-8",
         GRAPHQL_JSON),
        ("application/graphql-response+json;q=0.5, application/json", JSON),
        ("text/html, application/graphql-response+json;q=0.1", GRAPHQL_JSON),
        ("application/json;q=0, */*", JSON),
        # "when a client does not include at least one supported media type in the Accept
        # HTTP header, the server MUST either: 1. Respond with a 406 Not Acceptable"
        ("text/html", None),
        ("application/json;q=0", None),
        ("application/json; charset=latin1", None),
    ],
)  # fmt: skip
def test_response_media_type(accept: str | None, media_type: str | None) -> None:
    from schema.httpspec import response_media_type

    assert response_media_type(accept) == media_type


async def test_not_acceptable_is_406() -> None:
    status, headers, body = await graphql("POST", {"query": "{ __typename }"}, accept="text/html")
    assert (status, headers["content-type"]) == (406, JSON)
    assert body == {
        "errors": [
            {
                "message": "GraphQL responses are application/graphql-response+json or "
                "application/json; the Accept header allows neither.",
                "extensions": {"code": "NOT_ACCEPTABLE"},
            }
        ]
    }


async def test_an_executed_operation_is_200_in_both_media_types() -> None:
    # application/graphql-response+json: "If the GraphQL response contains the {data}
    # entry and it is not {null}, then the server MUST reply with a 2xx status code and
    # SHOULD reply with 200 status code." application/json: "If the GraphQL response
    # contains a non-null {data} entry then the server MUST use the 200 status code."
    for accept, content_type in ((None, JSON), (GRAPHQL_JSON, GRAPHQL_JSON_UTF8)):
        answer = await graphql("POST", {"query": "{ __typename }"}, accept=accept)
        assert answer == (200, answer[1], {"data": {"__typename": "Query"}})
        assert answer[1]["content-type"] == content_type
    # A field error that nulls data is still an executed operation: "If the GraphQL
    # response contains the {data} entry and it is {null}, then the server SHOULD reply
    # with a 2xx status code".
    status, _, body = await graphql("POST", {"query": SEND}, accept=GRAPHQL_JSON)
    assert (status, body["data"], body["errors"][0]["extensions"]) == (
        200,
        None,
        {"code": "UNAUTHENTICATED"},
    )


PARSE_ERROR = {
    "message": "Syntax Error: Expected Name, found <EOF>.",
    "locations": [{"line": 1, "column": 2}],
    "extensions": {"code": "GRAPHQL_PARSE_FAILED"},
}
VALIDATION_ERROR = {
    "message": "Cannot query field 'nope' on type 'Query'.",
    "locations": [{"line": 1, "column": 3}],
    "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
}
COERCION_ERROR = {
    "message": "Variable '$id' has invalid value: Expected value of non-null type 'String!' "
    "not to be None.",
    "locations": [{"line": 1, "column": 9}],
    "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
}
OPERATION_NAME_REQUIRED = {
    "message": "Must provide operation name if query contains multiple operations.",
    "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"},
}
UNKNOWN_OPERATION = {
    "message": 'Unknown operation named "B".',
    "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"},
}
REQUEST_ERRORS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    # "Requests where the GraphQL document cannot be parsed should result in status code
    # 400 (Bad Request)."
    ("parse", {"query": "{"}, PARSE_ERROR),
    # "Requests that fail to pass GraphQL validation SHOULD be denied execution with a
    # status code of 400 (Bad Request)."
    ("validation", {"query": "{ nope }"}, VALIDATION_ERROR),
    # "If CoerceVariableValues() raises a GraphQL request error, the server SHOULD NOT
    # execute the request and SHOULD return a status code of 400 (Bad Request)."
    (
        "variables",
        {"query": "query Q($id: String!) { room(name: $id) { name } }", "variables": {"id": None}},
        COERCION_ERROR,
    ),
    # "If GetOperation() raises a GraphQL request error, the server SHOULD NOT execute the
    # request and SHOULD return a status code of 400 (Bad Request)." GetOperation: "If
    # operationName is null: If document contains exactly one operation, return the
    # Operation contained in the document. Otherwise raise a request error requiring
    # operationName."
    ("no operationName", {"query": f"{SEND} query A {{ me {{ id }} }}"}, OPERATION_NAME_REQUIRED),
    # GetOperation: "Let operation be the Operation named operationName in document. If
    # operation was not found, raise a request error."
    ("unknown operationName", {"query": SEND, "operationName": "B"}, UNKNOWN_OPERATION),
]


@pytest.mark.parametrize(("case", "params", "error"), REQUEST_ERRORS)
async def test_request_errors_by_media_type(
    alice: factories.Member,
    caplog: pytest.LogCaptureFixture,
    case: str,
    params: dict[str, Any],
    error: dict[str, Any],
) -> None:
    # application/graphql-response+json: "If the GraphQL response does not contain the
    # {data} entry then the server MUST reply with a 4xx or 5xx status code as appropriate."
    status, headers, body = await graphql("POST", params, accept=GRAPHQL_JSON, token=alice.token)
    assert (status, headers["content-type"], body) == (400, GRAPHQL_JSON_UTF8, {"errors": [error]})
    # application/json: "The server SHOULD use the 200 status code for every response to a
    # well-formed GraphQL-over-HTTP request, independent of any GraphQL request error or
    # GraphQL field error raised." (Bodies keep the "data": null they always had.)
    answer = await graphql("POST", params, token=alice.token)
    assert answer == (200, answer[1], {"data": None, "errors": [error]})
    assert answer[1]["content-type"] == JSON
    assert await Message.objects.acount() == 0
    assert no_errors_logged(caplog)


async def test_a_document_over_the_size_limit_is_413_under_graphql_response_json() -> None:
    from schema.limits import MAX_BYTES

    query = "{ __typename }" + " " * MAX_BYTES
    status, _, body = await graphql("POST", {"query": query}, accept=GRAPHQL_JSON)
    assert (status, "data" in body, body["errors"][0]["extensions"]["code"]) == (
        413,
        False,
        "QUERY_TOO_LARGE",
    )
    status, _, body = await graphql("POST", {"query": query})
    assert (status, body["data"], body["errors"][0]["extensions"]["code"]) == (
        200,
        None,
        "QUERY_TOO_LARGE",
    )


@pytest.mark.parametrize("accept", [None, JSON, GRAPHQL_JSON])
async def test_a_mutation_by_get_is_405(alice: factories.Member, accept: str | None) -> None:
    # GET: "GET requests MUST NOT be used for executing mutation operations. If the values
    # of {query} and {operationName} indicate that a mutation operation is to be executed,
    # the server MUST respond with error status code 405 (Method Not Allowed) and halt
    # execution."
    status, headers, body = await graphql("GET", {"query": SEND}, accept=accept, token=alice.token)
    assert (status, headers["allow"]) == (405, "POST")
    assert body == {
        "errors": [
            {
                "message": "Mutations cannot be sent by GET: use POST.",
                "extensions": {"code": "METHOD_NOT_ALLOWED"},
            }
        ]
    }
    assert await Message.objects.acount() == 0
    # Other methods: 405 too, with what is allowed.
    answer = await graphql("PUT", {"query": "{ __typename }"}, accept=accept)
    assert (answer[0], answer[1]["allow"], answer[2]) == (
        405,
        "GET, POST",
        {
            "errors": [
                {
                    "message": "GraphQL only supports GET and POST requests.",
                    "extensions": {"code": "METHOD_NOT_ALLOWED"},
                }
            ]
        },
    )
    # GetOperation comes first: with several operations and no operationName none is
    # selected, whatever the first one is (a request error, not a 405).
    answer = await graphql("GET", {"query": f"{SEND} query A {{ __typename }}"}, accept=accept)
    assert answer[::2] == (
        200 if accept != GRAPHQL_JSON else 400,
        {"errors": [OPERATION_NAME_REQUIRED]}
        if accept == GRAPHQL_JSON
        else {"data": None, "errors": [OPERATION_NAME_REQUIRED]},
    )
    # A query by GET runs.
    answer = await graphql("GET", {"query": "{ me { username } }"}, token=alice.token)
    assert answer[::2] == (200, {"data": {"me": {"username": "alice"}}})


SUBSCRIPTION_OVER_HTTP = {
    "message": "Subscriptions are not served over plain HTTP requests: subscribe over the "
    "websocket at /graphql/ (graphql-transport-ws or graphql-ws), or send this request with "
    "Accept: text/event-stream (Server-Sent Events) or Accept: "
    "multipart/mixed;subscriptionSpec=1.0 (multipart HTTP).",
    "extensions": {"code": "BAD_REQUEST"},
}


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_subscription_as_a_plain_request_names_the_transports(
    caplog: pytest.LogCaptureFixture, method: str
) -> None:
    # (GraphiQL sends one as a POST when Run is pressed before its websocket is up.)
    query = {"query": 'subscription { messageAdded(room: "lobby") { text } }'}
    answer = await graphql(method, query)
    assert answer[::2] == (200, {"data": None, "errors": [SUBSCRIPTION_OVER_HTTP]})
    answer = await graphql(method, query, accept=GRAPHQL_JSON)
    assert answer[::2] == (400, {"errors": [SUBSCRIPTION_OVER_HTTP]})
    # A subscription first among several operations, none named: none is selected.
    named = query["query"].replace("subscription", "subscription S")
    two = {"query": f"{named} query A {{ __typename }}"}
    answer = await graphql(method, two, accept=GRAPHQL_JSON)
    assert answer[::2] == (400, {"errors": [OPERATION_NAME_REQUIRED]})
    assert no_errors_logged(caplog)


async def test_requests_that_are_not_graphql_requests_are_400_in_both() -> None:
    # "A request that does not constitute a well-formed GraphQL-over-HTTP request SHOULD
    # result in status code 400 (Bad Request)." (in both media types)
    for accept in (None, GRAPHQL_JSON):
        answer = await graphql("POST", {"qeury": "{ __typename }"}, accept=accept)
        assert answer[::2] == (
            400,
            {
                "errors": [
                    {
                        "message": "No GraphQL query found in the request.",
                        "extensions": {"code": "BAD_REQUEST"},
                    }
                ]
            },
        )
        answer = await graphql("POST", {"query": "{ __typename }", "variables": [7]}, accept=accept)
        assert answer[::2] == (
            400,
            {
                "errors": [
                    {
                        "message": "The GraphQL operation's `variables` must be an object or "
                        "null, if provided.",
                        "extensions": {"code": "BAD_REQUEST"},
                    }
                ]
            },
        )
        answer = await graphql(
            "POST", {"query": "{ __typename }", "operationName": 5}, accept=accept
        )
        assert answer[::2] == (
            400,
            {
                "errors": [
                    {
                        "message": "The GraphQL operation's `operationName` must be a string or "
                        "null, if provided.",
                        "extensions": {"code": "BAD_REQUEST"},
                    }
                ]
            },
        )
        # "Requests that the server cannot interpret SHOULD result in status code 400"
        answer = await graphql("POST", None, accept=accept, raw_body=b'{"query":')
        assert answer[::2] == (
            400,
            {
                "errors": [
                    {
                        "message": "The body is not valid JSON.",
                        "extensions": {"code": "BAD_USER_INPUT"},
                    }
                ]
            },
        )


STALE = {"message": "Invalid or expired token.", "extensions": {"code": "UNAUTHENTICATED"}}
MALFORMED = {
    "message": "Authorization header must be `Bearer <token>`.",
    "extensions": {"code": "UNAUTHENTICATED"},
}
LOGIN = (
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { user { username } } }"
)
REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { user { username } } }"  # noqa: E501


@pytest.mark.parametrize(
    "authorization", ["stale", "Bearer not-a-token", "Basic YWxpY2U6cHc=", "Bearer "]
)
async def test_login_and_register_ignore_the_authorization_header(
    alice: factories.Member, authorization: str
) -> None:
    if authorization == "stale":
        await sync_to_async(AuthToken.objects.update)(revoked_at="2026-01-01T00:00:00Z")
        authorization = f"Bearer {alice.token}"
    variables = {"u": "alice", "p": factories.PASSWORD}
    for accept in (None, GRAPHQL_JSON):
        answer = await graphql(
            "POST", {"query": LOGIN, "variables": variables}, accept=accept,
            authorization=authorization,
        )  # fmt: skip
        assert answer[::2] == (200, {"data": {"login": {"user": {"username": "alice"}}}})
    answer = await graphql(
        "POST",
        {"query": REGISTER, "variables": {"u": "newcomer", "p": factories.PASSWORD}},
        authorization=authorization,
    )
    assert answer[::2] == (200, {"data": {"register": {"user": {"username": "newcomer"}}}})


@pytest.mark.parametrize("authorization", ["stale", "Basic YWxpY2U6cHc="])
async def test_other_operations_with_a_stale_token_are_unauthenticated(
    alice: factories.Member, authorization: str
) -> None:
    error = MALFORMED
    if authorization == "stale":
        await sync_to_async(AuthToken.objects.update)(revoked_at="2026-01-01T00:00:00Z")
        authorization, error = f"Bearer {alice.token}", STALE
    # application/json: "The server SHOULD use the 200 status code for every response to a
    # well-formed GraphQL-over-HTTP request" (and Apollo Client reads no application/json
    # body with a status >= 300).
    answer = await graphql("POST", {"query": SEND}, authorization=authorization)
    assert answer[::2] == (200, {"errors": [error]})
    assert "www-authenticate" not in answer[1]
    # application/graphql-response+json: "If the client is not permitted to issue the
    # GraphQL request then the server SHOULD reply with 403, 401 or similar appropriate
    # status code." (RFC 9110: a 401 carries WWW-Authenticate.)
    status, headers, body = await graphql(
        "POST", {"query": SEND}, accept=GRAPHQL_JSON, authorization=authorization
    )
    assert (status, headers["content-type"], body) == (401, GRAPHQL_JSON_UTF8, {"errors": [error]})
    assert headers["www-authenticate"] == 'Bearer error="invalid_token"'
    # A login hidden beside another field, or by operationName, is not a sign-in.
    login = f'login(username: "alice", password: "{factories.PASSWORD}") {{ token }}'
    mixed = f"mutation {{ {login} logout }}"
    answer = await graphql("POST", {"query": mixed}, authorization=authorization)
    assert answer[::2] == (200, {"errors": [error]})
    two = f"{LOGIN.replace('mutation', 'mutation In')} {SEND}"
    answer = await graphql(
        "POST",
        {"query": two, "operationName": "C", "variables": {"u": "a", "p": "b"}},
        authorization=authorization,
    )
    assert answer[::2] == (200, {"errors": [error]})
    assert await Message.objects.acount() == 0
