from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import strawberry
from django.conf import settings

from chat.db import in_thread
from chat.errors import InvalidInput, TooManyInboxes, TooManyUnknownRooms, Unauthenticated
from chat.events import MESSAGE_KIND, ROOM_EVENT_KIND, SIGNAL_KIND
from chat.kinds import EventKind
from chat.services import room_name_check, room_subscribe_check
from realtime.inbox import inbox_stream
from realtime.streams import event_stream
from schema.context import ChatContext, ChatInfo
from schema.signaltypes import InboxEvent, RoomSignal
from schema.types import MessageType, RoomEventInterface

__all__ = ["Subscription", "inbox_values", "unknown_room_release", "unknown_room_take"]


def unknown_room_take(context: ChatContext, *, exists: bool) -> bool:
    """Take one of the socket's few slots for subscriptions to rooms that do not exist
    (``exists``, as room_subscribe_check read it); False (nothing taken) for a room that
    exists. Give it back with ``unknown_room_release``.

    Anyone may subscribe to a room before it exists (public rooms are created on first
    post), and each such subscription holds a Redis subscription: a socket gets
    ``MAX_UNKNOWN_ROOM_SUBSCRIPTIONS`` of them; rooms that exist are not counted.
    """
    limit = settings.CHAT["MAX_UNKNOWN_ROOM_SUBSCRIPTIONS"]
    if limit <= 0 or exists:
        return False
    if context.unknown_room_subscriptions >= limit:
        raise TooManyUnknownRooms(
            "Too many subscriptions to rooms that do not exist on this connection "
            f"(at most {limit})."
        )
    context.unknown_room_subscriptions += 1
    return True


def unknown_room_release(context: ChatContext) -> None:
    context.unknown_room_subscriptions -= 1


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Every message posted to the room from now on. With `afterSeq`, first "
        "the stored messages with a greater seq, then live ones: no gap, no duplicate. "
        "In these payloads `room.lastSeq` is the room's lastSeq as of that message. "
        "Completes when you leave the room; ends with a FORBIDDEN error when you lose "
        "access to it (removed, or the room made private)."
    )
    async def message_added(
        self, info: ChatInfo, room: str, after_seq: int | None = None
    ) -> AsyncGenerator[MessageType, None]:
        async for message in _room_stream(info, MESSAGE_KIND, room, after_seq, "afterSeq"):
            yield message

    @strawberry.subscription(
        description="Everything that happens in the room (posts, edits, deletions, "
        "reactions, members joining and leaving) in eventSeq order. With `afterEventSeq`, "
        "first the stored events with a greater eventSeq, then live ones: no gap, no "
        "duplicate; messages show as they are now. Completes after your own MemberLeft; "
        "ends with a FORBIDDEN error when you lose access otherwise."
    )
    async def room_events(
        self, info: ChatInfo, room: str, after_event_seq: int | None = None
    ) -> AsyncGenerator[RoomEventInterface, None]:
        async for event in _room_stream(
            info, ROOM_EVENT_KIND, room, after_event_seq, "afterEventSeq"
        ):
            yield event

    @strawberry.subscription(
        description="The room's ephemeral state as it changes: who is typing "
        "(TypingChanged, coalesced: at most a few a second, each the whole state; the "
        "first event is the current one if anyone is typing), who comes online or goes "
        "offline (PresenceChanged; Room.onlineCount and Room.online give the state), and "
        "members' read markers (ReadUpTo, in rooms of at most 100 members). Not "
        "resumable: nothing is stored. Holding it makes you online in the room."
    )
    async def room_signals(self, info: ChatInfo, room: str) -> AsyncGenerator[RoomSignal, None]:
        async for signal in _room_stream(info, SIGNAL_KIND, room, None, ""):
            yield signal

    @strawberry.subscription(
        description="Everything in all of your rooms, on one stream: each new message "
        "(RoomActivity, with your unread count in its room), mentions of you, markRead on "
        "any of your devices (UnreadChanged), rooms you join and leave. Follows your "
        "CHAT_MAX_INBOX_ROOMS (500) most recently active rooms. Not resumable: read "
        "myRooms when you (re)connect, then apply these. Requires a signed-in user."
    )
    async def inbox(self, info: ChatInfo) -> AsyncGenerator[InboxEvent, None]:
        async for value in inbox_values(info.context):
            yield value  # type: ignore[misc]


async def inbox_values(context: ChatContext) -> AsyncGenerator[Any, None]:
    """The viewer's inbox (realtime.inbox) on this socket, checked first."""
    user = context.user
    if not user.is_authenticated:
        raise Unauthenticated("Sign in to follow your inbox.")
    # Each follows every room of its user (up to CHAT_MAX_INBOX_ROOMS): one is all a
    # client needs, and a hundred on one socket would be a hundred times the cost.
    if context.inbox_open:
        raise TooManyInboxes("An inbox is already open on this connection.")
    context.inbox_open = True
    try:
        stream = inbox_stream(user_id=user.pk, username=user.get_username())
        async with aclosing(stream) as values:
            async for value in values:
                yield value
    finally:
        context.inbox_open = False


async def _room_stream(
    info: ChatInfo, kind: EventKind[Any], room: str, after: int | None, after_name: str
) -> AsyncGenerator[Any, None]:
    """A room's stream of ``kind`` for the resolver's viewer, checked first."""
    room_name_check(room)
    if after is not None and after < 0:
        raise InvalidInput(f"`{after_name}` must be 0 or more.")
    user = info.context.user
    version, exists = await in_thread(room_subscribe_check)(name=room, user=user)
    user_id = user.pk if user.is_authenticated else None
    counted = unknown_room_take(info.context, exists=exists)
    try:
        stream = event_stream(
            kind=kind,
            room_name=room,
            after=after,
            user_id=user_id,
            access_version=version,
            username=user.get_username() if user_id is not None else None,
        )
        # Closed here, not by the garbage collector: leaving the room's group waits
        # for the stream's end.
        async with aclosing(stream) as envelopes:
            async for envelope in envelopes:
                yield envelope.value
    finally:
        if counted:
            unknown_room_release(info.context)
