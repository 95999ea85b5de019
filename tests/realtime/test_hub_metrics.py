"""Hub-side counters that no HTTP scenario reaches deterministically."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import REGISTRY

from chat.events import MESSAGE_KIND
from chat.models import Message, Room
from realtime.subscriber import Envelope, Subscriber


def overflows() -> float | None:
    return REGISTRY.get_sample_value("chat_subscriber_overflows_total")


def _message(seq: int) -> Envelope:
    room = Room(pk=1, name="lobby", created_at=datetime.now(UTC), last_seq=seq)
    message = Message(pk=seq, seq=seq, text="x", created_at=datetime.now(UTC), room=room)
    return Envelope(MESSAGE_KIND, "lobby", seq, message)


def test_a_full_buffer_counts_one_overflow_until_the_reader_catches_up() -> None:
    before = overflows()
    assert before is not None
    subscriber = Subscriber(MESSAGE_KIND, "lobby", None, capacity=2)
    for seq in range(1, 6):
        subscriber.offer(_message(seq))
    # The queued messages are dropped (the reader re-reads them from the database) and
    # one wake-up is left in their place; later offers are dropped until it catches up.
    assert (subscriber.queue.qsize(), subscriber.overflowed) == (1, True)
    assert subscriber.queue.get_nowait() is None
    assert overflows() == before + 1
    # The reader catches up from the database and clears the flag; a new overflow counts.
    subscriber.overflowed = False
    for seq in range(6, 9):
        subscriber.offer(_message(seq))
    assert overflows() == before + 2
