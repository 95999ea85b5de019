"""GraphiQL at /graphql/ from our own static files: no CDN, assets fresh and served."""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from channels.testing import HttpCommunicator

from tests.test_scale_out import start_daphne

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "graphiql"
BUNDLE = ROOT / "schema" / "static" / "graphiql"
HTML = [(b"accept", b"text/html"), (b"host", b"localhost")]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value is not None:
                self.urls.append(value)


def referenced(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


async def get(path: str, headers: list[tuple[bytes, bytes]] = HTML) -> dict[str, Any]:
    from project.asgi import application

    communicator = HttpCommunicator(application, "GET", path, headers=headers)
    response = await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)
    return response


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.embedded
async def test_graphiql_page_and_every_asset_it_references_are_served_by_the_app() -> None:
    page = await get("/graphql/")
    assert page["status"] == 200
    headers = dict(page["headers"])
    assert headers[b"Content-Type"] == b"text/html; charset=utf-8"
    html = page["body"].decode()
    assert referenced(html) == [
        "data:,",
        "/static/graphiql/index.css",
        "/static/graphiql/index.js",
    ]
    # The page gets the CSRF cookie it sends back once GraphiQL logs in with a session.
    assert any(k == b"Set-Cookie" and v.startswith(b"csrftoken=") for k, v in page["headers"])
    expected_types = {
        ".css": b'text/css; charset="utf-8"',
        ".js": b'text/javascript; charset="utf-8"',
    }
    for url in referenced(html)[1:]:
        asset = await get(url, headers=[(b"host", b"localhost")])
        assert asset["status"] == 200, url
        assert dict(asset["headers"])[b"Content-Type"] == expected_types[Path(url).suffix]
        assert asset["body"] == (BUNDLE / url.removeprefix("/static/graphiql/")).read_bytes()


@pytest.mark.embedded
async def test_graphiql_page_references_no_other_origin() -> None:
    html = (await get("/graphql/"))["body"].decode()
    assert re.findall(r"(?:https?:)?//[^\s\"'<>]*", html) == []
    for url in referenced(html):
        assert url.startswith(("/", "data:")) and not url.startswith("//"), url


@pytest.mark.embedded
async def test_every_bundle_file_is_served_by_the_app() -> None:
    # index.js loads chunks and Monaco's workers relative to itself.
    build = json.loads((BUNDLE / "BUILD.json").read_text())
    for name in build["outputs"]:
        response = await get(f"/static/graphiql/{name}", headers=[(b"host", b"localhost")])
        assert response["status"] == 200, name


def test_committed_bundle_is_built_from_the_committed_sources() -> None:
    """Fails when graphiql/ changed without `npm run build`, or the bundle was edited."""
    build = json.loads((BUNDLE / "BUILD.json").read_text())
    sources = sorted(
        ["package.json", "package-lock.json", "build.mjs"]
        + [str(p.relative_to(SOURCE)) for p in (SOURCE / "src").rglob("*") if p.is_file()]
    )
    assert build["inputs"] == {name: _sha256(SOURCE / name) for name in sources}
    outputs = sorted(
        str(p.relative_to(BUNDLE))
        for p in BUNDLE.rglob("*")
        if p.is_file() and p.name != "BUILD.json"
    )
    assert build["outputs"] == {name: _sha256(BUNDLE / name) for name in outputs}


def test_graphiql_dependencies_are_pinned_exactly() -> None:
    package = json.loads((SOURCE / "package.json").read_text())
    lock = json.loads((SOURCE / "package-lock.json").read_text())
    for section in ("dependencies", "devDependencies"):
        for name, version in package[section].items():
            assert re.fullmatch(r"\d+\.\d+\.\d+", version), (name, version)
            assert lock["packages"][f"node_modules/{name}"]["version"] == version


@pytest.mark.slow
@pytest.mark.parametrize("debug", ["1", "0"])
def test_daphne_serves_graphiql_assets_with_debug_on_and_off(debug: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_DEBUG": debug,
        "DJANGO_SECRET_KEY": "test-only-secret-key-for-static-serving",
        "DJANGO_LOG_LEVEL": "WARNING",
        # Off by default with DEBUG off (see tests/test_hardening.py).
        "CHAT_GRAPHIQL": "1",
    }
    daphne = start_daphne(env)
    base = f"http://127.0.0.1:{daphne.port}"
    try:
        request = urllib.request.Request(f"{base}/graphql/", headers={"Accept": "text/html"})
        with urllib.request.urlopen(request, timeout=10) as response:
            html = response.read().decode()
        for url in referenced(html)[1:]:
            with urllib.request.urlopen(base + url, timeout=10) as response:
                assert response.status == 200
                asset = BUNDLE / url.removeprefix("/static/graphiql/")
                assert response.read() == asset.read_bytes()
    finally:
        daphne.process.terminate()
        daphne.process.wait(timeout=10)
