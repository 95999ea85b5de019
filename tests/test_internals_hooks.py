"""Hooks into library internals (internals/hooks.py): all on for the pinned versions, each
off with one warning when its target is gone or its version is out of range, and then the
feature's public path still meets its contract."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import urllib.request
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.db.models import signals
from django.test import override_settings
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from prometheus_client import REGISTRY
from websockets.typing import Subprotocol

from chat import db, posting
from chat.models import Message, model_restore
from internals import hooks as hooks_module
from internals.hooks import hook_active, hooks, hooks_verify
from realtime.hub import get_hub
from tests import factories
from tests.conftest import GraphQLHttp, GraphQLSocket, wait_for
from tests.daphne import daphnes_running
from tests.schema.test_subscriptions import SEND, SUBSCRIPTION, message_json
from tests.servers import PostgresServer, RedisServer
from tests.test_http_streams_daphne import SseClient

HOOKS = {
    "asgiref.main_event_loop",
    "autobahn.close_code",
    "autobahn.write_text",
    "channels.consumer_loop",
    "channels_redis.shard_publish",
    "daphne.close_reason",
    "daphne.send_protocol",
    "django.asgi_without_thread_sensitive_context",
    "django.inline_middleware",
    "django.model_restore",
    "django.prepared_statement",
    "graphql.per_event_memo",
    "strawberry.consumer_queue",
    "strawberry.graphql_schema",
    "strawberry.graphql_ws",
    "strawberry.transport_ws",
    "twisted.http_producer",
    "twisted.http_read_timeout",
    "twisted.post_content_type",
    "twisted.upgrade_producer",
    "twisted.write_through",
    "whitenoise.async_lookup",
}
WRITE_PATH = (
    "daphne.send_protocol",
    "twisted.write_through",
    "twisted.upgrade_producer",
    "twisted.http_producer",
    "autobahn.write_text",
)
TRANSPORT = (
    "strawberry.transport_ws",
    "strawberry.graphql_ws",
    "strawberry.consumer_queue",
    "strawberry.graphql_schema",
    "channels.consumer_loop",
)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "internals.hooks" and record.levelno == logging.WARNING
    ]


def gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value("chat_internals_hook_active", {"hook": name})


@pytest.fixture
def hooks_off() -> Iterator[Callable[..., dict[str, bool]]]:
    """Verify the hooks again with ``names`` forced off; afterwards, as at start-up."""

    def turn_off(*names: str) -> dict[str, bool]:
        result = hooks_verify(disabled=names)
        assert {name for name, active in result.items() if not active} == set(names)
        return result

    yield turn_off
    hooks_verify()


@pytest.mark.embedded
def test_every_hook_is_active_on_the_pinned_versions(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert hooks_verify() == {name: True for name in HOOKS}
    assert warnings_of(caplog) == []
    assert {name: gauge(name) for name in HOOKS} == {name: 1.0 for name in HOOKS}


@pytest.mark.embedded
def test_each_hook_declares_a_range_containing_the_installed_version() -> None:
    declared = hooks()
    assert set(declared) == HOOKS
    for name, item in declared.items():
        assert item.name == name
        installed = Version(version(item.library))
        assert installed in SpecifierSet(item.versions), (name, installed, item.versions)
        assert item.purpose and item.fallback, name
        # "<library>.<feature>": the library's import name (distribution names differ).
        prefix = name.split(".")[0]
        assert prefix.replace("_", "-") in item.library.lower().replace("_", "-"), name


@pytest.mark.embedded
def test_a_missing_target_turns_its_hook_off_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from twisted.web.http import HTTPChannel

    from internals.readtimeout import request_read_timeout_install

    monkeypatch.delattr(HTTPChannel, "allContentReceived")
    try:
        result = hooks_verify()
        assert {name for name, active in result.items() if not active} == {
            "twisted.http_read_timeout"
        }
        assert not hook_active("twisted.http_read_timeout")
        assert request_read_timeout_install(5) is False
        assert gauge("twisted.http_read_timeout") == 0.0
    finally:
        monkeypatch.undo()
        hooks_verify()
        request_read_timeout_install(settings.CHAT["REQUEST_READ_TIMEOUT_SECONDS"])
    assert warnings_of(caplog) == [
        "internals hook twisted.http_read_timeout is off (target check failed: "
        "AttributeError: twisted.web.http.HTTPChannel lacks allContentReceived); "
        "no read deadline but Twisted's 60 s idle timeout"
    ]
    assert hook_active("twisted.http_read_timeout")
    assert gauge("twisted.http_read_timeout") == 1.0


@pytest.mark.embedded
def test_a_version_out_of_range_turns_its_hooks_off_with_one_warning_each(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def versions(distribution: str) -> str:
        return "7.0" if distribution == "Django" else version(distribution)

    monkeypatch.setattr(hooks_module, "version", versions)
    try:
        result = hooks_verify()
    finally:
        monkeypatch.undo()
        hooks_verify()
    django_hooks = sorted(name for name in HOOKS if name.startswith("django."))
    assert sorted(name for name, active in result.items() if not active) == django_hooks
    assert sorted(warnings_of(caplog)) == sorted(
        f"internals hook {name} is off (Django 7.0 is outside >=5.2,<6.1); {hooks()[name].fallback}"
        for name in django_hooks
    )


@pytest.mark.embedded
def test_hooks_named_in_the_setting_are_off(caplog: pytest.LogCaptureFixture) -> None:
    try:
        with override_settings(
            CHAT={**settings.CHAT, "DISABLE_HOOKS": ["whitenoise.async_lookup"]}
        ):
            result = hooks_verify()
    finally:
        hooks_verify()
    assert [name for name, active in result.items() if not active] == ["whitenoise.async_lookup"]
    assert warnings_of(caplog) == [
        "internals hook whitenoise.async_lookup is off (disabled by CHAT_DISABLE_HOOKS); "
        "WhiteNoise's stock sync middleware, run in a thread for every request"
    ]


# The standard paths: each feature's contract with its hook off.


@pytest.mark.embedded
def test_post_content_type_compares_as_twisteds_own(
    hooks_off: Callable[..., dict[str, bool]],
) -> None:
    from email.message import EmailMessage

    from twisted.web import http

    def email_parsed(line: bytes) -> bytes:
        message = EmailMessage()
        message["content-type"] = line.decode("charmap")
        return message.get_content_type().encode("charmap")

    forms = (b"application/x-www-form-urlencoded", b"multipart/form-data")
    lines = [
        b"application/json",
        b"application/json; charset=utf-8",
        b"Application/X-WWW-Form-URLencoded",
        b"application/x-www-form-urlencoded ; charset=utf-8",
        b"multipart/form-data; boundary=----x",
        b"MULTIPART/FORM-DATA;boundary=y",
        b"text/plain",
        b"nonsense",
        b"",
    ]
    assert hook_active("twisted.post_content_type")
    # The key is only compared with the form types: the same answer for every line.
    for line in lines:
        assert (http._parseContentType(line) in forms) == (email_parsed(line) in forms), line
    assert http._parseContentType(b"Multipart/Form-Data; boundary=z") == forms[1]
    hooks_off("twisted.post_content_type")
    # Off: Twisted's own parse (the email package's answer, text/plain for nonsense).
    assert http._parseContentType(b"nonsense") == b"text/plain"


@pytest.mark.django_db(transaction=True)
@pytest.mark.embedded
def test_model_restore_without_its_hook_runs_from_db(
    hooks_off: Callable[..., dict[str, bool]],
) -> None:
    from django.utils import timezone

    now = timezone.now()
    # Not in the model's field order: each value must land on its own field.
    values = {"seq": 7, "id": 5, "text": "hi", "room_id": 2, "created_at": now, "author_id": 3}
    inits: list[object] = []

    def counted(sender: Any, instance: object, **kwargs: Any) -> None:
        inits.append(instance)

    signals.post_init.connect(counted, sender=Message)
    try:
        fast = model_restore(Message, "default", values)
        assert inits == []  # no Model.__init__
        hooks_off("django.model_restore")
        public = model_restore(Message, "default", values)
        partial = model_restore(Message, "default", {"seq": 7, "id": 5})
        assert inits == [public, partial]
    finally:
        signals.post_init.disconnect(counted, sender=Message)
    expected = {"id": 5, "room_id": 2, "seq": 7, "author_id": 3, "text": "hi", "created_at": now}
    for restored in (fast, public):
        assert {k: v for k, v in restored.__dict__.items() if k != "_state"} == expected
        assert (restored._state.adding, restored._state.db) == (False, "default")
    # The fields left out are deferred, as with from_db.
    assert (partial.pk, partial.seq, partial.get_deferred_fields()) == (
        5,
        7,
        {
            "room_id",
            "author_id",
            "text",
            "created_at",
            "edited_at",
            "deleted",
            "reply_to_id",
            "client_id",
        },
    )


@pytest.mark.django_db(transaction=True)
def test_posting_without_the_prepared_statement(
    hooks_off: Callable[..., dict[str, bool]],
) -> None:
    assert connection.vendor == "postgresql"
    alice = factories.member("alice").user
    with db.statement_cursor(connections["default"]) as cursor:
        assert type(cursor.cursor).__name__ == "_PreparedCursor"
    hooks_off("django.prepared_statement")
    with db.statement_cursor(connections["default"]) as cursor:
        assert type(cursor.cursor).__name__ != "_PreparedCursor"
    results = posting.messages_create(
        [posting.Post("a", alice, "one"), posting.Post("b", alice, "two")]
    )
    results.append(posting.message_create(room_name="a", author=alice, text="three"))
    assert [(m.room.name, m.seq, m.text) for m in results] == [  # type: ignore[union-attr]
        ("a", 1, "one"),
        ("b", 1, "two"),
        ("a", 2, "three"),
    ]
    assert list(
        Message.objects.order_by("room__name", "seq").values_list("room__name", "seq", "text")
    ) == [("a", 1, "one"), ("a", 2, "three"), ("b", 1, "two")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.embedded
async def test_subscription_and_mutation_without_the_transport_hooks(
    sockets: list[GraphQLSocket],
    alice: factories.Member,
    hooks_off: Callable[..., dict[str, bool]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import internals.protocols

    hooks_off(*TRANSPORT)

    def not_taken(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a fast path ran with its hooks off")

    monkeypatch.setattr(internals.protocols, "fast_path_serve", not_taken)

    listener = GraphQLSocket()
    sockets.append(listener)
    assert await listener.connect() == {"type": "connection_ack"}
    await listener.subscribe("1", SUBSCRIPTION, {"room": "lobby", "afterSeq": None})
    legacy = GraphQLSocket("graphql-ws")
    sockets.append(legacy)
    assert await legacy.connect() == {"type": "connection_ack"}
    await legacy.subscribe("a", SUBSCRIPTION, {"room": "lobby", "afterSeq": None})
    await wait_for(lambda: get_hub().rooms == {"lobby": 2})

    poster = GraphQLSocket()
    sockets.append(poster)
    assert await poster.connect({"authToken": alice.token}) == {"type": "connection_ack"}
    await poster.subscribe("p", SEND, {"room": "lobby", "text": " hello "})
    sent = [await poster.receive(), await poster.receive()]

    stored = await sync_to_async(Message.objects.select_related("author", "room").get)()
    expected = message_json(stored)
    assert sent == [
        {"id": "p", "type": "next", "payload": {"data": {"sendMessage": expected}}},
        {"id": "p", "type": "complete"},
    ]
    assert await listener.receive() == {
        "id": "1",
        "type": "next",
        "payload": {"data": {"messageAdded": expected}},
    }
    assert await legacy.receive() == {
        "id": "a",
        "type": "data",
        "payload": {"data": {"messageAdded": expected}},
    }
    # Over HTTP too (the validation cache is off with strawberry.graphql_schema), with
    # operation selection as the GraphQL spec says (a public extension, no hook).
    assert await GraphQLHttp(alice.token)("query { me { username } }") == {
        "data": {"me": {"username": "alice"}}
    }
    two = await GraphQLHttp(alice.token)("query A { __typename } query B { __typename }")
    assert two == {
        "data": None,
        "errors": [
            {
                "message": "Must provide operation name if query contains multiple operations.",
                "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"},
            }
        ],
    }
    await listener.assert_silent()
    # Strawberry's own handling of a syntax error: the socket closes with 4400 (with the
    # hook, an error message for the operation: tests/schema/test_ws_conformance.py).
    await listener.send({"id": "bad", "type": "subscribe", "payload": {"query": "subscription {"}})
    assert await listener.receive_close() == {
        "type": "websocket.close",
        "code": 4400,
        "reason": "Syntax Error: Expected Name, found <EOF>.",
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.embedded
async def test_http_and_static_files_without_the_django_and_whitenoise_hooks(
    alice: factories.Member,
    hooks_off: Callable[..., dict[str, bool]],
    fast_path_switch: Callable[[bool], None],
) -> None:
    from django.http import HttpResponse
    from django.test import AsyncRequestFactory

    from internals.whitenoise import StaticFilesMiddleware
    from project import middleware

    # Through Django's middleware, not the HTTP front (internals/fastpaths/http.py).
    fast_path_switch(False)
    hooks_off(
        "django.inline_middleware",
        "django.asgi_without_thread_sensitive_context",
        "whitenoise.async_lookup",
    )
    called: list[str] = []
    original = middleware.MiddlewareMixin.__acall__

    async def counted(self: Any, request: Any) -> Any:
        called.append(type(self).__name__)
        return await original(self, request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(middleware.MiddlewareMixin, "__acall__", counted)
        assert await GraphQLHttp(alice.token)("query { me { username } }") == {
            "data": {"me": {"username": "alice"}}
        }
    # Django's own __acall__ ran for every standard middleware.
    assert "SessionMiddleware" in called and "CsrfViewMiddleware" in called

    async def not_static(request: Any) -> HttpResponse:
        return HttpResponse(b"not static", status=404)

    stock = StaticFilesMiddleware(not_static)  # made while the hook is off
    request = AsyncRequestFactory().get("/static/graphiql/index.css")
    served = await stock(request)
    missing = await stock(AsyncRequestFactory().get("/static/nothing-here.css"))
    expected = (Path(settings.BASE_DIR) / "schema/static/graphiql/index.css").read_bytes()
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == expected  # WhiteNoise's own file response
    assert (missing.status_code, missing.content) == (404, b"not static")


def hooks_metric(daphne_port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{daphne_port}/metrics", timeout=10) as page:
        text = page.read().decode()
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("chat_internals_hook_active{"):
            labels, value = line.rsplit(" ", 1)
            found[labels.split('"')[1]] = float(value)
    return found


@pytest.mark.django_db(transaction=True)
async def test_fan_out_through_daphne_without_the_write_path_hooks(
    redis_server: RedisServer, postgres_server: PostgresServer
) -> None:
    alice = await sync_to_async(factories.member)("alice")
    with daphnes_running(
        1,
        redis_server,
        postgres_server,
        CHAT_DISABLE_HOOKS=",".join(WRITE_PATH),
        CHAT_KEEPALIVE_SECONDS="0",
        CHAT_RESYNC_SECONDS="3600",
    ) as (daphne,):
        metric = await asyncio.to_thread(hooks_metric, daphne.port)
        assert metric == {name: 0.0 if name in WRITE_PATH else 1.0 for name in HOOKS}
        # afterSeq 0: a subscription still starting when a post lands replays it.
        query = (
            'subscription { messageAdded(room: "fan", afterSeq: 0) '
            "{ seq text author { username } } }"
        )
        clients = []
        for n in range(3):
            ws = await websockets.connect(
                daphne.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
            )
            clients.append(ws)
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(await ws.recv()) == {"type": "connection_ack"}
            await ws.send(
                json.dumps({"id": f"s{n}", "type": "subscribe", "payload": {"query": query}})
            )
        # And one over SSE (internals/httpstream.py), without its producer.
        sse, _ = await SseClient.open(daphne.port, {"query": query}, alice.token)
        assert await sse.event() == b":\n\n"
        try:
            # Frames with 16-bit and 7-bit payload lengths.
            texts = ["中" * 4000, "short", "x" * 200 + " ü é"]
            for text in texts:
                body = await asyncio.to_thread(
                    daphne.post,
                    'mutation($t: String!) { sendMessage(room: "fan", text: $t) { seq } }',
                    {"t": text},
                    alice.token,
                )
                assert "errors" not in body, body
            for n, ws in enumerate(clients):
                frames: list[dict[str, Any]] = []
                while len(frames) < len(texts):
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    frames.append(frame)
                assert frames == [
                    {
                        "id": f"s{n}",
                        "type": "next",
                        "payload": {
                            "data": {
                                "messageAdded": {
                                    "seq": i + 1,
                                    "text": text,
                                    "author": {"username": "alice"},
                                }
                            }
                        },
                    }
                    for i, text in enumerate(texts)
                ]
            assert [await sse.payload() for _ in texts] == [frame["payload"] for frame in frames]
        finally:
            sse.close()
            for ws in clients:
                await ws.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.embedded
async def test_the_calling_loop_of_an_orm_thread(
    hooks_off: Callable[..., dict[str, bool]],
) -> None:
    from internals.asgiref import main_event_loop

    loop = asyncio.get_running_loop()
    assert db.calling_loop() is None
    assert await db.in_thread(db.calling_loop)() is loop
    assert await sync_to_async(main_event_loop)() is loop
    hooks_off("asgiref.main_event_loop")
    assert await sync_to_async(main_event_loop)() is None
    # The standard path needs no hook.
    assert await db.in_thread(db.calling_loop)() is loop


@pytest.mark.embedded
async def test_shard_batches_only_for_channels_redis_pubsub_with_its_hook(
    hooks_off: Callable[..., dict[str, bool]],
) -> None:
    from channels.layers import InMemoryChannelLayer, get_channel_layer
    from channels_redis.pubsub import RedisPubSubChannelLayer

    from internals.channels_redis import shard_batches

    assert shard_batches(InMemoryChannelLayer(), [("g", {"type": "x"})]) is None
    layer = get_channel_layer()
    if isinstance(layer, RedisPubSubChannelLayer):
        batches = shard_batches(layer, [("room.a", {"type": "x", "n": 1}), ("room.a", {"n": 2})])
        assert batches is not None
        assert [events for events, _ in batches] == [[{"type": "x", "n": 1}, {"n": 2}]]
        for _, publish in batches:
            await publish
    hooks_off("channels_redis.shard_publish")
    assert shard_batches(layer, [("room.a", {"type": "x"})]) is None


@pytest.mark.parametrize("debug", [False, True])
def test_a_production_process_refuses_to_start_without_its_backpressure_hooks(
    monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    """Their fallback buffers a client that stops reading without limit: not a slower path
    but a lost bound, so it takes an explicit CHAT_DISABLE_HOOKS, not a library upgrade."""

    def faked(name: str) -> str:
        return "9.0" if name == "daphne" else version(name)

    monkeypatch.setattr(hooks_module, "version", faked)
    try:
        with override_settings(DEBUG=debug):
            if debug:
                assert hooks_verify()["daphne.send_protocol"] is False
            else:
                refused = r"hooks daphne\.send_protocol are off"
                with pytest.raises(ImproperlyConfigured, match=refused):
                    hooks_verify()
            result = hooks_verify(disabled=["daphne.send_protocol"])
        # (daphne.close_reason is off too, out of its range, but drops no bound.)
        assert [name for name, on in result.items() if not on] == [
            "daphne.send_protocol",
            "daphne.close_reason",
        ]
        assert sorted(name for name, hook in hooks().items() if hook.required) == [
            "daphne.send_protocol",
            "twisted.http_producer",
            "twisted.upgrade_producer",
        ]
    finally:
        monkeypatch.undo()
        hooks_verify()


async def test_subscription_events_do_not_grow_the_executors_memo(
    hooks_off: Callable[..., dict[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """graphql-core 3.3 runs each event with a shallow copy of the subscription's executor:
    without the hook, every event's field groups stay in the subscription's memo (what the
    standard path leaked, ~15 KB an event)."""
    from graphql import GraphQLSchema, build_schema, parse, subscribe
    from graphql.execution.executor import Executor

    schema: GraphQLSchema = build_schema(
        "type Query { a: Int } type Tick { n: Int, double: Int } type Subscription { tick: Tick }"
    )

    async def ticks(*_: Any) -> Any:
        for n in range(50):
            yield {"tick": {"n": n, "double": 2 * n}}

    schema.subscription_type.fields["tick"].subscribe = ticks  # type: ignore[union-attr]
    roots: list[Any] = []
    build = Executor.build_per_event_executor

    def recorded(self: Any, payload: Any) -> Any:
        roots.append(self)
        return build(self, payload)

    monkeypatch.setattr(Executor, "build_per_event_executor", recorded)

    async def memo_after_50_events() -> int:
        roots.clear()
        stream: Any = subscribe(schema, parse("subscription { tick { n double } }"))
        if inspect.isawaitable(stream):
            stream = await stream
        results = [result async for result in stream]
        assert [r.data for r in results] == [{"tick": {"n": n, "double": 2 * n}} for n in range(50)]
        assert len({id(root) for root in roots}) == 1
        return len(roots[0]._relevant_sub_fields)

    assert await memo_after_50_events() == 0
    hooks_off("graphql.per_event_memo")
    assert await memo_after_50_events() == 50
