"""The two durable subscriptions (messageAdded, roomEvents) as the fault and scale-out
tests drive them, and scripts of writes whose every payload is known in advance.

A script is a list of operations made one after the other by one writer, so the n-th
operation is the room's n-th event (the room is created by its first post) and the
k-th post its k-th message: what each feed must deliver follows from the script alone.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

__all__ = [
    "FEEDS",
    "MESSAGES",
    "ROOM_EVENTS",
    "Feed",
    "Op",
    "expected",
    "mixed",
    "perform",
    "posts",
    "room_event",
    "ws_subscribe",
]


@dataclass(frozen=True)
class Feed:
    """One durable subscription: its field, its resume argument, its position field and
    what the tests select of it."""

    field: str
    after: str
    position: str
    selection: str

    def subscription(self, room: str) -> str:
        """The subscription to ``room``, resuming after the variable ``$after`` (null:
        from now)."""
        return (
            f'subscription($after: Int) {{ {self.field}(room: "{room}", '
            f"{self.after}: $after) {{ {self.selection} }} }}"
        )

    def of(self, frame: dict[str, Any]) -> dict[str, Any]:
        """The payload of a ``next`` frame."""
        assert frame["type"] == "next", frame
        assert "errors" not in frame["payload"], frame
        return frame["payload"]["data"][self.field]  # type: ignore[no-any-return]

    def __str__(self) -> str:  # the test ids
        return self.field


MESSAGES = Feed("messageAdded", "afterSeq", "seq", "seq")
# A post's text is not selected: an edit changes it, and a replayed event shows the
# message as it is now (an edit's text is its last one: scripts edit a message once).
ROOM_EVENTS = Feed(
    "roomEvents",
    "afterEventSeq",
    "eventSeq",
    "eventSeq __typename actor { username }"
    " ... on MessagePosted { message { seq } }"
    " ... on MessageEdited { message { seq text } }"
    " ... on ReactionAdded { emoji message { seq } }",
)
FEEDS = [MESSAGES, ROOM_EVENTS]


def room_event(
    typename: str,
    event_seq: int,
    message_seq: int,
    *,
    actor: str = "alice",
    text: str | None = None,
    emoji: str | None = None,
) -> dict[str, Any]:
    """A roomEvents payload as ROOM_EVENTS selects it."""
    message: dict[str, Any] = {"seq": message_seq}
    if text is not None:
        message["text"] = text
    event: dict[str, Any] = {
        "eventSeq": event_seq,
        "__typename": typename,
        "actor": {"username": actor},
    }
    if emoji is not None:
        event["emoji"] = emoji
    return {**event, "message": message}


@dataclass(frozen=True)
class Op:
    """One write: a post (``seq`` is the message's seq it gets), an edit of message
    ``seq`` to ``text``, or a reaction ``emoji`` to message ``seq``."""

    kind: str
    seq: int
    text: str = ""
    emoji: str = ""


def posts(total: int) -> list[Op]:
    return [Op("post", n, text=f"post {n}") for n in range(1, total + 1)]


def mixed(total: int) -> list[Op]:
    """Posts, edits and reactions: two posts, an edit of the second, a reaction to the
    first, and again (each message edited once at most)."""
    ops: list[Op] = []
    count = 0
    for n in range(1, total + 1):
        if n % 4 in (1, 2):
            count += 1
            ops.append(Op("post", count, text=f"post {count}"))
        elif n % 4 == 3:
            ops.append(Op("edit", count, text=f"post {count}, edited"))
        else:
            ops.append(Op("react", count - 1, emoji="👍"))
    return ops


_TYPENAMES = {"post": "MessagePosted", "edit": "MessageEdited", "react": "ReactionAdded"}


def expected(feed: Feed, script: list[Op], actor: str = "alice") -> list[dict[str, Any]]:
    """What a subscriber of ``feed`` from the room's start receives of ``script``."""
    if feed is MESSAGES:
        return [{"seq": op.seq} for op in script if op.kind == "post"]
    return [
        room_event(
            _TYPENAMES[op.kind],
            n,
            op.seq,
            actor=actor,
            text=op.text if op.kind == "edit" else None,
            emoji=op.emoji if op.kind == "react" else None,
        )
        for n, op in enumerate(script, start=1)
    ]


SEND = "mutation($room: String!, $t: String!) { sendMessage(room: $room, text: $t) { id seq } }"
EDIT = "mutation($id: ID!, $t: String!) { editMessage(id: $id, text: $t) { seq text } }"
REACT = "mutation($id: ID!, $e: String!) { addReaction(messageId: $id, emoji: $e) { seq } }"

Send = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


async def perform(script: list[Op], room: str, send: Send) -> None:
    """Make the script's writes in order through ``send`` (a query and its variables to
    the reply); each must succeed, with the message seq the script says."""
    ids: dict[int, str] = {}
    for op in script:
        if op.kind == "post":
            result = await send(SEND, {"room": room, "t": op.text})
            ids[op.seq] = result["data"]["sendMessage"]["id"]
            assert result == {"data": {"sendMessage": {"id": ids[op.seq], "seq": op.seq}}}
        elif op.kind == "edit":
            result = await send(EDIT, {"id": ids[op.seq], "t": op.text})
            assert result == {"data": {"editMessage": {"seq": op.seq, "text": op.text}}}
        else:
            result = await send(REACT, {"id": ids[op.seq], "e": op.emoji})
            assert result == {"data": {"addReaction": {"seq": op.seq}}}


async def ws_subscribe(
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    op_id: str = "1",
    init: dict[str, Any] | None = None,
    **options: Any,
) -> ClientConnection:
    """A graphql-transport-ws socket to a daphne process with one subscription started."""
    ws = await websockets.connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], **options
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": init or {}}))
    assert json.loads(await ws.recv()) == {"type": "connection_ack"}
    payload = {"query": query, "variables": variables or {}}
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))
    return ws
