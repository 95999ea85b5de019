"""An inbox whose reader stops reading: its buffer overflows (posts and notices of any
room dropped), then it reads its rooms again and reports what changed, the room it was
invited to meanwhile included."""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings
from django.test import override_settings

from chat.events import INBOX_MESSAGE_KIND
from chat.signalling import RoomActivity, RoomJoined, UnreadChanged, user_key
from realtime.hub import get_hub
from realtime.inbox import inbox_stream
from tests import factories
from tests.conftest import GraphQLHttp, wait_for
from tests.schema.test_inbox import SEND, rooms_joined

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


async def test_an_overflowed_inbox_reads_its_rooms_again(
    alice: factories.Member, bob: factories.Member
) -> None:
    alices = GraphQLHttp(alice.token)
    await rooms_joined(alice, bob, rooms=("lobby", "hall"))
    hub = get_hub()
    with override_settings(CHAT={**settings.CHAT, "SUBSCRIBER_BUFFER": 2}):
        stream = inbox_stream(user_id=bob.user.pk, username="bob")
        first = asyncio.ensure_future(anext(stream))
        await wait_for(lambda: {"lobby", "hall", user_key(bob.user.pk)} <= set(hub.rooms))
        await alices(SEND, {"room": "hall", "text": "read"})
        activity = await first
        assert isinstance(activity, RoomActivity)
        assert (activity.room.name, activity.unread_count) == ("hall", 1)

        # Not read: a post and an invitation's notice fill the buffer; the next post
        # overflows it, which drops all three (and the post after it).
        await alices(SEND, {"room": "lobby", "text": "a"})
        await alices('mutation { createRoom(name: "secret", private: true) { name } }')
        await alices('mutation { inviteToRoom(room: "secret", username: "bob") { name } }')
        (notices,) = hub._rooms[user_key(bob.user.pk)]
        await wait_for(lambda: notices.queue.qsize() == 2)
        for text in ("b", "c"):
            await alices(SEND, {"room": "lobby", "text": text})
        (lobby,) = [s for s in hub._rooms["lobby"] if s.kind is INBOX_MESSAGE_KIND]
        await wait_for(lambda: lobby.overflowed)
        assert notices.queue.qsize() == 1  # only the wake-up

        # Read again: the rooms as they are now, what changed reported once.
        values = [await asyncio.wait_for(anext(stream), 10) for _ in range(2)]
        # Followed from now on.
        assert "secret" in hub.rooms
        await stream.aclose()
    assert sorted((type(v).__name__, v.room.name) for v in values) == [  # type: ignore[union-attr]
        ("RoomJoined", "secret"),
        ("UnreadChanged", "lobby"),
    ]
    (unread,) = [v for v in values if isinstance(v, UnreadChanged)]
    assert unread.unread_count == 3
    (joined,) = [v for v in values if isinstance(v, RoomJoined)]
    assert joined.room.unread_count == 0  # type: ignore[attr-defined]
    assert hub.rooms == {}
