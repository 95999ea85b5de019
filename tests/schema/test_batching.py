"""Relation fields are batched: a page costs the same number of queries for 2 rows as
for 50, whatever each row's author, room, creator and members."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import connections

from chat import accounts, posting, services
from chat.db import in_thread
from tests.conftest import GraphQLHttp

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded, pytest.mark.contract]

MESSAGES = """
query {
  messages(room: "lobby", last: 50) {
    edges { node {
      seq text
      author { username }
      room { name createdBy { username } members { username } }
    } }
  }
}
"""
ROOMS = """
query {
  rooms(first: 50) {
    edges { node { name createdBy { username } members { username } } }
  }
}
"""


def _connection() -> Any:
    connection = connections["default"]
    connection.ensure_connection()
    return connection


async def orm_connections(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, Any]:
    """The database connections of the ORM thread (chat.db), of the sync thread where
    strawberry-django resolves what is not loaded, and of the event loop's thread."""
    # Counting queries opens (and reads) each connection from this thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return await in_thread(_connection)(), await sync_to_async(_connection)(), _connection()


def users(count: int) -> list[User]:
    # No password: hashing 50 would take seconds.
    return [User.objects.create_user(f"user{n:02}") for n in range(count)]


def messages_by_distinct_authors(count: int) -> None:
    owner = User.objects.create_user("owner")
    services.room_create(name="lobby", private=False, creator=owner)
    for user in users(count):
        services.room_join(name="lobby", user=user)
        posting.message_create(room_name="lobby", author=user, text=f"from {user.username}")


def rooms_of_distinct_creators(count: int) -> None:
    for user in users(count):
        services.room_create(name=f"room-{user.username}", private=False, creator=user)


@pytest.mark.parametrize("rows", [2, 50])
async def test_a_page_of_messages_costs_the_same_queries_for_2_rows_as_for_50(
    rows: int, django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sync_to_async(messages_by_distinct_authors)(rows)
    orm, sync, loop = await orm_connections(monkeypatch)
    # Is the room visible, the page (with authors and rooms), is there a page before and
    # after, then one query for every room's creator and one for every room's members.
    with (
        django_assert_num_queries(6, connection=orm),
        django_assert_num_queries(0, connection=sync),
        django_assert_num_queries(0, connection=loop),
    ):
        result = await GraphQLHttp()(MESSAGES)
    edges = result["data"]["messages"]["edges"]
    members = [{"username": "owner"}] + [{"username": f"user{n:02}"} for n in range(rows)]
    assert [edge["node"] for edge in edges] == [
        {
            "seq": n + 1,
            "text": f"from user{n:02}",
            "author": {"username": f"user{n:02}"},
            "room": {"name": "lobby", "createdBy": {"username": "owner"}, "members": members},
        }
        for n in range(rows)
    ]


@pytest.mark.parametrize("rows", [2, 50])
async def test_a_page_of_rooms_costs_the_same_queries_for_2_rows_as_for_50(
    rows: int, django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sync_to_async(rooms_of_distinct_creators)(rows)
    orm, sync, loop = await orm_connections(monkeypatch)
    # The page, then one query for every room's creator and one for every room's members.
    with (
        django_assert_num_queries(3, connection=orm),
        django_assert_num_queries(0, connection=sync),
        django_assert_num_queries(0, connection=loop),
    ):
        result = await GraphQLHttp()(ROOMS)
    nodes = [edge["node"] for edge in result["data"]["rooms"]["edges"]]
    assert sorted(nodes, key=lambda node: node["name"]) == [
        {
            "name": f"room-user{n:02}",
            "createdBy": {"username": f"user{n:02}"},
            "members": [{"username": f"user{n:02}"}],
        }
        for n in range(rows)
    ]


async def test_members_lists_at_most_a_page_as_the_cost_rule_counts_it() -> None:
    # The cost rule counts `members` as CHAT_MAX_PAGE_SIZE users: a bigger room must not
    # render more than that (the first by username), or aliases multiply the difference.
    from django.conf import settings
    from django.test import override_settings

    def room_of_five() -> None:
        users = [accounts.user_register(username=f"m{n}", password="x" * 12) for n in range(5)]
        room = services.room_create(name="big", private=False, creator=users[4])
        room.members.add(*users)

    await sync_to_async(room_of_five)()
    query = '{ a: room(name: "big") { members { username } } b: rooms { edges { node { members { username } } } } }'  # noqa: E501
    with override_settings(CHAT={**settings.CHAT, "MAX_PAGE_SIZE": 3}):
        result = await GraphQLHttp()(query)
    first = [{"username": name} for name in ("m0", "m1", "m2")]
    assert result == {
        "data": {"a": {"members": first}, "b": {"edges": [{"node": {"members": first}}]}}
    }
