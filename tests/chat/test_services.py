from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import signals
from django.utils import timezone

from chat import models as services_models
from chat import posting
from chat.events import MESSAGE_KIND
from chat.models import Message, Room
from realtime.hub import get_hub
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


class Rollback(Exception):
    pass


def create_then_roll_back(author: object) -> None:
    with pytest.raises(Rollback), transaction.atomic():
        posting.message_create(room_name="lobby", author=author, text="never")  # type: ignore[arg-type]
        raise Rollback


async def test_a_rolled_back_message_is_never_published(alice: factories.Member) -> None:
    async with get_hub().subscribe(MESSAGE_KIND, "lobby", None) as subscriber:
        await sync_to_async(create_then_roll_back)(alice.user)
        kept = await sync_to_async(posting.message_create)(
            room_name="lobby", author=alice.user, text="kept"
        )
        delivered = await subscriber.queue.get()
        assert delivered is not None
    # The rolled-back post took no seq and sent no event: the first event is the kept one.
    message = delivered.value
    assert (message.pk, message.seq, message.text) == (kept.pk, 1, "kept")
    assert subscriber.queue.empty()
    assert await sync_to_async(lambda: list(Message.objects.values_list("seq", "text")))() == [
        (1, "kept")
    ]


def test_message_create_counts_seq_per_room(
    django_assert_num_queries: object,
) -> None:
    from django.db import connection

    author = factories.member("alice").user
    posting.message_create(room_name="a", author=author, text="1")
    # PostgreSQL: one statement checks access, bumps the seq under the row lock and
    # inserts; SQLite: is the room private?, BEGIN, bump, read the room, insert the message
    # and its room event, COMMIT.
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 7):  # type: ignore[operator]
        second = posting.message_create(room_name="a", author=author, text="2")
    other = posting.message_create(room_name="b", author=author, text="1")
    assert (second.seq, other.seq) == (2, 1)
    assert Room.objects.get(name="a").last_seq == 2


def test_model_restore_builds_what_from_db_builds() -> None:
    created = timezone.now()
    values = {"id": 5, "room_id": 2, "seq": 7, "author_id": 3, "text": "hi", "created_at": created}
    restored = services_models.model_restore(Message, "default", values)
    loaded = Message.from_db("default", list(values), list(values.values()))
    assert {k: v for k, v in restored.__dict__.items() if k != "_state"} == {
        k: v for k, v in loaded.__dict__.items() if k != "_state"
    }
    assert (restored._state.adding, restored._state.db) == (False, "default")
    assert (loaded._state.adding, loaded._state.db) == (False, "default")
    user = services_models.model_restore(User, "default", {"id": 3, "username": "bob"})
    loaded_user = User.from_db("default", ["id", "username"], [3, "bob"])
    assert user.get_deferred_fields() == loaded_user.get_deferred_fields()
    assert (user.pk, user.get_username()) == (3, "bob")
    # What model_restore skips: nothing listens to these models' init signals.
    for model in (Message, Room, User):
        assert not signals.pre_init.has_listeners(model)
        assert not signals.post_init.has_listeners(model)
