from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry
from django.conf import settings

from chat.db import in_thread
from chat.errors import InvalidInput, TooManyUnknownRooms
from chat.events import MESSAGE_KIND
from chat.services import room_name_check, room_subscribe_check
from realtime.streams import event_stream
from schema.context import ChatContext, ChatInfo
from schema.types import MessageType

__all__ = ["Subscription", "unknown_room_release", "unknown_room_take"]


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
        room_name_check(room)
        if after_seq is not None and after_seq < 0:
            raise InvalidInput("`afterSeq` must be 0 or more.")
        user = info.context.user
        version, exists = await in_thread(room_subscribe_check)(name=room, user=user)
        user_id = user.pk if user.is_authenticated else None
        counted = unknown_room_take(info.context, exists=exists)
        try:
            stream = event_stream(
                kind=MESSAGE_KIND,
                room_name=room,
                after=after_seq,
                user_id=user_id,
                access_version=version,
            )
            # Closed here, not by the garbage collector: leaving the room's group waits
            # for the stream's end.
            async with aclosing(stream) as envelopes:
                async for envelope in envelopes:
                    yield envelope.value
        finally:
            if counted:
                unknown_room_release(info.context)
