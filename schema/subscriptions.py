from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from chat.db import in_thread
from chat.errors import InvalidInput
from chat.services import room_name_check, room_subscribe_check
from chat.streams import message_stream
from schema.context import ChatInfo
from schema.types import MessageType

__all__ = ["Subscription"]


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
        version = await in_thread(room_subscribe_check)(name=room, user=user)
        user_id = user.pk if user.is_authenticated else None
        async for message in message_stream(
            room_name=room, after_seq=after_seq, user_id=user_id, access_version=version
        ):
            yield message  # type: ignore[misc]
