from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import strawberry
from django.conf import settings
from strawberry import relay

from chat import roomevents, selectors
from chat.db import in_thread
from chat.errors import InvalidInput
from chat.services import room_name_check
from schema.context import ChatInfo
from schema.types import (
    MessageConnection,
    MessageEdge,
    RoomConnection,
    RoomEdge,
    RoomEventConnection,
    RoomEventEdge,
    RoomType,
    UserType,
    cursor_decode,
    cursor_encode,
)

__all__ = ["Query"]


def _page_size(name: str, value: int | None) -> int | None:
    limit = settings.CHAT["MAX_PAGE_SIZE"]
    if value is not None and not 0 <= value <= limit:
        raise InvalidInput(f"`{name}` must be between 0 and {limit}.")
    return value


def _page_sizes(first: int | None, last: int | None) -> tuple[int | None, int | None]:
    """A connection's checked ``first`` and ``last``; neither: the first page."""
    first = _page_size("first", first)
    last = _page_size("last", last)
    if first is None and last is None:
        first = settings.CHAT["MAX_PAGE_SIZE"]
    return first, last


def _seq_cursor(cursor: str | None, kind: str = "seq") -> int | None:
    if cursor is None:
        return None
    value = cursor_decode(kind, cursor)
    # ASCII digits only (str.isdigit also takes "²" and "٣", which int() refuses or
    # reads), and few enough for a bigint: int() of thousands of digits raises too.
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise InvalidInput("Invalid cursor.")
    return int(value)


def _room_cursor_encode(room: object) -> str:
    return cursor_encode("room", f"{room.last_activity_at.isoformat()}|{room.pk}")  # type: ignore[attr-defined]


def _room_cursor_decode(cursor: str | None) -> tuple[datetime, int] | None:
    if cursor is None:
        return None
    activity, _, room_id = cursor_decode("room", cursor).partition("|")
    if not (room_id.isascii() and room_id.isdigit() and len(room_id) <= 18):
        raise InvalidInput("Invalid cursor.")
    try:
        return datetime.fromisoformat(activity), int(room_id)
    except ValueError as error:
        raise InvalidInput("Invalid cursor.") from error


def _page_info(edges: list[Any], has_next: bool, has_previous: bool) -> relay.PageInfo:
    return relay.PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )


def _room_connection(page: selectors.RoomPage, after: str | None) -> RoomConnection:
    edges = [RoomEdge(cursor=_room_cursor_encode(room), node=room) for room in page.rooms]  # type: ignore[arg-type]
    return RoomConnection(
        edges=edges, page_info=_page_info(edges, page.has_next, has_previous=after is not None)
    )


async def _room_connection_of(
    select: Callable[..., selectors.RoomPage],
    info: ChatInfo,
    first: int | None,
    after: str | None,
) -> RoomConnection:
    """A page of rooms from ``select`` (room_list, room_list_mine) for the viewer."""
    size = _page_size("first", first)
    page = await in_thread(select)(
        user=info.context.user,
        after=_room_cursor_decode(after),
        first=settings.CHAT["MAX_PAGE_SIZE"] if size is None else size,
    )
    return _room_connection(page, after)


@strawberry.type
class Query:
    @strawberry.field(description="Rooms you can see, most recent activity first.")
    async def rooms(
        self, info: ChatInfo, first: int | None = None, after: str | None = None
    ) -> RoomConnection:
        return await _room_connection_of(selectors.room_list, info, first, after)

    @strawberry.field(
        description="Rooms you are a member of (direct rooms included), most recent "
        "activity first; none when anonymous."
    )
    async def my_rooms(
        self, info: ChatInfo, first: int | None = None, after: str | None = None
    ) -> RoomConnection:
        return await _room_connection_of(selectors.room_list_mine, info, first, after)

    @strawberry.field(description="The room called `name`, or null when there is none.")
    async def room(self, info: ChatInfo, name: str) -> RoomType | None:
        return await in_thread(selectors.room_get)(  # type: ignore[return-value]
            name=room_name_check(name), user=info.context.user
        )

    @strawberry.field(
        description="A room's history ordered by seq, as a Relay connection. "
        "Without `first` or `last`, the first page."
    )
    async def messages(
        self,
        info: ChatInfo,
        room: str,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> MessageConnection:
        room_name_check(room)
        first, last = _page_sizes(first, last)
        page = await in_thread(selectors.room_message_page)(
            room_name=room,
            user=info.context.user,
            after_seq=_seq_cursor(after),
            before_seq=_seq_cursor(before),
            first=first,
            last=last,
        )
        edges = [
            MessageEdge(cursor=cursor_encode("seq", str(message.seq)), node=message)  # type: ignore[arg-type]
            for message in page.messages
        ]
        return MessageConnection(
            edges=edges, page_info=_page_info(edges, page.has_next, page.has_previous)
        )

    @strawberry.field(
        description="A room's events ordered by eventSeq, as a Relay connection (messages "
        "as they are now). Without `first` or `last`, the first page."
    )
    async def room_events(
        self,
        info: ChatInfo,
        room: str,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> RoomEventConnection:
        room_name_check(room)
        first, last = _page_sizes(first, last)
        page = await in_thread(roomevents.room_event_page)(
            room_name=room,
            user=info.context.user,
            after_seq=_seq_cursor(after, "event"),
            before_seq=_seq_cursor(before, "event"),
            first=first,
            last=last,
        )
        edges = [
            RoomEventEdge(cursor=cursor_encode("event", str(event.event_seq)), node=event)  # type: ignore[arg-type]
            for event in page.events
        ]
        return RoomEventConnection(
            edges=edges, page_info=_page_info(edges, page.has_next, page.has_previous)
        )

    @strawberry.field(description="The signed-in user, or null when anonymous.")
    def me(self, info: ChatInfo) -> UserType | None:
        user = info.context.user
        return user if user.is_authenticated else None  # type: ignore[return-value]
