"""The chat UI pages and their static files, through the ASGI application."""

from __future__ import annotations

from pathlib import Path

import pytest
from channels.testing import HttpCommunicator

# Every request checks the database connection of Django's sync thread at its start
# (close_old_connections), so even pages that run no query need database access.
pytestmark = [pytest.mark.embedded, pytest.mark.django_db(transaction=True)]

STATIC = Path(__file__).resolve().parent.parent.parent / "chat" / "static" / "chat"


async def get(path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    from project.asgi import application

    communicator = HttpCommunicator(application, "GET", path, headers=[(b"host", b"localhost")])
    # Not get_response(): it expects a "body" in the last message of a streamed response,
    # which ASGI makes optional.
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=10)
    body = b""
    while True:
        message = await communicator.receive_output(timeout=10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout=10)
    return start["status"], dict(start["headers"]), body


async def test_index_page_asks_for_a_room() -> None:
    status, headers, body = await get("/chat/")
    assert status == 200
    assert headers[b"Content-Type"] == b"text/html; charset=utf-8"
    assert b'<body data-page="index" data-endpoint="/graphql/" data-index="/chat/">' in body
    assert b'<input id="room-name"' in body
    assert b'<script src="/static/chat/chat.js" defer></script>' in body


async def test_room_page_names_its_room() -> None:
    status, _, body = await get("/chat/lobby_2-b/")
    assert status == 200
    assert (
        b'<body data-page="room" data-endpoint="/graphql/" data-index="/chat/"'
        b' data-room="lobby_2-b">'
    ) in body
    assert b"<title>lobby_2-b \xc2\xb7 Chat</title>" in body


@pytest.mark.parametrize("path", ["/chat/a%20b/", "/chat/%3Cb%3E/", f"/chat/{'x' * 65}/"])
async def test_room_names_outside_the_api_rule_are_not_found(path: str) -> None:
    status, _, _ = await get(path)
    assert status == 404


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("chat.js", b'text/javascript; charset="utf-8"'), ("chat.css", b'text/css; charset="utf-8"')],
)
async def test_static_files_are_served_without_collectstatic(
    name: str, content_type: bytes
) -> None:
    status, headers, body = await get(f"/static/chat/{name}")
    assert status == 200
    assert headers[b"Content-Type"] == content_type
    assert body == (STATIC / name).read_bytes()


async def test_root_redirects_to_the_chat_page() -> None:
    status, headers, body = await get("/")
    assert (status, headers[b"Location"], body) == (302, b"/chat/", b"")
