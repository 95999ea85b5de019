from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from chat.errors import InvalidInput
from chat.services import room_name_check
from chat.streams import message_stream
from schema.types import MessageType

__all__ = ["Subscription"]


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Every message posted to the room from now on. With `afterSeq`, first "
        "the stored messages with a greater seq, then live ones: no gap, no duplicate. "
        "In these payloads `room.lastSeq` is the room's lastSeq as of that message."
    )
    async def message_added(
        self, room: str, after_seq: int | None = None
    ) -> AsyncGenerator[MessageType, None]:
        room_name_check(room)
        if after_seq is not None and after_seq < 0:
            raise InvalidInput("`afterSeq` must be 0 or more.")
        async for message in message_stream(room_name=room, after_seq=after_seq):
            yield message  # type: ignore[misc]
