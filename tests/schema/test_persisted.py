"""Automatic persisted queries and the allow-list (issue 15, item 5), over HTTP POST and
GET and both websocket protocols. (Apollo's link against daphne, and two processes:
tests/frontend/test_persisted_clients.py.)"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.conf import settings
from django.core.management import CommandError, call_command

from schema.persisted import document_hash, persisted_store_clear
from tests.conftest import GraphQLSocket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]

QUERY = "{ __typename }"
SHA = document_hash(QUERY)
APQ = {"persistedQuery": {"version": 1, "sha256Hash": SHA}}
NOT_FOUND_ERROR = {
    "message": "PersistedQueryNotFound",
    "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
}
NOT_FOUND = {"data": None, "errors": [NOT_FOUND_ERROR]}
MISMATCH = {
    "data": None,
    "errors": [
        {
            "message": "provided sha does not match query",
            "extensions": {"code": "PERSISTED_QUERY_INVALID"},
        }
    ],
}
NOT_ALLOWED = {
    "data": None,
    "errors": [
        {
            "message": "Only registered documents may run on this server.",
            "extensions": {"code": "PERSISTED_QUERY_NOT_ALLOWED"},
        }
    ],
}
TYPENAME = {"data": {"__typename": "Query"}}


@pytest.fixture(autouse=True)
async def _empty_store() -> AsyncIterator[None]:
    await persisted_store_clear()
    yield
    await persisted_store_clear()


async def post(body: dict[str, Any]) -> tuple[int, Any]:
    from project.asgi import application

    headers = [(b"content-type", b"application/json"), (b"host", b"localhost")]
    communicator = HttpCommunicator(
        application, "POST", "/graphql/", body=json.dumps(body).encode(), headers=headers
    )
    response = await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)
    return response["status"], json.loads(response["body"])


async def get(params: dict[str, Any]) -> tuple[int, Any]:
    from project.asgi import application

    query = urlencode({k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()})
    communicator = HttpCommunicator(
        application,
        "GET",
        f"/graphql/?{query}",
        headers=[(b"host", b"localhost"), (b"accept", b"application/json")],
    )
    response = await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)
    return response["status"], json.loads(response["body"])


async def test_http_post_miss_then_register_then_hit() -> None:
    assert await post({"extensions": APQ}) == (200, NOT_FOUND)
    assert await post({"query": QUERY, "extensions": APQ}) == (200, TYPENAME)
    assert await post({"extensions": APQ}) == (200, TYPENAME)


async def test_http_get_miss_then_register_then_hit() -> None:
    assert await get({"extensions": APQ}) == (200, NOT_FOUND)
    assert await get({"query": QUERY, "extensions": APQ}) == (200, TYPENAME)
    assert await get({"extensions": APQ}) == (200, TYPENAME)


async def test_a_wrong_hash_or_version_is_refused_and_stores_nothing() -> None:
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": document_hash("{ me { id } }")}}
    assert await post({"query": QUERY, "extensions": wrong}) == (200, MISMATCH)
    assert await post({"extensions": wrong}) == (200, NOT_FOUND)
    assert await post({"extensions": APQ}) == (200, NOT_FOUND)
    invalid = [
        ({"version": 2, "sha256Hash": SHA}, "Unsupported persisted query version."),
        ("yes", "Unsupported persisted query version."),
        (
            {"version": 1, "sha256Hash": SHA.upper()},
            "persistedQuery.sha256Hash must be 64 lower-case hex digits.",
        ),
        ({"version": 1}, "persistedQuery.sha256Hash must be 64 lower-case hex digits."),
    ]
    for persisted, message in invalid:
        body = {"query": QUERY, "extensions": {"persistedQuery": persisted}}
        assert await post(body) == (
            200,
            {
                "data": None,
                "errors": [{"message": message, "extensions": {"code": "PERSISTED_QUERY_INVALID"}}],
            },
        ), persisted


async def test_store_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    documents = ["query A { __typename }", "query B { __typename }", "query C { __typename }"]
    # Room for two of them.
    monkeypatch.setitem(settings.CHAT, "PERSISTED_QUERIES_BYTES", 2 * len(documents[0]))
    for document in documents:
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(document)}}
        assert (await post({"query": document, "extensions": extensions}))[0] == 200
    found = []
    for document in documents:
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(document)}}
        found.append(await post({"extensions": extensions}) == (200, TYPENAME))
    # The oldest went first.
    assert found == [False, True, True]
    # Registering one again moves it to the newest.
    first = documents[0]
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(first)}}
    assert (await post({"query": first, "extensions": extensions}))[0] == 200
    assert await post({"extensions": extensions}) == (200, TYPENAME)
    monkeypatch.setitem(settings.CHAT, "PERSISTED_QUERY_TTL_SECONDS", -1)
    assert await post({"extensions": extensions}) == (200, NOT_FOUND)


async def test_websocket_transport_ws_and_legacy_graphql_ws(
    sockets: list[GraphQLSocket],
) -> None:
    socket = GraphQLSocket()
    sockets.append(socket)
    assert await socket.connect() == {"type": "connection_ack"}
    await socket.send({"id": "1", "type": "subscribe", "payload": {"extensions": APQ}})
    assert await socket.receive() == {"id": "1", "type": "error", "payload": [NOT_FOUND_ERROR]}
    payload = {"query": QUERY, "extensions": APQ}
    await socket.send({"id": "2", "type": "subscribe", "payload": payload})
    assert await socket.receive() == {"id": "2", "type": "next", "payload": TYPENAME}
    assert await socket.receive() == {"id": "2", "type": "complete"}
    await socket.send({"id": "3", "type": "subscribe", "payload": {"extensions": APQ}})
    assert await socket.receive() == {"id": "3", "type": "next", "payload": TYPENAME}
    assert await socket.receive() == {"id": "3", "type": "complete"}

    legacy = GraphQLSocket("graphql-ws")
    sockets.append(legacy)
    assert await legacy.connect() == {"type": "connection_ack"}
    other = "query Other { __typename }"
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(other)}}
    await legacy.send({"id": "1", "type": "start", "payload": {"extensions": extensions}})
    assert await legacy.receive() == {"id": "1", "type": "error", "payload": NOT_FOUND_ERROR}
    # The document registered on the other socket, found: Strawberry's graphql-ws runs
    # subscriptions only, and says so of this one.
    await legacy.send({"id": "2", "type": "start", "payload": {"extensions": APQ}})
    assert await legacy.receive() == {
        "id": "2",
        "type": "error",
        "payload": {"message": "queries are not allowed", "extensions": {"code": "BAD_REQUEST"}},
    }


async def test_allow_list_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(settings.CHAT, "PERSISTED_QUERIES_ONLY", True)
    # graphql-codegen's client preset (persistedDocuments, hashAlgorithm sha256) writes
    # persisted-documents.json: hash -> document.
    extracted = tmp_path / "persisted-documents.json"
    extracted.write_text(json.dumps({SHA: QUERY}))
    if not settings.REDIS_SHARDS:
        # The embedded run: the command would register in its own memory, not the server's.
        with pytest.raises(CommandError, match="Registering persisted documents needs REDIS_URL"):
            await sync_to_async(call_command)("persisted_queries_register", str(extracted))
        assert await post({"query": QUERY}) == (200, NOT_ALLOWED)
        return
    await sync_to_async(call_command)("persisted_queries_register", str(extracted))

    assert await post({"extensions": APQ}) == (200, TYPENAME)
    assert await post({"query": QUERY}) == (200, TYPENAME)
    other = "query Other { __typename }"
    other_apq = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(other)}}
    assert await post({"query": other}) == (200, NOT_ALLOWED)
    # A client cannot register anything: Apollo's link retries with the query, refused.
    assert await post({"extensions": other_apq}) == (200, NOT_FOUND)
    assert await post({"query": other, "extensions": other_apq}) == (200, NOT_ALLOWED)
    assert await post({"extensions": other_apq}) == (200, NOT_FOUND)

    # The command refuses a file whose hashes do not match, or documents the schema refuses.
    for documents, message in (
        ({SHA: other}, f"{SHA} is not the SHA-256 of its document"),
        (
            {document_hash("{ nope }"): "{ nope }"},
            "Cannot query field 'nope' on type 'Query'.",
        ),
    ):
        extracted.write_text(json.dumps(documents))
        with pytest.raises(CommandError, match=message):
            await sync_to_async(call_command)("persisted_queries_register", str(extracted))
