"""GraphQL over HTTP against a Django 404 on the same daphne, with wrk, side by side.

    .venv/bin/python -m bench.http                 # 10 s per request kind, 8 connections
    .venv/bin/python -m bench.http --seconds 3 --rounds 3 --env CHAT_FAST_PATHS=0

Starts a private redis-server and PostgreSQL (bench/__main__.py's), one daphne, registers
a user, then runs wrk (the Debian package; installed with apt-get if missing) in turn on:
``not-found`` (GET of a path with no route: Django's 404), ``anonymous`` and
``authenticated`` (POST ``{__typename}`` without and with the bearer token), and
``sendMessage`` (POST the bench client's mutation, with the token), and
``sendMessage-ws`` (the same mutation over as many graphql-transport-ws sockets as wrk has
connections, each waiting for its answer before the next: a Python client, so a ceiling
of its own on a small machine). Prints one JSON line per request kind and round (with the
CPU per request of daphne and of PostgreSQL: the server's own work, whatever the
machine's load), then the medians of the ratios the issue sets figures for: sendMessage /
not-found (>= 0.8) and authenticated / anonymous (>= 0.9), and sendMessage over HTTP /
over the websocket.

``--synchronous-commit off`` sets PostgreSQL's synchronous_commit off before daphne
starts: a diagnostic, not a deployment setting. Every post is a durable commit, so with
it on the post rate is bounded by the disk's flush time, whatever the server does around
it; with it off, what is left is the server's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import psycopg
import websockets
from websockets.typing import Subprotocol

from bench.__main__ import Servers, cpu_seconds, profile_start, profile_stop, start_daphne

__all__ = ["main", "wrk_ensure"]

SEND_MESSAGE = (
    "mutation($room: String!, $text: String!) { sendMessage(room: $room, text: $text) { seq } }"
)

# wrk requests: (method, path, body or None, with the token).
KINDS: dict[str, tuple[str, str, dict[str, Any] | None, bool]] = {
    "not-found": ("GET", "/no-such-page/", None, False),
    "anonymous": ("POST", "/graphql/", {"query": "{ __typename }"}, False),
    "authenticated": ("POST", "/graphql/", {"query": "{ __typename }"}, True),
    "sendMessage": (
        "POST", "/graphql/",
        {"query": SEND_MESSAGE, "variables": {"room": "wrk", "text": "hello"}}, True,
    ),
}  # fmt: skip


RATIOS = {
    "sendMessage_vs_not_found": ("sendMessage", "not-found"),
    "authenticated_vs_anonymous": ("authenticated", "anonymous"),
    "sendMessage_http_vs_ws": ("sendMessage", "sendMessage-ws"),
}


def wrk_ensure() -> str:
    """The wrk executable, installed from the Debian package if missing."""
    found = shutil.which("wrk")
    if found is None:
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    version = subprocess.run([found, "-v"], capture_output=True, text=True)
    if "wrk" not in version.stdout + version.stderr:
        raise RuntimeError(f"{found} is not wrk")
    return found


def _script(method: str, body: dict[str, Any] | None, token: str | None) -> str:
    lines = [f'wrk.method = "{method}"']
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(json.dumps(body))}")
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    if token is not None:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    return "\n".join(lines) + "\n"


def _wrk(wrk: str, url: str, script: Path, seconds: float, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [wrk, "-t", "1", "-c", str(connections), "-d", f"{seconds:g}s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    assert rate is not None and total is not None, out
    return {
        "requests_per_s": float(rate.group(1)),
        "requests": int(total.group(1)),
        "non_2xx_3xx": int(errors.group(1)) if errors else 0,
    }


def _cpu(pid: int, servers: Servers) -> dict[str, float]:
    """CPU seconds so far of daphne, and of PostgreSQL's processes (its backends for
    daphne's connections included)."""
    return {
        "daphne": cpu_seconds([psutil.Process(pid)]),
        "postgres": cpu_seconds(servers.processes()["postgres"]),
    }


async def _ws_posts(port: int, token: str, seconds: float, sockets: int) -> dict[str, float]:
    """sendMessage over ``sockets`` graphql-transport-ws sockets for ``seconds``, one
    post in flight on each: the rate of posts answered."""
    variables = KINDS["sendMessage"][2]
    assert variables is not None
    answered = 0
    errors = 0

    async def one(deadline: float) -> None:
        nonlocal answered, errors
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/graphql/", subprotocols=[Subprotocol("graphql-transport-ws")]
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
            await ws.recv()
            n = 0
            while time.monotonic() < deadline:
                n += 1
                await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": variables}))
                while (frame := json.loads(await ws.recv()))["type"] != "complete":
                    errors += bool(frame.get("payload", {}).get("errors"))
                answered += 1

    started = time.monotonic()
    await asyncio.gather(*(one(started + seconds) for _ in range(sockets)))
    return {
        "requests_per_s": round(answered / (time.monotonic() - started), 2),
        "requests": answered,
        "errors": errors,
    }


def _register(port: int) -> str:
    body = json.dumps(
        {
            "query": 'mutation { register(username: "wrk", password: "bench password 1234") '
            "{ token } }"
        }
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql/",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["data"]["register"]["token"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--kinds", default=",".join([*KINDS, "sendMessage-ws"]))
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="an environment variable for daphne (e.g. CHAT_FAST_PATHS=0)",
    )  # fmt: skip
    parser.add_argument(
        "--synchronous-commit", choices=["on", "off"], default="on",
        help="PostgreSQL's synchronous_commit (off: a diagnostic, see the module docstring)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", default="",
        help="a directory: py-spy samples daphne during each wrk run (raw folded stacks)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.profile:
        os.environ["BENCH_PROFILE_DIR"] = args.profile
    wrk = wrk_ensure()
    extra = dict(item.partition("=")[::2] for item in args.env)
    labels = {**extra, "synchronous_commit": args.synchronous_commit}
    kinds = args.kinds.split(",")
    servers = Servers()
    workdir = Path(tempfile.mkdtemp(prefix="chat-bench-http-"))
    rates: dict[str, list[float]] = {}
    try:
        servers.reset()
        if args.synchronous_commit == "off":
            with psycopg.connect(
                host=servers.postgres.socket_dir, user="postgres", dbname="bench", autocommit=True
            ) as connection:
                connection.execute("ALTER SYSTEM SET synchronous_commit = off")
                connection.execute("SELECT pg_reload_conf()")
        daphne, port = start_daphne("project.asgi:application", "pubsub", servers, extra)
        try:
            token = _register(port)
            for round_ in range(1, args.rounds + 1):
                for kind in kinds:
                    profiler = (
                        profile_start(daphne.pid, f"{kind}-{round_}") if args.profile else None
                    )
                    cpu_before = _cpu(daphne.pid, servers)
                    if kind == "sendMessage-ws":
                        row = asyncio.run(_ws_posts(port, token, args.seconds, args.connections))
                    else:
                        method, path, body, auth = KINDS[kind]
                        script = workdir / f"{kind}.lua"
                        script.write_text(_script(method, body, token if auth else None))
                        row = _wrk(
                            wrk, f"http://127.0.0.1:{port}{path}", script, args.seconds,
                            args.connections,
                        )  # fmt: skip
                    if profiler is not None:
                        profile_stop(profiler)
                    cpu_after = _cpu(daphne.pid, servers)
                    for part in ("daphne", "postgres"):
                        used = cpu_after[part] - cpu_before[part]
                        row[f"{part}_cpu_us_per_request"] = round(used / row["requests"] * 1e6, 1)
                    rates.setdefault(kind, []).append(row["requests_per_s"])
                    print(json.dumps({"kind": kind, "round": round_, **row, **labels}), flush=True)
        finally:
            daphne.terminate()
            daphne.wait()
    finally:
        servers.stop()
    medians = {kind: statistics.median(values) for kind, values in rates.items()}
    summary: dict[str, Any] = {"median_requests_per_s": medians, **labels}
    # Each ratio taken within a round (its two kinds measured one after the other), then
    # the median over the rounds: the machine's load drifts between rounds.
    for name, (this, that) in RATIOS.items():
        if this in rates and that in rates:
            summary[name] = round(
                statistics.median(a / b for a, b in zip(rates[this], rates[that], strict=True)),
                2,
            )
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
