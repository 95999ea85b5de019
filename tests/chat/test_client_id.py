"""sendMessage's clientId: an author's idempotency key, so that a retried post whose answer
was lost returns the message it made instead of posting again."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from chat import posting
from chat.errors import InvalidInput
from chat.models import Message, Room, RoomEvent
from chat.posting import Post
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, fast_paths_taken

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "5b0e4c1e-6a3e-4c1b-9a57-1f0c2c1c9d10"
SEND = """mutation Send($room: String!, $text: String!, $clientId: String) {
  sendMessage(room: $room, text: $text, clientId: $clientId) { id seq text author { username } }
}"""


def stored() -> list[tuple[str, int, str, str, str | None]]:
    return list(
        Message.objects.order_by("room__name", "seq").values_list(
            "room__name", "seq", "author__username", "text", "client_id"
        )
    )


@pytest.mark.embedded
def test_a_retry_with_the_same_key_returns_the_original_and_posts_nothing() -> None:
    alice = factories.member("alice").user
    first = posting.message_create(room_name="a", author=alice, text="hello", client_id=KEY)
    posting.message_create(room_name="a", author=alice, text="between")
    again = posting.message_create(room_name="a", author=alice, text="hello", client_id=KEY)
    assert (again.pk, again.seq, again.text, again.room.name) == (first.pk, 1, "hello", "a")
    assert again.author == alice
    assert stored() == [
        ("a", 1, "alice", "hello", KEY),
        ("a", 2, "alice", "between", None),
    ]
    assert RoomEvent.objects.filter(kind=RoomEvent.Kind.MESSAGE_POSTED).count() == 2


@pytest.mark.embedded
def test_a_key_is_the_authors_own() -> None:
    alice, bob = factories.member("alice").user, factories.member("bob").user
    mine = posting.message_create(room_name="a", author=alice, text="from alice", client_id=KEY)
    theirs = posting.message_create(room_name="a", author=bob, text="from bob", client_id=KEY)
    assert (mine.seq, theirs.seq) == (1, 2)
    assert stored() == [("a", 1, "alice", "from alice", KEY), ("a", 2, "bob", "from bob", KEY)]


@pytest.mark.embedded
def test_the_same_key_in_another_room_is_refused_and_stores_nothing() -> None:
    alice = factories.member("alice").user
    posting.message_create(room_name="a", author=alice, text="hello", client_id=KEY)
    with pytest.raises(InvalidInput, match="another room"):
        posting.message_create(room_name="b", author=alice, text="hello", client_id=KEY)
    assert stored() == [("a", 1, "alice", "hello", KEY)]


@pytest.mark.embedded
@pytest.mark.parametrize(
    "key", ["", "x" * 65, "has space", "tab\t", "é", "a/b", "a\x00", "👍", "semi;colon"]
)
def test_an_invalid_key_is_bad_user_input_and_stores_nothing(key: str) -> None:
    alice = factories.member("alice").user
    with pytest.raises(InvalidInput, match="clientId must be 1 to 64 characters"):
        posting.message_create(room_name="a", author=alice, text="hello", client_id=key)
    assert stored() == []


@pytest.mark.embedded
def test_the_longest_key_and_every_allowed_character() -> None:
    alice = factories.member("alice").user
    keys = ["x" * 64, "AZaz09._:-"]
    for n, key in enumerate(keys):
        posting.message_create(room_name="a", author=alice, text=f"m{n}", client_id=key)
    assert [row[4] for row in stored()] == keys


@pytest.mark.embedded
def test_one_batch_with_a_key_twice_stores_it_once() -> None:
    alice = factories.member("alice").user
    posts = [
        Post("a", alice, "one", client_id=KEY),
        Post("a", alice, "other"),
        Post("a", alice, "one", client_id=KEY),
    ]
    results = posting.messages_create(posts)
    assert [(m.pk, m.seq, m.text) for m in results] == [  # type: ignore[union-attr]
        (results[0].pk, 1, "one"),  # type: ignore[union-attr]
        (results[1].pk, 2, "other"),  # type: ignore[union-attr]
        (results[0].pk, 1, "one"),  # type: ignore[union-attr]
    ]
    assert stored() == [("a", 1, "alice", "one", KEY), ("a", 2, "alice", "other", None)]


@pytest.mark.embedded
def test_expired_keys_are_freed_and_may_post_again() -> None:
    alice = factories.member("alice").user
    old = posting.message_create(room_name="a", author=alice, text="old", client_id=KEY)
    recent = posting.message_create(room_name="a", author=alice, text="new", client_id="k2")
    Message.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - posting.CLIENT_ID_KEEP - timedelta(minutes=1)
    )
    assert posting.client_ids_expire(before=timezone.now() - posting.CLIENT_ID_KEEP) == 1
    again = posting.message_create(room_name="a", author=alice, text="old", client_id=KEY)
    kept = posting.message_create(room_name="a", author=alice, text="new", client_id="k2")
    assert (again.seq, kept.pk) == (3, recent.pk)
    assert [row[1:] for row in stored()] == [
        (1, "alice", "old", None),
        (2, "alice", "new", "k2"),
        (3, "alice", "old", KEY),
    ]


def _backends_waiting_for_a_lock() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def test_concurrent_posts_with_one_key_store_one_message() -> None:
    """Two posts with one key that both found no message under it yet (each its own
    process, say): the unique constraint makes the second wait for the first, fail, and
    answer with the first's message."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's row locks order the two inserts")
    alice = factories.member("alice").user
    posting.message_create(room_name="a", author=alice, text="first")
    answers: list[Any] = [None, None]

    def post(n: int) -> None:
        try:
            answers[n] = posting.message_create(
                room_name="a", author=alice, text="same", client_id=KEY
            )
        except Exception as error:  # recorded for the assertion
            answers[n] = error
        finally:
            connections.close_all()

    # Hold the room's row, which both inserts lock first, until both wait for it: both
    # have looked for the key by then and found nothing.
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT 1 FROM chat_room WHERE name = 'a' FOR UPDATE")
            threads = [threading.Thread(target=post, args=(n,)) for n in range(2)]
            for thread in threads:
                thread.start()
            deadline = timezone.now() + timedelta(seconds=10)
            while _backends_waiting_for_a_lock() < 2:
                assert timezone.now() < deadline, "the posts never waited for the room"
                threading.Event().wait(0.01)
            cursor.execute("COMMIT")
        for thread in threads:
            thread.join(10)
    finally:
        holder.close()
    assert all(isinstance(answer, Message) for answer in answers), answers
    assert answers[0].pk == answers[1].pk
    assert (answers[0].seq, answers[0].text) == (2, "same")
    assert stored() == [("a", 1, "alice", "first", None), ("a", 2, "alice", "same", KEY)]
    assert RoomEvent.objects.count() == 2


@pytest.mark.embedded
@pytest.mark.contract
async def test_sendmessage_retry_over_http_returns_the_same_answer(
    gql: GraphQLHttp, alice: factories.Member
) -> None:
    gql.token = alice.token
    variables = {"room": "a", "text": "hello", "clientId": KEY}
    first = await gql(SEND, variables)
    again = await gql(SEND, variables)
    assert again == first
    assert first["data"]["sendMessage"]["seq"] == 1
    bad = await gql(SEND, {**variables, "clientId": "no spaces"})
    assert bad["data"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in bad["errors"]] == [
        (["sendMessage"], "BAD_USER_INPUT")
    ]
    assert await sync_to_async(stored)() == [("a", 1, "alice", "hello", KEY)]


SEND_PLAIN = """mutation Send($room: String!, $text: String!, $clientId: String!) {
  sendMessage(room: $room, text: $text, clientId: $clientId) { id seq text author { username } }
}"""


@pytest.mark.contract
async def test_fast_path_and_standard_path_answer_retries_alike(
    sockets: list[GraphQLSocket], alice: factories.Member, fast_path_switch: Any
) -> None:
    cases = [
        (SEND_PLAIN, {"room": "a", "text": "one", "clientId": "k1"}),
        (SEND_PLAIN, {"room": "a", "text": "one", "clientId": "k1"}),  # retry
        (SEND, {"room": "a", "text": "one", "clientId": "k1"}),  # retry, coerced path
        (SEND, {"room": "a", "text": "two", "clientId": None}),
        (SEND, {"room": "a", "text": "three"}),
        (SEND_PLAIN, {"room": "b", "text": "one", "clientId": "k1"}),  # another room
        (SEND_PLAIN, {"room": "a", "text": "bad", "clientId": "not valid"}),
        (SEND_PLAIN, {"room": "a", "text": "bad", "clientId": "x" * 65}),
        (
            SEND_PLAIN.replace("$clientId: String!", "").replace("$clientId", '"k4"'),
            {"room": "a", "text": "literal"},
        ),
        (
            SEND_PLAIN.replace("$clientId: String!", "").replace("$clientId", '"k4"'),
            {"room": "a", "text": "literal"},
        ),
    ]
    results: dict[bool, list[Any]] = {}
    rows: dict[bool, list[Any]] = {}
    for on in (True, False):
        fast_path_switch(on)
        socket = GraphQLSocket()
        sockets.append(socket)
        assert await socket.connect({"authToken": alice.token}) == {"type": "connection_ack"}
        frames = []
        with fast_paths_taken({"sendMessage": len(cases)} if on else {"*": len(cases)}):
            for n, (query, variables) in enumerate(cases):
                await socket.send(
                    {
                        "id": f"p{n}",
                        "type": "subscribe",
                        "payload": {"query": query, "variables": variables},
                    }
                )
                frames.append([await socket.receive(), await socket.receive()])
        await socket.close()
        sockets.remove(socket)
        rows[on] = [row[1:] for row in await sync_to_async(stored)()]
        for frame in frames:
            data = frame[0]["payload"]["data"]
            if data is not None:
                data["sendMessage"].pop("id")
        results[on] = frames
        await sync_to_async(lambda: Room.objects.all().delete())()
    assert results[True] == results[False]
    answers = [
        frame[0]["payload"]["data"]
        or [error["extensions"]["code"] for error in frame[0]["payload"]["errors"]]
        for frame in results[True]
    ]
    one = {"sendMessage": {"seq": 1, "text": "one", "author": {"username": "alice"}}}
    literal = {"sendMessage": {"seq": 4, "text": "literal", "author": {"username": "alice"}}}
    assert answers == [
        one,
        one,
        one,
        {"sendMessage": {"seq": 2, "text": "two", "author": {"username": "alice"}}},
        {"sendMessage": {"seq": 3, "text": "three", "author": {"username": "alice"}}},
        ["BAD_USER_INPUT"],
        ["BAD_USER_INPUT"],
        ["BAD_USER_INPUT"],
        literal,
        literal,
    ]
    assert (
        rows[True]
        == rows[False]
        == [
            (1, "alice", "one", "k1"),
            (2, "alice", "two", None),
            (3, "alice", "three", None),
            (4, "alice", "literal", "k4"),
        ]
    )


@pytest.mark.embedded
def test_the_expiry_command_frees_only_keys_older_than_a_day() -> None:
    alice = factories.member("alice").user
    old = posting.message_create(room_name="a", author=alice, text="old", client_id="k1")
    posting.message_create(room_name="a", author=alice, text="new", client_id="k2")
    Message.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - posting.CLIENT_ID_KEEP - timedelta(seconds=1)
    )
    out = io.StringIO()
    call_command("expire_client_ids", stdout=out)
    assert out.getvalue() == "freed 1 clientIds\n"
    assert [row[4] for row in stored()] == [None, "k2"]
