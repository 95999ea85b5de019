"""Operations: /metrics values after known scenarios, and the fields of structured logs."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from channels.testing import HttpCommunicator
from django.conf import settings
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families
from pythonjsonlogger.json import JsonFormatter

from realtime.hub import get_hub
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, wait_for
from tests.schema.test_subscriptions import SEND, subscribed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def get_metrics() -> tuple[int, bytes, Samples]:
    from project.asgi import application

    communicator = HttpCommunicator(
        application, "GET", "/metrics", headers=[(b"host", b"localhost")]
    )
    response = await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)
    samples: Samples = {}
    if response["status"] == 200:
        for family in text_string_to_metric_families(response["body"].decode()):
            for sample in family.samples:
                samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return response["status"], dict(response["headers"])[b"Content-Type"], samples


async def scrape() -> Samples:
    status, _, samples = await get_metrics()
    assert status == 200
    return samples


def changes(before: Samples, after: Samples, prefix: str = "chat_") -> dict[str, float]:
    """The chat_* samples that changed, as "name{label=value}": delta."""
    delta: dict[str, float] = {}
    for key, value in after.items():
        name, labels = key
        if name.startswith(prefix) and value != before.get(key, 0.0):
            label_text = ",".join(f"{k}={v}" for k, v in labels)
            delta[f"{name}{{{label_text}}}" if labels else name] = value - before.get(key, 0.0)
    return delta


async def test_metrics_after_two_sockets_three_posts_and_disconnect(
    sockets: list[GraphQLSocket], gql: GraphQLHttp, alice: factories.Member
) -> None:
    before = await scrape()
    # One socket on the fast path (graphql-transport-ws), one on Strawberry's (graphql-ws).
    fast = await subscribed(sockets, "lobby")
    legacy = await subscribed(sockets, "lobby", protocol="graphql-ws")
    await wait_for(lambda: get_hub().rooms == {"lobby": 2})
    for n in range(3):
        await gql(SEND, {"room": "lobby", "text": f"message {n}"}, token=alice.token)
    for _ in range(3):
        assert (await fast.receive())["type"] == "next"
        assert (await legacy.receive())["type"] == "data"

    live = await scrape()
    delta = changes(before, live)
    # Latencies vary; the histogram's count is exact, its buckets cumulative.
    buckets = [delta.pop(k) for k in list(delta) if k.startswith("chat_delivery_latency_seconds_b")]
    assert buckets == sorted(buckets) and buckets[-1] == 3
    assert 0 < delta.pop("chat_delivery_latency_seconds_sum") < 3 * 10
    assert delta == {
        "chat_websockets_open": 2,
        "chat_subscriptions_active": 2,
        "chat_messages_published_total": 3,
        "chat_deliveries_total{source=live}": 6,
        # Observed once per event in this process, not once per subscriber.
        "chat_delivery_latency_seconds_count": 3,
        # Once per operation (the graphql-ws socket has no fast path).
        "chat_fast_path_operations_total{field=messageAdded,path=fast}": 1,
        # Its result for each post, rendered once (not per subscriber).
        "chat_fast_path_results_total{field=messageAdded,how=rendered}": 3,
    }

    for socket in sockets:
        await socket.close()
    sockets.clear()
    closed = await scrape()
    assert closed[("chat_websockets_open", ())] == before[("chat_websockets_open", ())]
    assert closed[("chat_subscriptions_active", ())] == before[("chat_subscriptions_active", ())]


async def test_errors_are_counted_by_code_where_they_are_formatted(
    gql: GraphQLHttp, alice: factories.Member
) -> None:
    before = await scrape()
    body = await gql(SEND, {"room": "not a room!", "text": "x"}, token=alice.token)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    status, _ = await gql.post("{ me { id } }", token="not-a-token")
    assert status == 200
    assert changes(before, await scrape()) == {
        "chat_graphql_errors_total{code=BAD_USER_INPUT}": 1,
        "chat_graphql_errors_total{code=UNAUTHENTICATED}": 1,
    }


async def test_metrics_endpoint_format_and_switch() -> None:
    status, content_type, samples = await get_metrics()
    assert (status, content_type) == (200, b"text/plain; version=1.0.0; charset=utf-8")
    # The process collector is there too (RSS, CPU, open file descriptors).
    assert ("process_resident_memory_bytes", ()) in samples
    with override_settings(CHAT={**settings.CHAT, "METRICS_ENABLED": False}):
        status, _, _ = await get_metrics()
    assert status == 404


async def test_key_events_are_logged_with_fields_and_without_text_or_token(
    caplog: pytest.LogCaptureFixture,
    sockets: list[GraphQLSocket],
    gql: GraphQLHttp,
    alice: factories.Member,
) -> None:
    caplog.set_level(logging.INFO)
    socket = await subscribed(sockets, "lobby")
    await wait_for(lambda: get_hub().rooms == {"lobby": 1})
    sent = await gql(SEND, {"room": "lobby", "text": "secret words"}, token=alice.token)
    assert (await socket.receive())["type"] == "next"
    await socket.close()
    sockets.clear()

    events = {getattr(r, "event", None): r for r in caplog.records}
    posted = events["message.posted"]
    assert (posted.name, posted.levelname, posted.getMessage()) == (
        "chat.posting",
        "INFO",
        "message posted",
    )
    assert (posted.room, posted.seq, posted.user_id, posted.message_id) == (  # type: ignore[attr-defined]
        "lobby",
        1,
        alice.user.pk,
        int(sent["data"]["sendMessage"]["id"]),
    )
    opened, closed = events["socket.connected"], events["socket.closed"]
    assert opened.protocol == "graphql-transport-ws"  # type: ignore[attr-defined]
    assert (closed.close_code, closed.closed_by) == (1000, "client")  # type: ignore[attr-defined]
    # Every line about the socket, its subscription included, carries its connection id.
    connection = opened.connection_id  # type: ignore[attr-defined]
    assert [r.event for r in caplog.records if getattr(r, "connection_id", None) == connection] == [  # type: ignore[attr-defined]
        "socket.connected",
        "subscription.started",
        "subscription.ended",
        "socket.closed",
    ]
    for record in caplog.records:
        text = json.dumps(record.__dict__, default=str)
        assert "secret words" not in text and alice.token not in text

    logging_config: Any = settings.LOGGING
    config: dict[str, Any] = logging_config["formatters"]["json"]
    formatter = JsonFormatter(**{k: v for k, v in config.items() if k != "()"})
    assert {k: v for k, v in json.loads(formatter.format(posted)).items() if k != "time"} == {
        "level": "INFO",
        "logger": "chat.posting",
        "message": "message posted",
        "event": "message.posted",
        "room": "lobby",
        "seq": 1,
        "message_id": int(sent["data"]["sendMessage"]["id"]),
        "user_id": alice.user.pk,
    }


async def test_a_socket_the_server_closes_is_logged_with_its_code_and_uncounted(
    caplog: pytest.LogCaptureFixture, sockets: list[GraphQLSocket]
) -> None:
    caplog.set_level(logging.INFO)
    before = await scrape()
    socket = GraphQLSocket()
    sockets.append(socket)
    connected, _ = await socket.communicator.connect(timeout=10)
    assert connected
    await socket.send({"type": "connection_init", "payload": {"authToken": "not-a-token"}})
    assert (await socket.receive_close())["code"] == 4403
    await socket.close()
    sockets.clear()
    closed = [r for r in caplog.records if getattr(r, "event", None) == "socket.closed"]
    assert [(r.close_code, r.closed_by) for r in closed] == [(4403, "server")]  # type: ignore[attr-defined]
    assert changes(before, await scrape()) == {}
