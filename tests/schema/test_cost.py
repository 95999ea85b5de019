"""Query cost (schema/cost.py): work amplification by aliases, fragments and lists is
refused before execution on every path; what legit clients send is not."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from graphql import (
    FragmentDefinitionNode,
    OperationDefinitionNode,
    get_introspection_query,
    parse,
    validate,
)

from chat import selectors
from chat.models import Message
from realtime.hub import get_hub
from schema import schema
from schema.cost import QueryCost, operation_cost
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, fast_paths_taken, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

ROOT = Path(__file__).resolve().parents[2]
MAX_COST = 10_000


def _aliases(prefix: str, count: int, selection: str) -> str:
    return " ".join(f"{prefix}{n}: {selection}" for n in range(count))


# The attacks. 151 tokens: 100 rows, each 20 times every member of its room.
FRAGMENT_OF_MEMBERS = (
    'query { messages(room: "lobby", last: 100) { edges { node { room { ...R } } } } } '
    "fragment R on Room { " + _aliases("m", 20, "members { id }") + " }"
)
# Ten aliases at each of five levels (455 tokens).
FIVE_LEVELS = (
    "query { ...Q } "
    "fragment Q on Query { "
    + _aliases("a", 10, 'messages(room: "lobby", last: 100) { ...C }')
    + " } fragment C on MessageConnection { "
    + _aliases("e", 10, "edges { ...E }")
    + " } fragment E on MessageEdge { "
    + _aliases("n", 10, "node { ...N }")
    + " } fragment N on Message { "
    + _aliases("r", 10, "room { ...R }")
    + " } fragment R on Room { "
    + _aliases("m", 10, "members { id }")
    + " }"
)
# 400 aliased introspection `types` (20 aliased __schema, each 20 aliased types).
INTROSPECTION = (
    "{ "
    + _aliases("s", 20, "__schema { ...S }")
    + " } fragment S on __Schema { "
    + _aliases("t", 20, "types { name fields { name } }")
    + " }"
)
# A post whose answer reads every member of the room 100 times.
MUTATION = (
    'mutation { sendMessage(room: "lobby", text: "hi") { room { '
    + _aliases("m", 100, "members { id }")
    + " } } }"
)
# Executed for every event.
SUBSCRIPTION = (
    'subscription { messageAdded(room: "lobby") { room { '
    + _aliases("m", 300, "members { id }")
    + " } } }"
)


def frontend_operations() -> dict[str, str]:
    """Every operation of the browser UI and the client tests, with the fragments it uses."""
    documents: dict[str, str] = {}
    for path in ("frontend/src/operations.ts", "frontend/tests/operations.ts"):
        blocks = re.findall(r"graphql\(`(.*?)`\)", (ROOT / path).read_text(), re.S)
        fragments = {
            match.group(1): block
            for block in blocks
            if (match := re.match(r"\s*fragment (\w+)", block))
        }
        for block in blocks:
            if match := re.match(r"\s*(?:query|mutation|subscription) (\w+)", block):
                # The fragments it spreads, and those they spread in turn.
                used: dict[str, str] = {}
                pending = [block]
                while pending:
                    text = pending.pop()
                    for name, fragment in fragments.items():
                        if f"...{name}" in text and name not in used:
                            used[name] = fragment
                            pending.append(fragment)
                name = match.group(1)
                if name in documents:
                    # The client tests' own version of a UI operation.
                    name += " (client tests)"
                documents[name] = block + "".join(used.values())
    return documents


GRAPHIQL_INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
    one_of=True,
)


def cost_of(query: str) -> int:
    document = parse(query)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    (operation,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return operation_cost(schema._schema, operation, fragments, largest_page=100)


def too_complex(cost: int) -> dict[str, Any]:
    return {
        "message": f"This operation would cost {cost}, more than the limit of {MAX_COST}: "
        "ask for fewer fields, aliases or smaller pages.",
        "locations": [{"line": 1, "column": 1}],
        "extensions": {"code": "QUERY_TOO_COMPLEX", "cost": cost, "maxCost": MAX_COST},
    }


ATTACKS = {
    "fragment of members": (FRAGMENT_OF_MEMBERS, 220_301),
    "five levels": (FIVE_LEVELS, 1_101_101_100),
    "introspection": (INTROSPECTION, 106_420),
    "mutation": (MUTATION, 11_011),
    "subscription": (SUBSCRIPTION, 33_002),
}


def test_costs_of_the_attacks_and_of_what_clients_send() -> None:
    assert {name: cost_of(query) for name, (query, _) in ATTACKS.items()} == {
        name: cost for name, (_, cost) in ATTACKS.items()
    }
    assert {name: cost_of(query) for name, query in frontend_operations().items()} == {
        "Register": 13,
        "Login": 13,
        "Logout": 10,
        "RoomPosition": 101,
        # A page of 50 with reactions, replies and mentions: the UI's heaviest.
        "MessagePage": 6_354,
        "SendMessage": 11,
        "EditMessage": 11,
        "DeleteMessage": 11,
        "AddReaction": 11,
        "RemoveReaction": 11,
        # Per event: the costliest event type (one with a message and its reactions).
        "RoomEvents": 129,
        # 50 rooms, each with its members (to name a direct room by the other one).
        "MyRooms": 6_301,
        "Inbox": 127,
        "DirectRoom": 11,
        "CreateRoom": 11,
        "InviteToRoom": 11,
        "LeaveRoom": 10,
        "RoomPresence": 291,
        "SetTyping": 10,
        "MarkRead": 21,
        "RoomSignals": 14,
        # The client tests'.
        "SignUp": 13,
        "Post": 19,
        "History": 163,
        "Feed": 10,
        "RoomHistory": 3_333,
        "Messages": 3_211,
        "CreateRoom (client tests)": 11,
        "JoinRoom": 11,
        "LeaveRoom (client tests)": 10,
        "Send": 320,
        "Edit": 320,
        "Delete": 320,
        "React": 320,
        "Unreact": 320,
        "RoomEvents (client tests)": 323,
    }
    # 400 aliased `__schema { types { name } }` (3,600 tokens: only with a raised token
    # limit) are over the default limit too.
    assert cost_of("{ " + _aliases("s", 400, "__schema { types { name } }") + " }") == 19_200
    # Root fields make their own round trips per alias (`messages`: three or four): 100
    # aliased pages of one are over the limit (they ran ~400 queries on the ORM thread).
    one_each = 'messages(room: "general", last: 1) { edges { node { id } } }'
    assert cost_of("{ " + _aliases("m", 100, one_each) + " }") == 10_300
    # What GraphiQL asks at start-up (grows with the schema: sendMessage's clientId added 35).
    assert cost_of(GRAPHIQL_INTROSPECTION) == 9_407
    # Pages count the page asked for, at most the largest.
    page = 'query { messages(room: "r", last: %s) { edges { node { seq } } } }'
    sizes = ("0", "1", "50", "100", "5000", "$n")
    assert [cost_of(page % size) for size in sizes] == [101, 103, 201, 301, 301, 301]

    # A fragment spread twice at each of 20 levels is costed in linear time (and costs
    # each spread: more than the executor, which merges them, does).
    def chain(levels: int) -> str:
        spreads = " ".join(
            f"fragment F{n} on Room {{ ...F{n + 1} ...F{n + 1} }}" for n in range(levels)
        )
        return f'{{ room(name: "r") {{ ...F0 }} }} {spreads} fragment F{levels} on Room {{ id }}'

    assert cost_of(chain(20)) == 100 + 2**20
    # Exact, however large (1,800 tokens: within the token limit).
    assert cost_of(chain(200)) == 100 + 2**200


def test_the_limit_is_a_setting_and_0_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    document = parse(FIVE_LEVELS)
    assert [e.extensions for e in validate(schema._schema, document, [QueryCost])] == [
        {"code": "QUERY_TOO_COMPLEX", "cost": 1_101_101_100, "maxCost": MAX_COST}
    ]
    monkeypatch.setitem(settings.CHAT, "MAX_QUERY_COST", 0)
    assert validate(schema._schema, document, [QueryCost]) == []
    monkeypatch.setitem(settings.CHAT, "MAX_QUERY_COST", 6_354)
    recent = parse(frontend_operations()["MessagePage"])
    assert validate(schema._schema, recent, [QueryCost]) == []
    monkeypatch.setitem(settings.CHAT, "MAX_QUERY_COST", 6_353)
    assert [e.extensions for e in validate(schema._schema, recent, [QueryCost])] == [
        {"code": "QUERY_TOO_COMPLEX", "cost": 6_354, "maxCost": 6_353}
    ]


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the selectors the resolvers called: none for a refused operation."""
    calls: list[str] = []
    for name in ("room_message_page", "room_get", "room_list"):
        original = getattr(selectors, name)

        def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(selectors, name, spy)
    return calls


def stored_texts() -> list[str]:
    return list(Message.objects.order_by("seq").values_list("text", flat=True))


@pytest.mark.parametrize(
    "attack", ["fragment of members", "five levels", "introspection", "mutation"]
)
async def test_attacks_over_http_are_refused_before_execution(
    attack: str, executed: list[str], alice: factories.Member
) -> None:
    query, cost = ATTACKS[attack]
    await sync_to_async(factories.messages)(room="lobby", author=alice.user, count=3)
    status, body = await GraphQLHttp(alice.token).post(query)
    assert (status, body) == (200, {"data": None, "errors": [too_complex(cost)]})
    assert executed == []
    assert await sync_to_async(stored_texts)() == ["message 1", "message 2", "message 3"]


async def test_attacks_over_graphql_transport_ws_are_refused_before_execution(
    sockets: list[GraphQLSocket], executed: list[str], alice: factories.Member
) -> None:
    socket = GraphQLSocket()
    sockets.append(socket)
    assert await socket.connect({"authToken": alice.token}) == {"type": "connection_ack"}
    for n, (query, cost) in enumerate(ATTACKS.values()):
        await socket.subscribe(f"op{n}", query)
        assert await socket.receive() == {
            "id": f"op{n}",
            "type": "error",
            "payload": [too_complex(cost)],
        }
    await socket.assert_silent()
    assert executed == []
    assert await sync_to_async(stored_texts)() == []
    # The refused subscription never started.
    assert get_hub().rooms == {}


async def test_subscription_attack_over_legacy_graphql_ws_is_refused(
    sockets: list[GraphQLSocket],
) -> None:
    # (The legacy protocol runs subscriptions only.)
    socket = GraphQLSocket("graphql-ws")
    sockets.append(socket)
    assert await socket.connect() == {"type": "connection_ack"}
    query, cost = ATTACKS["subscription"]
    await socket.subscribe("op", query)
    assert await socket.receive() == {"id": "op", "type": "error", "payload": too_complex(cost)}
    await socket.assert_silent()
    assert get_hub().rooms == {}


async def test_frontend_operations_and_graphiql_are_accepted(sockets: list[GraphQLSocket]) -> None:
    operations = frontend_operations()
    http = GraphQLHttp()
    status, body = await http.post(GRAPHIQL_INTROSPECTION)
    assert status == 200 and "errors" not in body and body["data"]["__schema"]["types"]
    register = await http(
        operations["Register"], {"username": "carol", "password": factories.PASSWORD}
    )
    token = register["data"]["register"]["token"]
    assert register["data"]["register"]["user"] == {"username": "carol"}

    socket = GraphQLSocket()
    sockets.append(socket)
    assert await socket.connect({"authToken": token}) == {"type": "connection_ack"}
    # The page's own operations take their fast paths.
    with fast_paths_taken({"roomEvents": 1, "sendMessage": 1}):
        await socket.subscribe("feed", operations["RoomEvents"], {"room": "lobby"})
        await wait_for(lambda: get_hub().rooms == {"lobby": 1})
        await socket.subscribe("post", operations["SendMessage"], {"room": "lobby", "text": "hi"})
        frames = [await socket.receive() for _ in range(3)]
    (feed,) = [frame for frame in frames if frame["id"] == "feed"]
    event = feed["payload"]["data"]["roomEvents"]
    message = {
        "id": event["message"]["id"],
        "seq": 1,
        "text": "hi",
        "createdAt": event["message"]["createdAt"],
        "editedAt": None,
        "deleted": False,
        "author": {"username": "carol"},
        "replyTo": None,
        "reactions": [],
        "mentions": [],
    }
    assert sorted(frames, key=lambda frame: (frame["id"], frame["type"])) == [
        {
            "id": "feed",
            "type": "next",
            "payload": {
                "data": {
                    "roomEvents": {
                        "__typename": "MessagePosted",
                        "eventSeq": 1,
                        "at": message["createdAt"],
                        "message": message,
                    }
                }
            },
        },
        {"id": "post", "type": "complete"},
        {"id": "post", "type": "next", "payload": {"data": {"sendMessage": {"seq": 1}}}},
    ]
    page = await http(operations["MessagePage"], {"room": "lobby"})
    assert page == {
        "data": {
            "messages": {
                "edges": [{"node": message}],
                "pageInfo": {"hasPreviousPage": False, "startCursor": page_cursor(page)},
            }
        }
    }


def page_cursor(page: dict[str, Any]) -> str:
    return str(page["data"]["messages"]["pageInfo"]["startCursor"])
