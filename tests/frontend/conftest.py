"""The frontend package (npm) and a real daphne for the browser and Node client tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Browser, sync_playwright

from tests.daphne import Daphne, daphne_env, start_daphne
from tests.frontend.pages import CHROMIUM, CHROMIUM_ARGS
from tests.servers import PostgresServer, RedisServer

ROOT = Path(__file__).resolve().parent.parent.parent
FRONTEND = ROOT / "frontend"


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run a command in frontend/; fail the test with its output unless it exits 0."""
    result = subprocess.run(
        args, cwd=FRONTEND, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="session")
def frontend() -> Path:
    """frontend/ with its locked npm packages installed (and chromium, for the browser)."""
    subprocess.run([str(ROOT / "bin" / "_frontend")], check=True, timeout=600)
    return FRONTEND


@pytest.fixture(scope="module")
def server_env(
    django_db_setup: None, redis_server: RedisServer, postgres_server: PostgresServer
) -> dict[str, str]:
    return daphne_env(redis_server, postgres_server, connection.settings_dict["NAME"])


@pytest.fixture(scope="module")
def daphne(server_env: dict[str, str]) -> Iterator[Daphne]:
    server = start_daphne(server_env)
    yield server
    server.stop()


@pytest.fixture
def browser(frontend: Path) -> Iterator[Browser]:
    # Function scope: sync Playwright marks an event loop as running in this thread, and
    # the database flush after each test must run without one.
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} missing: bin/_frontend installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
