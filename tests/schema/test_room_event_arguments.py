"""Query.roomEvents' page bounds and cursors, and Reaction.users(first:): out of range or
malformed is BAD_USER_INPUT, the whole answer exact."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from chat import messaging, posting, services
from tests import factories
from tests.conftest import GraphQLHttp
from tests.schema.test_errors import ROOM_ERROR, error, errors_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

PAGE = "{ roomEvents(ARGS) { edges { cursor node { eventSeq } } pageInfo { hasNextPage hasPreviousPage } } }"  # noqa: E501


def cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


async def page(arguments: str, token: str | None = None) -> dict[str, Any]:
    return await GraphQLHttp(token)(PAGE.replace("ARGS", arguments))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('room: "lobby", first: 101', "`first` must be between 0 and 100."),
        ('room: "lobby", first: -1', "`first` must be between 0 and 100."),
        ('room: "lobby", last: 101', "`last` must be between 0 and 100."),
        ('room: "lobby", last: -1', "`last` must be between 0 and 100."),
        ('room: "lobby", after: "bm9wZQ=="', "Invalid cursor."),
        ('room: "lobby", before: "%%%"', "Invalid cursor."),
        ('room: "lobby", after: ""', "Invalid cursor."),
        # A messages cursor (seq:1) is not a roomEvents one.
        (f'room: "lobby", after: "{cursor("seq:1")}"', "Invalid cursor."),
        (f'room: "lobby", before: "{cursor("event:")}"', "Invalid cursor."),
        (f'room: "lobby", after: "{cursor("event:-1")}"', "Invalid cursor."),
        (f'room: "lobby", after: "{cursor("event:²")}"', "Invalid cursor."),
        (f'room: "lobby", after: "{cursor("event:٣")}"', "Invalid cursor."),
        (f'room: "lobby", before: "{cursor("event:" + "9" * 19)}"', "Invalid cursor."),
        (f'room: "lobby", after: "{cursor("event:" + "1" * 5000)}"', "Invalid cursor."),
        ('room: "no spaces"', ROOM_ERROR),
    ],
)
async def test_room_events_rejects_bad_arguments(arguments: str, message: str) -> None:
    assert errors_of(await page(arguments)) == [error(message, "BAD_USER_INPUT", "roomEvents")]


async def test_room_events_takes_the_bounds_and_its_own_cursors(alice: factories.Member) -> None:
    await sync_to_async(services.room_create)(name="lobby", private=False, creator=alice.user)
    await sync_to_async(factories.messages)(room="lobby", author=alice.user, count=2)

    def edges(*seqs: int) -> list[dict[str, Any]]:
        return [{"cursor": cursor(f"event:{seq}"), "node": {"eventSeq": seq}} for seq in seqs]

    def result(seqs: list[int], has_next: bool, has_previous: bool) -> dict[str, Any]:
        return {
            "data": {
                "roomEvents": {
                    "edges": edges(*seqs),
                    "pageInfo": {"hasNextPage": has_next, "hasPreviousPage": has_previous},
                }
            }
        }

    assert await page('room: "lobby", first: 0') == result([], False, False)
    assert await page('room: "lobby", last: 0') == result([], False, False)
    assert await page('room: "lobby", first: 100') == result([1, 2, 3], False, False)
    assert await page('room: "lobby", last: 100') == result([1, 2, 3], False, False)
    after = f'room: "lobby", first: 1, after: "{cursor("event:1")}"'
    assert await page(after) == result([2], True, True)
    before = f'room: "lobby", last: 5, before: "{cursor("event:3")}"'
    assert await page(before) == result([1, 2], True, False)
    # Its cursors are not the messages connection's.
    messages = (
        f'{{ messages(room: "lobby", after: "{cursor("event:1")}") {{ edges {{ cursor }} }} }}'
    )
    assert errors_of(await GraphQLHttp()(messages)) == [
        error("Invalid cursor.", "BAD_USER_INPUT", "messages")
    ]


# The page as a literal: a variable one counts as the largest in the cost model.
REACTION_USERS = """
{
  messages(room: "lobby", first: 1) {
    edges { node { reactions { emoji users(first: FIRST) { username } } } }
  }
}
"""


async def test_reaction_users_first_is_0_to_50(
    alice: factories.Member, bob: factories.Member
) -> None:
    def setup() -> None:
        services.room_create(name="lobby", private=False, creator=alice.user)
        hello = posting.message_create(room_name="lobby", author=alice.user, text="hello")
        for member in (bob, alice):
            messaging.reaction_add(message_id=hello.pk, user=member.user, emoji="👍")

    await sync_to_async(setup)()
    gql = GraphQLHttp(alice.token)

    def users(*names: str) -> dict[str, Any]:
        reaction = {"emoji": "👍", "users": [{"username": name} for name in names]}
        return {"data": {"messages": {"edges": [{"node": {"reactions": [reaction]}}]}}}

    assert await gql(REACTION_USERS.replace("FIRST", "0")) == users()
    assert await gql(REACTION_USERS.replace("FIRST", "1")) == users("bob")
    assert await gql(REACTION_USERS.replace("FIRST", "50")) == users("bob", "alice")
    path = ["messages", "edges", 0, "node", "reactions", 0, "users"]
    for first in (-1, 51, 2**31 - 1):
        assert await gql(REACTION_USERS.replace("FIRST", str(first))) == {
            "data": None,
            "errors": [
                {
                    "message": "`first` must be between 0 and 50.",
                    "locations": [{"line": 4, "column": 38}],
                    "path": path,
                    "extensions": {"code": "BAD_USER_INPUT"},
                }
            ],
        }
