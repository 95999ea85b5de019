"""Posts in batches: posting.messages_create and the event loop's batcher (realtime.batcher)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, connections
from django.utils import timezone

from chat import events, posting, services
from chat.errors import Forbidden, InvalidInput
from chat.events import MESSAGE_KIND
from chat.models import Message, Room
from chat.posting import Post
from realtime import publisher
from realtime.hub import get_hub
from realtime.publisher import MAX_PAYLOADS_PER_EVENT as MAX
from schema.mutations import message_post
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def rows() -> list[tuple[str, int, str, str]]:
    return list(
        Message.objects.order_by("room__name", "seq").values_list(
            "room__name", "seq", "author__username", "text"
        )
    )


@pytest.mark.embedded
def test_a_batch_is_one_statement_and_numbers_each_rooms_posts_in_order(
    django_assert_num_queries: Any,
) -> None:
    alice = factories.member("alice").user
    posting.message_create(room_name="a", author=alice, text="a1")
    posting.message_create(room_name="b", author=alice, text="b1")
    posts = [Post("a", alice, " a2 "), Post("b", alice, "b2"), Post("a", alice, "a3")]
    # PostgreSQL: one statement for the batch; SQLite: each post as message_create.
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 21):
        results = posting.messages_create(posts)
    assert [(m.room.name, m.seq, m.text) for m in results] == [  # type: ignore[union-attr]
        ("a", 2, "a2"),
        ("b", 2, "b2"),
        ("a", 3, "a3"),
    ]
    assert rows() == [
        ("a", 1, "alice", "a1"),
        ("a", 2, "alice", "a2"),
        ("a", 3, "alice", "a3"),
        ("b", 1, "alice", "b1"),
        ("b", 2, "alice", "b2"),
    ]
    assert dict(Room.objects.values_list("name", "last_seq")) == {"a": 3, "b": 2}


@pytest.mark.embedded
def test_each_refused_post_of_a_batch_fails_alone() -> None:
    alice, bob = factories.member("alice").user, factories.member("bob").user
    services.room_create(name="secret", private=True, creator=alice)
    posting.message_create(room_name="a", author=alice, text="a1")
    results = posting.messages_create(
        [
            Post("a", bob, "a2"),
            Post("secret", bob, "not a member"),
            Post("bad name!", alice, "x"),
            Post("a", alice, "   "),
            Post("new", bob, "new1"),
            Post("secret", alice, "s1"),
            Post("a", alice, "a3"),
        ]
    )
    assert [
        (type(r).__name__, str(r)) if isinstance(r, Exception) else (r.room.name, r.seq)
        for r in results
    ] == [
        ("a", 2),
        ("Forbidden", "You are not a member of this room."),
        (
            "InvalidInput",
            "Room name must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'.",
        ),
        ("InvalidInput", "Message text must not be empty."),
        # A missing public room is created by its first post, after the batch.
        ("new", 1),
        ("secret", 1),
        ("a", 3),
    ]
    assert isinstance(results[1], Forbidden) and isinstance(results[3], InvalidInput)
    assert rows() == [
        ("a", 1, "alice", "a1"),
        ("a", 2, "bob", "a2"),
        ("a", 3, "alice", "a3"),
        ("new", 1, "bob", "new1"),
        ("secret", 1, "alice", "s1"),
    ]


@pytest.mark.embedded
def test_each_post_of_a_batch_counts_towards_its_authors_rate_limit(settings: Any) -> None:
    settings.CHAT = {**settings.CHAT, "RATE_LIMIT": (2, 3600)}
    alice, bob = factories.member("alice").user, factories.member("bob").user
    results = posting.messages_create(
        [
            Post("a", alice, "1"),
            # Invalid posts are not counted.
            Post("a", alice, "  "),
            Post("a", alice, "2"),
            Post("a", bob, "b"),
            Post("a", alice, "3"),
        ]
    )
    assert [r.seq if isinstance(r, Message) else (type(r).__name__, str(r)) for r in results] == [
        1,
        ("InvalidInput", "Message text must not be empty."),
        2,
        3,
        ("RateLimited", "Too many messages: at most 2 every 3600 seconds."),
    ]
    assert rows() == [("a", 1, "alice", "1"), ("a", 2, "alice", "2"), ("a", 3, "bob", "b")]


@pytest.mark.embedded
def test_a_post_that_breaks_the_statement_does_not_take_its_batch_with_it() -> None:
    alice = factories.member("alice").user
    posting.message_create(room_name="a", author=alice, text="a1")
    # Deleted since it signed in: its row would break the author foreign key.
    ghost = User(pk=999_999, username="ghost")
    results = posting.messages_create(
        [Post("a", alice, "a2"), Post("a", ghost, "boo"), Post("a", alice, "a3")]
    )
    assert [r.seq for r in results if isinstance(r, Message)] == [2, 3]
    assert isinstance(results[1], IntegrityError)
    assert rows() == [("a", 1, "alice", "a1"), ("a", 2, "alice", "a2"), ("a", 3, "alice", "a3")]
    assert Room.objects.get(name="a").last_seq == 3


class Batches:
    """The size of every batch the ORM thread runs; it holds each until ``gate`` is set."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.started = threading.Event()
        self.gate = threading.Event()
        self.gate.set()


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> Batches:
    batches = Batches()
    create = posting.messages_create

    def recorded(posts: Sequence[Post]) -> list[Message | Exception]:
        batches.sizes.append(len(posts))
        batches.started.set()
        batches.gate.wait(10)
        return create(posts)

    monkeypatch.setattr(posting, "messages_create", recorded)
    return batches


@pytest.mark.embedded
async def test_posts_made_together_go_in_one_batch_and_reach_subscribers_in_order(
    alice: factories.Member, batches: Batches
) -> None:
    async with get_hub().subscribe(MESSAGE_KIND, "a", None) as subscriber:
        posted = await asyncio.gather(
            *(
                message_post(room_name="ab"[n % 2], author=alice.user, text=f"m{n}")
                for n in range(20)
            )
        )
        delivered = [await subscriber.queue.get() for _ in range(10)]
    assert batches.sizes == [20]
    assert [(m.room.name, m.seq, m.text) for m in posted] == [
        ("ab"[n % 2], n // 2 + 1, f"m{n}") for n in range(20)
    ]
    assert [(e.value.seq, e.value.text) for e in delivered if e is not None] == [
        (n + 1, f"m{2 * n}") for n in range(10)
    ]


@pytest.mark.embedded
async def test_posts_made_while_a_batch_runs_go_in_the_next(
    alice: factories.Member, batches: Batches
) -> None:
    batches.gate.clear()
    first = asyncio.ensure_future(message_post(room_name="a", author=alice.user, text="1"))
    # Its batch is held in the ORM thread until the gate opens.
    assert await asyncio.to_thread(batches.started.wait, 10)
    later = [
        asyncio.ensure_future(message_post(room_name="a", author=alice.user, text=str(n)))
        for n in range(2, 6)
    ]
    # One loop pass: each later post is queued, none started a batch of its own.
    await asyncio.sleep(0)
    batches.gate.set()
    messages = [await first, *[await post for post in later]]
    assert batches.sizes == [1, 4]
    assert [(m.seq, m.text) for m in messages] == [(n, str(n)) for n in range(1, 6)]


# PostgreSQL only: its row locks (SQLite takes one lock for the whole database).
def test_batches_over_the_same_rooms_in_opposite_orders_do_not_deadlock(settings: Any) -> None:
    settings.CHAT = {**settings.CHAT, "RATE_LIMIT": (0, 10)}
    alice = factories.member("alice").user
    rooms = [f"r{n}" for n in range(5)]
    for room in rooms:
        posting.message_create(room_name=room, author=alice, text="first")
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def poster(order: list[str]) -> None:
        try:
            start.wait()
            for _ in range(40):
                for result in posting.messages_create([Post(r, alice, "x") for r in order]):
                    if isinstance(result, Exception):
                        errors.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=poster, args=(order,)) for order in (rooms, rooms[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for room in rooms:
        seqs = list(Message.objects.filter(room__name=room).values_list("seq", flat=True))
        assert seqs == list(range(1, 82))
    assert set(Room.objects.values_list("last_seq", flat=True)) == {81}


@pytest.mark.embedded
async def test_a_post_from_async_code_is_persisted_once(alice: factories.Member) -> None:
    message = await message_post(room_name="a", author=alice.user, text="hello")
    assert await sync_to_async(rows)() == [("a", 1, "alice", "hello")]
    assert (message.seq, message.room.last_seq, message.author.pk) == (1, 1, alice.user.pk)


@pytest.mark.embedded
def test_queued_events_merge_per_room_in_order() -> None:
    def message(room: str, seq: int) -> events.MessageEvent:
        payload = {"seq": seq}
        return {"type": "chat.message", "room": room, "message": payload}  # type: ignore[typeddict-item]

    removed: events.MemberRemovedEvent = {
        "type": "chat.member_removed",
        "room": "a",
        "member": {"user_id": 7},
        "user_id": 7,
    }
    queued: list[Any] = [
        message("a", 1),
        message("b", 1),
        message("a", 2),
        removed,
        message("a", 3),
        message("c", 1),
        message("a", 4),
    ]
    assert publisher.events_merge(queued) == [
        {"type": "chat.messages", "room": "a", "messages": [{"seq": 1}, {"seq": 2}]},
        {"type": "chat.message", "room": "b", "message": {"seq": 1}},
        removed,
        {"type": "chat.messages", "room": "a", "messages": [{"seq": 3}, {"seq": 4}]},
        {"type": "chat.message", "room": "c", "message": {"seq": 1}},
    ]
    many = publisher.events_merge([message("a", n) for n in range(1, 2 * MAX + 2)])
    assert [[m["seq"] for m in e["messages"]] for e in many[:2]] == [  # type: ignore[typeddict-item]
        list(range(1, MAX + 1)),
        list(range(MAX + 1, 2 * MAX + 1)),
    ]
    assert many[2] == message("a", 2 * MAX + 1)


def test_a_process_of_the_previous_version_can_still_insert_rooms_and_messages() -> None:
    # Mid rolling upgrade, processes of the version before room events insert rooms and
    # messages without the columns it added: those need database defaults.
    author = factories.member("alice").user
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO chat_room (name, created_at, last_seq, last_activity_at, is_private,"
            " access_version) VALUES ('old', %s, 1, %s, false, 0)",
            [timezone.now(), timezone.now()],
        )
        cursor.execute(
            "INSERT INTO chat_message (room_id, seq, author_id, text, created_at)"
            " SELECT id, 1, %s, 'from before', %s FROM chat_room WHERE name = 'old'",
            [author.pk, timezone.now()],
        )
    message = Message.objects.select_related("room").get()
    assert (message.text, message.deleted, message.edited_at, message.reply_to_id) == (
        "from before",
        False,
        None,
        None,
    )
    assert (message.room.last_seq, message.room.last_event_seq) == (1, 0)
