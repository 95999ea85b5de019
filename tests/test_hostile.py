"""Hostile input: random schema-valid operations, markup and SQL in text, huge frames."""

from __future__ import annotations

import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from hypothesis import HealthCheck, given, settings
from hypothesis_graphql import mutations, queries

from chat.models import Message, Room
from schema import schema
from tests import factories
from tests.conftest import GraphQLHttp

pytestmark = pytest.mark.django_db(transaction=True)

SDL = schema.as_str()
# Codes a client may see for bad input; anything else (INTERNAL_SERVER_ERROR) is a bug.
CLIENT_CODES = {
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "RATE_LIMITED",
    "GRAPHQL_VALIDATION_FAILED",
    "GRAPHQL_PARSE_FAILED",
    "QUERY_TOO_COMPLEX",
}


def check_response(status: int, body: dict[str, Any]) -> None:
    assert status == 200, (status, body)
    for error in body.get("errors") or []:
        assert error["extensions"]["code"] in CLIENT_CODES, error


def check_storage() -> None:
    for room in Room.objects.all():
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", room.name)
    for message in Message.objects.all():
        assert message.text == message.text.strip()
        assert 1 <= len(message.text) <= 4000
        assert "\x00" not in message.text


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_random_schema_valid_operations_never_fail_the_server() -> None:
    member = factories.member("fuzzer")
    http = GraphQLHttp(member.token)
    post = async_to_sync(http.post)

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(query=queries(SDL) | mutations(SDL, fields=["sendMessage", "register", "login"]))
    def run(query: str) -> None:
        check_response(*post(query))

    run()
    check_storage()


async def test_markup_and_sql_in_text_are_stored_and_returned_as_given(
    alice: factories.Member,
) -> None:
    text = "<script>alert('x')</script> '; DROP TABLE chat_message; -- \" & \\u0000? ✓"
    send = 'mutation($t: String!) { sendMessage(room: "lobby", text: $t) { text } }'
    assert await GraphQLHttp(alice.token)(send, {"t": text}) == {
        "data": {"sendMessage": {"text": text}}
    }
    assert await sync_to_async(lambda: Message.objects.get().text)() == text
    page = await GraphQLHttp()('{ messages(room: "lobby") { edges { node { text } } } }')
    assert page == {"data": {"messages": {"edges": [{"node": {"text": text}}]}}}
