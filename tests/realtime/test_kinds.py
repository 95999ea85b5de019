"""The engine is generic over event kinds: a kind registered here, and nowhere else,
streams through the hub, the publisher and the streams like messages do."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError
from django.db.models import F

import realtime.access
from chat import events, services
from chat.errors import Forbidden
from chat.kinds import EventKind, kind_register, kind_unregister
from chat.models import Room
from realtime import publisher
from realtime.hub import get_hub
from realtime.publisher import event_publish, events_merge, events_publish
from realtime.streams import event_stream
from realtime.subscriber import Envelope
from tests import factories
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# A durable kind's store: what its history reads (the database, for real kinds).
STORE: dict[str, list[dict[str, Any]]] = {}


def _history(*, room_name: str, after: int, limit: int, viewer_id: int | None) -> list[Any]:
    return [p for p in STORE.get(room_name, []) if p["n"] > after][:limit]


def _committed(*, room_names: list[str]) -> dict[str, tuple[int, int]]:
    return {room: (len(STORE.get(room, [])), 0) for room in room_names}


@pytest.fixture
def kinds() -> Iterator[tuple[EventKind[Any], EventKind[Any]]]:
    STORE.clear()
    durable = kind_register(
        EventKind(
            name="test.note",
            type="test.note",
            field="note",
            batch_type="test.notes",
            batch_field="notes",
            restore=lambda payload: payload,
            position=lambda payload: payload["n"],
            value_position=lambda value: value["n"],
            history=_history,
            last_position=lambda *, room_name: len(STORE.get(room_name, [])),
            committed=_committed,
        )
    )
    ephemeral = kind_register(
        EventKind(name="test.ping", type="test.ping", field="ping", restore=lambda p: p["who"])
    )
    try:
        yield durable, ephemeral
    finally:
        kind_unregister(durable)
        kind_unregister(ephemeral)


async def _take(stream: AsyncIterator[Envelope], count: int) -> list[Envelope]:
    return [await anext(stream) for _ in range(count)]


def _note(n: int) -> dict[str, Any]:
    payload = {"n": n, "text": f"note {n}"}
    STORE.setdefault("lobby", []).append(payload)
    return payload


async def test_a_durable_kind_replays_streams_live_and_fills_gaps_from_its_history(
    kinds: tuple[EventKind[Any], EventKind[Any]],
) -> None:
    durable, _ = kinds
    _note(1)
    stream = event_stream(kind=durable, room_name="lobby", after=0)
    async with aclosing(stream):
        replayed = await _take(stream, 1)
        await wait_for(lambda: get_hub().rooms == {"lobby": 1})
        await event_publish({"type": "test.note", "room": "lobby", "note": _note(2)})
        live = await _take(stream, 1)
        # Note 3 is stored but its event lost; note 4's reveals the gap.
        _note(3)
        await event_publish({"type": "test.note", "room": "lobby", "note": _note(4)})
        filled = await _take(stream, 2)
    got = [(e.kind.name, e.room, e.position, e.value["text"]) for e in replayed + live + filled]
    assert got == [("test.note", "lobby", n, f"note {n}") for n in (1, 2, 3, 4)]
    await wait_for(lambda: get_hub().rooms == {})


async def test_an_ephemeral_kind_streams_live_events_only(
    kinds: tuple[EventKind[Any], EventKind[Any]],
) -> None:
    durable, ephemeral = kinds
    pings = event_stream(kind=ephemeral, room_name="lobby")
    notes = event_stream(kind=durable, room_name="lobby")
    async with aclosing(pings), aclosing(notes):
        first_ping = asyncio.ensure_future(anext(pings))
        first_note = asyncio.ensure_future(anext(notes))
        await wait_for(lambda: get_hub().rooms == {"lobby": 2})
        await event_publish({"type": "test.ping", "room": "lobby", "ping": {"who": "alice"}})
        await event_publish({"type": "test.note", "room": "lobby", "note": _note(1)})
        await event_publish({"type": "test.ping", "room": "lobby", "ping": {"who": "bob"}})
        await event_publish({"type": "test.note", "room": "lobby", "note": _note(2)})
        # Each subscription gets its own kind only, in order.
        got_pings = [await first_ping, await anext(pings)]
        got_notes = [await first_note, await anext(notes)]
    assert [(e.kind, e.position, e.value) for e in got_pings] == [
        (ephemeral, None, "alice"),
        (ephemeral, None, "bob"),
    ]
    assert [(e.kind, e.position, e.value["n"]) for e in got_notes] == [
        (durable, 1, 1),
        (durable, 2, 2),
    ]


def test_the_publisher_batches_consecutive_events_of_a_kind_per_room(
    kinds: tuple[EventKind[Any], EventKind[Any]],
) -> None:
    def note(room: str, n: int) -> dict[str, Any]:
        return {"type": "test.note", "room": room, "note": {"n": n}}

    ping = {"type": "test.ping", "room": "a", "ping": {"who": "x"}}
    merged = events_merge([note("a", 1), note("b", 1), note("a", 2), ping, note("a", 3)])  # type: ignore[list-item]
    assert merged == [
        {"type": "test.notes", "room": "a", "notes": [{"n": 1}, {"n": 2}]},
        {"type": "test.note", "room": "b", "note": {"n": 1}},
        ping,
        # After the ping: a new batch, so the room's order holds.
        {"type": "test.note", "room": "a", "note": {"n": 3}},
    ]


async def bob_removed_without_notice(
    ephemeral: EventKind[Any],
) -> tuple[AsyncGenerator[Envelope, None], asyncio.Future[Envelope], int]:
    """Bob subscribed to a private room's ephemeral events, then removed from it with its
    notices lost (Redis down): the stream, its pending next event, the room's new
    access version."""
    alice = (await sync_to_async(factories.member)("alice")).user
    bob = (await sync_to_async(factories.member)("bob")).user
    room = await sync_to_async(services.room_create)(name="secret", private=True, creator=alice)
    await sync_to_async(services.room_invite)(name="secret", username="bob", inviter=alice)
    version, _ = await sync_to_async(services.room_subscribe_check)(name="secret", user=bob)
    stream = event_stream(
        kind=ephemeral, room_name="secret", user_id=bob.pk, access_version=version
    )
    waiting = asyncio.ensure_future(anext(stream))
    await wait_for(lambda: get_hub().rooms == {"secret": 1})

    def remove() -> int:
        # What room_member_remove stores.
        room.members.remove(bob)
        Room.objects.filter(pk=room.pk).update(access_version=F("access_version") + 1)
        return Room.objects.get(pk=room.pk).access_version

    return stream, waiting, await sync_to_async(remove)()


async def test_an_ephemeral_subscription_loses_access_even_when_its_notice_is_lost(
    kinds: tuple[EventKind[Any], EventKind[Any]],
) -> None:
    """The resync re-checks the access of rooms that have only ephemeral subscribers."""
    _, ephemeral = kinds
    stream, waiting, _ = await bob_removed_without_notice(ephemeral)
    async with aclosing(stream):
        await get_hub().resync.once()
        with pytest.raises(Forbidden):
            await waiting
    await wait_for(lambda: get_hub().rooms == {})


async def test_a_burst_goes_to_redis_in_one_round_trip_per_shard(
    kinds: tuple[EventKind[Any], EventKind[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipelined publish (internals/channels_redis.py, installed at start-up) is what
    the publisher uses for a burst, and what it publishes arrives."""
    durable, _ = kinds
    installed = publisher._batch_publisher
    assert installed is not None
    calls: list[tuple[int, int | None]] = []

    def spy(layer: Any, pairs: list[tuple[str, dict[str, Any]]]) -> Any:
        batches = installed(layer, pairs)
        calls.append((len(pairs), None if batches is None else len(batches)))
        return batches

    monkeypatch.setattr(publisher, "_batch_publisher", spy)
    stream = event_stream(kind=durable, room_name="lobby")
    async with aclosing(stream):
        first = asyncio.ensure_future(anext(stream))
        await wait_for(lambda: get_hub().rooms == {"lobby": 1})
        await events_publish(
            [{"type": "test.note", "room": "lobby", "note": _note(n)} for n in (1, 2, 3)]
        )
        got = [await first, await anext(stream), await anext(stream)]
    assert [e.position for e in got] == [1, 2, 3]
    assert calls == [(3, 1)]


@pytest.mark.parametrize("shape", ["this version", "the version before event kinds"])
async def test_a_member_removal_ends_that_members_subscriptions_in_either_shape(
    kinds: tuple[EventKind[Any], EventKind[Any]], shape: str
) -> None:
    """During a rolling upgrade both versions' processes read each other's removals."""
    durable, _ = kinds
    alice = (await sync_to_async(factories.member)("alice")).user
    room = await sync_to_async(services.room_get_or_create)(name="lobby")
    event: dict[str, Any] = dict(events.member_removed_event_build(room=room, user=alice))
    assert event == {
        "type": "chat.member_removed",
        "room": "lobby",
        "member": {"user_id": alice.pk},
        "user_id": alice.pk,
    }
    if shape != "this version":
        del event["member"]
    theirs = event_stream(kind=durable, room_name="lobby", user_id=alice.pk)
    others = event_stream(kind=durable, room_name="lobby", user_id=alice.pk + 1)
    async with aclosing(theirs), aclosing(others):
        ended = asyncio.ensure_future(anext(theirs))
        other = asyncio.ensure_future(anext(others))
        await wait_for(lambda: get_hub().rooms == {"lobby": 2})
        await event_publish(event)
        with pytest.raises(StopAsyncIteration):
            await ended
        await event_publish({"type": "test.note", "room": "lobby", "note": _note(1)})
        assert (await other).value == {"n": 1, "text": "note 1"}


async def test_after_a_failed_access_check_ephemeral_events_wait_for_one_that_passes(
    kinds: tuple[EventKind[Any], EventKind[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ephemeral event carries no access version: after a notice whose check failed
    (the database unreachable), the room's events are held until a check passes."""
    _, ephemeral = kinds
    stream, waiting, narrowed = await bob_removed_without_notice(ephemeral)
    async with aclosing(stream):
        real = realtime.access.room_access_members
        calls: list[str] = []

        def unreachable(**kwargs: Any) -> Any:
            calls.append(kwargs["name"])
            raise OperationalError("database unreachable")

        monkeypatch.setattr(realtime.access, "room_access_members", unreachable)
        notice = {"type": "chat.access", "room": "secret", "access_version": narrowed}
        await get_hub().dispatch(notice)
        assert calls == ["secret"]
        monkeypatch.setattr(realtime.access, "room_access_members", real)
        # Held, checked, refused: bob never gets it.
        await event_publish({"type": "test.ping", "room": "secret", "ping": {"who": "alice"}})
        with pytest.raises(Forbidden):
            await waiting


def test_a_commit_after_the_serving_loop_stopped_does_not_wait_for_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A process stopping (SIGTERM) while a post is in its database call: the commit's
    publish must not wait for the stopped loop, or the thread, and the process's exit with
    it, would hang. The event is left to the other processes' resync."""
    stopped = asyncio.new_event_loop()
    published: list[Any] = []

    async def spy(event: Any) -> None:
        published.append(event)

    monkeypatch.setattr(publisher, "event_publish", spy)
    monkeypatch.setattr(publisher, "calling_loop", lambda: stopped)
    caplog.set_level(logging.WARNING, logger="realtime.publisher")
    try:
        publisher.event_publish_sync({"type": "test.ping", "room": "lobby", "ping": {"who": "x"}})
    finally:
        stopped.close()
    assert published == []
    assert [r.getMessage() for r in caplog.records] == [
        "event loop stopped; test.ping for room lobby left to the resync"
    ]
