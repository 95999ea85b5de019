"""GraphQL over HTTP against a Django 404 on the same daphne, with wrk, side by side.

    .venv/bin/python -m bench.http                 # 10 s per request kind, 8 connections
    .venv/bin/python -m bench.http --seconds 3 --rounds 3 --env CHAT_FAST_PATHS=0

Starts a private redis-server and PostgreSQL (bench/__main__.py's), one daphne, registers
a user, then runs wrk (the Debian package; installed with apt-get if missing) in turn on:
``not-found`` (GET of a path with no route: Django's 404), ``anonymous`` and
``authenticated`` (POST ``{__typename}`` without and with the bearer token), and
``sendMessage`` (POST the bench client's mutation, with the token). Prints one JSON line
per request kind and round, then the medians of the ratios the issue sets figures for:
sendMessage / not-found (>= 0.8) and authenticated / anonymous (>= 0.9).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from bench.__main__ import Servers, profile_start, profile_stop, start_daphne

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
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="an environment variable for daphne (e.g. CHAT_FAST_PATHS=0)",
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
    kinds = args.kinds.split(",")
    servers = Servers()
    workdir = Path(tempfile.mkdtemp(prefix="chat-bench-http-"))
    rates: dict[str, list[float]] = {}
    try:
        servers.reset()
        daphne, port = start_daphne("project.asgi:application", "pubsub", servers, extra)
        try:
            token = _register(port)
            for round_ in range(1, args.rounds + 1):
                for kind in kinds:
                    method, path, body, auth = KINDS[kind]
                    script = workdir / f"{kind}.lua"
                    script.write_text(_script(method, body, token if auth else None))
                    profiler = (
                        profile_start(daphne.pid, f"{kind}-{round_}") if args.profile else None
                    )
                    row = _wrk(
                        wrk, f"http://127.0.0.1:{port}{path}", script, args.seconds,
                        args.connections,
                    )  # fmt: skip
                    if profiler is not None:
                        profile_stop(profiler)
                    rates.setdefault(kind, []).append(row["requests_per_s"])
                    print(json.dumps({"kind": kind, "round": round_, **row, **extra}), flush=True)
        finally:
            daphne.terminate()
            daphne.wait()
    finally:
        servers.stop()
    medians = {kind: statistics.median(values) for kind, values in rates.items()}
    summary: dict[str, Any] = {"median_requests_per_s": medians, **extra}
    if "sendMessage" in medians and "not-found" in medians:
        summary["sendMessage_vs_not_found"] = round(
            medians["sendMessage"] / medians["not-found"], 2
        )
    if "authenticated" in medians and "anonymous" in medians:
        summary["authenticated_vs_anonymous"] = round(
            medians["authenticated"] / medians["anonymous"], 2
        )
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
