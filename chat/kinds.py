"""Event kinds: the one registry that knows what moves through the realtime engine.

A kind says how its events travel (the channel-layer event ``type`` and the key its
payload sits under, one payload or a batch of one room's), how a process turns a payload
into what subscribers get (``restore``, once per event per process), and whether it is
*durable* (a gapless per-room position, a history to replay and backfill from, a
committed position the resync compares with) or *ephemeral* (lossy, no position).

The hub, streams and publisher of ``realtime`` know kinds only through this registry (the
batcher knows none: it batches any write); adding a kind is one ``kind_register`` call,
its service and its GraphQL type. Kinds are registered by the domain (chat.events) at
import. Access notices (``chat.access``) are not a kind: live authorization is the
engine's own (realtime.access).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from prometheus_client import Counter

__all__ = [
    "EventKind",
    "History",
    "Restore",
    "kind_by_type",
    "kind_register",
    "kind_unregister",
    "kinds_durable",
]

V = TypeVar("V")

# Payload -> what subscribers receive.
Restore = Callable[[Any], V]
# Up to ``limit`` stored values of a room with a position after ``after``, in order; only
# what ``viewer_id`` may read (access is part of the read).
History = Callable[..., list[V]]


@dataclass(frozen=True, slots=True, eq=False)
class EventKind(Generic[V]):
    name: str
    # The layer event of one payload: {"type": type, "room": ..., field: payload}; of
    # several of one room, in order: {"type": batch_type, "room": ..., batch_field: [...]}.
    type: str
    field: str
    restore: Restore[V]
    batch_type: str | None = None
    batch_field: str | None = None
    # Durable kinds: the position of a payload and of a restored value, the stored values
    # after a position, the room's last position, and each named room's (last position,
    # access version), for the resync.
    position: Callable[[Any], int] | None = None
    value_position: Callable[[V], int] | None = None
    history: History[V] | None = None
    last_position: Callable[..., int] | None = None
    committed: Callable[..., Mapping[str, tuple[int, int]]] | None = None
    # The room's access version a payload was published under (see chat.selectors'
    # room_access_members): a subscriber is re-checked before it gets a higher one.
    access_version: Callable[[Any], int] | None = None
    # A control kind ends the subscriptions it names (any kind's, in its room): given
    # the payload and a subscriber's user id, True to end that subscription.
    ends_subscription: Callable[[Any, int | None], bool] | None = None
    # The user (id) whose subscriptions of this kind end once they have delivered this
    # payload, or None: after it, unlike ``ends_subscription`` (a member's own
    # MemberLeft). Asked once per event, not per subscriber.
    ends_after: Callable[[Any], int | None] | None = None
    # A payload of this kind also stands for an event of other kinds: (kind, the payload
    # of that kind, or None if it stands for none), delivered right after it (a post's
    # message event is also its MessagePosted room event: one publish for both).
    also: tuple[tuple[EventKind[Any], Callable[[Any], Any]], ...] = ()
    # Counted once per payload published.
    published: Counter | None = None
    # The payload of a single (not batch) layer event, when not just ``event[field]``: a
    # kind whose shape changed reads both, for a rolling upgrade.
    payload_of: Callable[[dict[str, Any]], Any] | None = None
    # A subscription of this kind makes its user present in the room (realtime.signals).
    presence: bool = False
    # Payloads for which this is True are state changes that each process coalesces
    # before delivering (typing: realtime.signals), not events delivered one by one.
    absorb: Callable[[Any], bool] | None = None

    @property
    def durable(self) -> bool:
        return self.position is not None


_by_name: dict[str, EventKind[Any]] = {}
# Layer event type -> (kind, whether the event is a batch).
_by_type: dict[str, tuple[EventKind[Any], bool]] = {}


def kind_register(kind: EventKind[V]) -> EventKind[V]:
    """Register ``kind``; its name and layer types must be new."""
    durable_parts = (kind.value_position, kind.history, kind.last_position, kind.committed)
    if kind.durable and any(part is None for part in durable_parts):
        raise ValueError(
            f"durable kind {kind.name} needs value_position, history, last_position and committed"
        )
    types = [kind.type] + ([kind.batch_type] if kind.batch_type else [])
    if kind.name in _by_name or any(t in _by_type for t in types):
        raise ValueError(f"event kind {kind.name} is already registered")
    if (kind.batch_type is None) != (kind.batch_field is None):
        raise ValueError(f"event kind {kind.name}: batch_type and batch_field go together")
    _by_name[kind.name] = kind
    _by_type[kind.type] = (kind, False)
    if kind.batch_type is not None:
        _by_type[kind.batch_type] = (kind, True)
    return kind


def kind_unregister(kind: EventKind[Any]) -> None:
    """Forget ``kind`` (tests register kinds of their own)."""
    _by_name.pop(kind.name, None)
    for type_ in (kind.type, kind.batch_type):
        if type_ is not None:
            _by_type.pop(type_, None)


def kind_by_type(type_: object) -> tuple[EventKind[Any], bool] | None:
    """The kind of a layer event by its ``type``, and whether it is a batch."""
    return _by_type.get(type_) if isinstance(type_, str) else None


def kinds_durable() -> list[EventKind[Any]]:
    return [kind for kind in _by_name.values() if kind.durable]
