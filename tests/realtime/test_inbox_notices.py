"""markRead's notice to the user's inboxes: taken as it is when its count covers every post
the inbox has counted, read again from the database otherwise (a post counted before the
notice arrived, a notice older than one already applied, a process of an earlier version
whose notice has no lastSeq)."""

from __future__ import annotations

from typing import Any

import pytest

from chat.models import Room
from chat.signalling import UnreadChanged, UserNoticePayload
from realtime.hub import get_hub
from realtime.inbox import InboxRoom, _Followed, _Inbox

pytestmark = [pytest.mark.embedded]


def _inbox(*, counted: int, last_read: int, unread: int) -> tuple[_Inbox, _Followed, list[Any]]:
    inbox = _Inbox(get_hub(), 7, "bob")
    room = Room(id=3, name="lobby", last_seq=counted)
    followed = _Followed(
        room=room,
        subscription=None,  # type: ignore[arg-type]
        subscriber=None,  # type: ignore[arg-type]
        counted=counted,
        last_read=last_read,
        unread=unread,
    )
    inbox.rooms["lobby"] = followed
    reads: list[Any] = []

    async def reread(room_ids: list[int] | None) -> list[InboxRoom]:
        reads.append(room_ids)
        # What the database says now: marker 12, 2 unread as of seq 14.
        return [
            InboxRoom(
                room=Room(id=3, name="lobby", last_seq=14), last_seq=14, last_read=12, unread=2
            )
        ]

    inbox.reread = reread  # type: ignore[method-assign]
    return inbox, followed, reads


def _changes(values: list[Any]) -> list[tuple[int, int | None]]:
    assert all(isinstance(value, UnreadChanged) for value in values)
    return [(value.unread_count, value.room.last_read_seq) for value in values]


def _notice(**fields: Any) -> UserNoticePayload:
    return {"kind": "unread_changed", "room_id": 3, "room_name": "lobby", **fields}  # type: ignore[typeddict-item]


async def test_a_notice_covering_what_was_counted_is_taken_as_it_is() -> None:
    inbox, followed, reads = _inbox(counted=10, last_read=4, unread=6)
    values = await inbox.noticed(_notice(unread_count=1, last_read_seq=9, last_seq=10))
    assert reads == []
    assert _changes(values) == [(1, 9)]
    assert (followed.unread, followed.last_read, followed.counted) == (1, 9, 10)


async def test_a_notice_behind_a_post_already_counted_reads_the_room() -> None:
    # Seq 14 was counted (a post after the mark's statement, delivered before its notice):
    # the notice's count (as of seq 10) would lose it.
    inbox, followed, reads = _inbox(counted=14, last_read=4, unread=10)
    values = await inbox.noticed(_notice(unread_count=1, last_read_seq=9, last_seq=10))
    assert reads == [[3]]
    assert _changes(values) == [(2, 12)]
    assert (followed.unread, followed.last_read, followed.counted) == (2, 12, 14)


async def test_an_older_notice_than_the_marker_known_reads_the_room() -> None:
    inbox, followed, reads = _inbox(counted=10, last_read=12, unread=0)
    await inbox.noticed(_notice(unread_count=3, last_read_seq=9, last_seq=12))
    assert reads == [[3]]
    assert (followed.unread, followed.last_read) == (2, 12)


async def test_a_notice_without_last_seq_reads_the_room() -> None:
    inbox, followed, reads = _inbox(counted=10, last_read=4, unread=6)
    await inbox.noticed(_notice(unread_count=1, last_read_seq=9))
    assert reads == [[3]]
    assert (followed.unread, followed.last_read, followed.counted) == (2, 12, 14)
