"""graphql-transport-ws (enisdenjo/graphql-ws PROTOCOL.md) and legacy graphql-ws
(subscriptions-transport-ws PROTOCOL.md) as their protocols say, each test quoting the
line it enforces: errors before execution end that one operation, malformed messages close
the socket with 4400 and a reason."""

from __future__ import annotations

from typing import Any

import pytest

from chat.models import Message
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

ROOM = 'subscription { messageAdded(room: "lobby") { text } }'
SEND = 'mutation { sendMessage(room: "lobby", text: "still here") { text } }'
TWO_OPERATIONS = (
    'mutation C { sendMessage(room: "lobby", text: "no") { seq } } query A { me { id } }'
)
OPERATION_NAME_REQUIRED = {
    "message": "Must provide operation name if query contains multiple operations.",
    "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"},
}

# PROTOCOL.md, Error: "Operation execution error(s) in response to the Subscribe message.
# This can occur before execution starts, usually due to validation errors, or during the
# execution of the request. This message terminates the operation and no further messages
# will be sent."
BEFORE_EXECUTION: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
    (
        {"query": "subscription {"},
        [
            {
                "message": "Syntax Error: Expected Name, found <EOF>.",
                "locations": [{"line": 1, "column": 15}],
                "extensions": {"code": "GRAPHQL_PARSE_FAILED"},
            }
        ],
    ),
    (
        {"query": "subscription { nope }"},
        [
            {
                "message": "Cannot query field 'nope' on type 'Subscription'.",
                "locations": [{"line": 1, "column": 16}],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ],
    ),
    (
        {"query": "query A { me { id } }", "operationName": "B"},
        [
            {
                "message": 'Unknown operation named "B".',
                "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"},
            }
        ],
    ),
    # GraphQL spec, GetOperation: "If operationName is null: If document contains exactly
    # one operation, return the Operation contained in the document. Otherwise raise a
    # request error requiring operationName."
    ({"query": TWO_OPERATIONS}, [OPERATION_NAME_REQUIRED]),
    # GraphQL spec, CoerceVariableValues: "If hasValue is not true and defaultValue does
    # not exist [...] and variableType is a Non-Null type, raise a request error." (A
    # query or mutation too, whichever path serves it: not a "next" with null data.)
    (
        {
            "query": 'mutation($room: String!) { sendMessage(room: $room, text: "no") { seq } }',
            "variables": {"room": 5},
        },
        [
            {
                "message": "Variable '$room' has invalid value: String cannot represent a "
                "non string value: 5",
                "locations": [{"line": 1, "column": 10}],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ],
    ),
    (
        {"query": "query($name: String!) { room(name: $name) { name } }", "variables": {}},
        [
            {
                "message": "Variable '$name' has invalid value: Expected a value of non-null "
                "type 'String!' to be provided.",
                "locations": [{"line": 1, "column": 7}],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ],
    ),
]


def assert_nothing_logged(caplog: pytest.LogCaptureFixture) -> None:
    """No error was logged (Strawberry logs a traceback for what it masks)."""
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


async def lobby_subscriber(sockets: list[GraphQLSocket], protocol: str) -> GraphQLSocket:
    socket = GraphQLSocket(protocol)
    sockets.append(socket)
    assert await socket.connect() == {"type": "connection_ack"}
    await socket.subscribe("live", ROOM)
    return socket


async def assert_still_subscribed(socket: GraphQLSocket, alice: factories.Member) -> None:
    """The socket's subscription ``live`` still receives what is posted."""
    assert await GraphQLHttp(alice.token)(SEND) == {"data": {"sendMessage": {"text": "still here"}}}
    kind = "next" if socket.protocol == "graphql-transport-ws" else "data"
    assert await socket.receive() == {
        "id": "live",
        "type": kind,
        "payload": {"data": {"messageAdded": {"text": "still here"}}},
    }


# Legacy graphql-ws runs subscriptions only (a mutation first is refused as such).
TWO_SUBSCRIPTIONS = (
    f"subscription A {ROOM[len('subscription ') :]} subscription B {{ inbox {{ __typename }} }}"
)
LEGACY_BEFORE_EXECUTION = [
    *BEFORE_EXECUTION[:3],
    ({"query": TWO_SUBSCRIPTIONS}, [OPERATION_NAME_REQUIRED]),
]
TRANSPORT_WS, GRAPHQL_WS = "graphql-transport-ws", "graphql-ws"


def start(protocol: str, payload: dict[str, Any]) -> dict[str, Any]:
    kind = "subscribe" if protocol == TRANSPORT_WS else "start"
    return {"id": "bad", "type": kind, "payload": payload}


@pytest.mark.parametrize(
    ("protocol", "payload", "errors"),
    [(TRANSPORT_WS, *case) for case in BEFORE_EXECUTION]
    + [(GRAPHQL_WS, *case) for case in LEGACY_BEFORE_EXECUTION],
)
async def test_an_error_before_execution_ends_only_that_operation(
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    caplog: pytest.LogCaptureFixture,
    protocol: str,
    payload: dict[str, Any],
    errors: list[dict[str, Any]],
) -> None:
    # Legacy: subscriptions-transport-ws PROTOCOL.md, GQL_ERROR: "Server sends this message
    # upon a failing operation, before the GraphQL execution, usually due to GraphQL
    # validation errors (resolver errors are part of GQL_DATA message, and will be added
    # as errors array)". Its payload is one error.
    error = errors if protocol == TRANSPORT_WS else errors[0]
    socket = await lobby_subscriber(sockets, protocol)
    await socket.send(start(protocol, payload))
    assert await socket.receive() == {"id": "bad", "type": "error", "payload": error}
    # "The server needs only keep track of IDs for as long as the subscription is active.
    # Once a client completes an operation, it is free to re-use that ID."
    await socket.send(start(protocol, payload))
    assert await socket.receive() == {"id": "bad", "type": "error", "payload": error}
    await assert_still_subscribed(socket, alice)
    assert await Message.objects.filter(text="no").acount() == 0
    assert_nothing_logged(caplog)


OBJECT_OR_NULL = "must be an object or null"
MALFORMED: list[tuple[dict[str, Any], str]] = [
    ({"query": 5}, "payload.query must be a string, not a number."),
    ({"query": None}, "payload.query must be a string, not null."),
    ({"query": ["{ me { id } }"]}, "payload.query must be a string, not an array."),
    ({"query": ROOM, "variables": [1]}, f"payload.variables {OBJECT_OR_NULL}, not an array."),
    ({"query": ROOM, "extensions": "x"}, f"payload.extensions {OBJECT_OR_NULL}, not a string."),
    ({"query": ROOM, "operationName": 1}, "payload.operationName must be a string or null, not a number."),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, GRAPHQL_WS])
@pytest.mark.parametrize(("payload", "problem"), MALFORMED)
async def test_a_malformed_operation_message(
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    caplog: pytest.LogCaptureFixture,
    protocol: str,
    payload: dict[str, Any],
    problem: str,
) -> None:
    socket = await lobby_subscriber(sockets, protocol)
    await socket.send(start(protocol, payload))
    if protocol == TRANSPORT_WS:
        # PROTOCOL.md, Invalid message: "Receiving a message of a type or format which is
        # not specified in this document will result in an immediate socket closure with
        # the event 4400: <error-message>." The format: "payload: { operationName?: string
        # | null; query: string; variables?: Record<string, unknown> | null; extensions?:
        # Record<string, unknown> | null; }".
        assert await socket.receive_close() == {
            "type": "websocket.close",
            "code": 4400,
            "reason": f"Invalid subscribe message: {problem}",
        }
    else:
        # subscriptions-transport-ws PROTOCOL.md, GQL_START: "payload: Object: query:
        # string : GraphQL operation as string [...] variables?: Object [...]
        # operationName?: string"; GQL_ERROR (above). It has no close code for a malformed
        # message: the operation ends, the socket goes on.
        assert await socket.receive() == {
            "id": "bad",
            "type": "error",
            "payload": {"message": problem, "extensions": {"code": "BAD_REQUEST"}},
        }
        await assert_still_subscribed(socket, alice)
    assert_nothing_logged(caplog)


async def test_a_subscribe_with_no_id_closes_with_4400(sockets: list[GraphQLSocket]) -> None:
    # PROTOCOL.md, Subscribe: "id: '<unique-operation-id>'".
    socket = await lobby_subscriber(sockets, "graphql-transport-ws")
    await socket.send({"id": "", "type": "subscribe", "payload": {"query": ROOM}})
    assert await socket.receive_close() == {
        "type": "websocket.close",
        "code": 4400,
        "reason": "Invalid subscribe message: id must not be empty.",
    }
