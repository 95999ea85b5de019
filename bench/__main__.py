"""Fan-out benchmarks: our service against the baselines, side by side, in one run.

    .venv/bin/python -m bench                      # every scenario, every design
    .venv/bin/python -m bench --scenarios fanout --designs ours,tutorial-pubsub
    .venv/bin/python -m bench --tiny               # a few sockets each (the smoke test)
    .venv/bin/python -m bench --scenarios fanout,fanout-events,reactions --designs ours
    .venv/bin/python -m bench --scenarios fanout,fanout-sse,fanout-multipart --designs ours
    .venv/bin/python -m bench --scenarios typing,presence,inbox-roomevents,inbox --designs ours
    .venv/bin/python -m bench --scenarios chat-day --designs ours --set mark_read=false
    .venv/bin/python -m bench --scenarios fanout --designs ours,tutorial-pubsub --post http

Starts a private redis-server and PostgreSQL, then for each scenario and design a fresh
daphne process and a separate client process (bench/client.py; bench/signals.py for the
signal scenarios, whose users, tokens and rooms bench/seed.py bulk-creates first, and
which may start two daphne processes). Prints one JSON line per
scenario and design, then one per scenario with our figures as ratios to each baseline,
then one per scenario with a "compare" entry: its figures as ratios to that scenario's
for the same design (this / that), e.g. roomEvents subscribers against messageAdded ones.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import redis

from tests.servers import PostgresServer, RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent

DESIGNS: dict[str, tuple[str, str]] = {
    # name: (ASGI application, BENCH_LAYER)
    "ours": ("project.asgi:application", "pubsub"),
    "tutorial": ("bench.apps.tutorial:application", "core"),
    "tutorial-pubsub": ("bench.apps.tutorial:application", "pubsub"),
    "strawberry": ("bench.apps.strawberry_plain:application", "core"),
    "strawberry-pubsub": ("bench.apps.strawberry_plain:application", "pubsub"),
    "floor": ("bench.apps.floor:application", "none"),
}

SCENARIOS: dict[str, dict[str, Any]] = {
    "fanout": {"mode": "burst", "rooms": 1, "per_room": 100, "messages": 200},
    "fanout-1k": {"mode": "burst", "rooms": 1, "per_room": 1000, "messages": 100},
    "rooms": {"mode": "burst", "rooms": 100, "per_room": 10, "messages": 1000},
    "steady": {"mode": "steady", "rooms": 1, "per_room": 100, "messages": 400, "rate": 20},
    "idle": {"mode": "idle", "rooms": 1, "per_room": 2000},
    "storm": {"mode": "storm", "rooms": 1, "per_room": 1000},
    # fanout with roomEvents subscribers (only ours has them), beside fanout's figures.
    "fanout-events": {
        "mode": "burst", "rooms": 1, "per_room": 100, "messages": 200,
        "subscription": "roomEvents", "designs": ["ours"], "compare": "fanout",
    },
    # fanout with the subscribers over SSE and over multipart HTTP (internals/httpstream.py),
    # beside fanout's websocket figures.
    "fanout-sse": {
        "mode": "burst", "rooms": 1, "per_room": 100, "messages": 200, "transport": "sse",
        "designs": ["ours"], "compare": "fanout",
    },
    "fanout-multipart": {
        "mode": "burst", "rooms": 1, "per_room": 100, "messages": 200,
        "transport": "multipart", "designs": ["ours"], "compare": "fanout",
    },
    # 100 roomEvents subscribers while 20 users toggle 500 reactions (add, then remove).
    "reactions": {
        "mode": "reactions", "rooms": 1, "per_room": 100, "users": 20, "toggles": 500,
        "subscription": "roomEvents", "designs": ["ours"], "compare": "fanout",
    },
    # Issue 14's signals, driven by bench/signals.py (users, tokens, rooms bulk-made by
    # bench/seed.py); ours only, figures per second of server CPU.
    # 1,000 roomSignals subscribers while 100 users setTyping(true) every 2 s for 20 s.
    "typing": {
        "mode": "typing", "subscribers": 1000, "typers": 100, "period": 2.0, "seconds": 20,
        "designs": ["ours"],
    },
    # 5,000 users subscribe messageAdded over two processes, then leave; 10 observers
    # count the PresenceChanged frames.
    "presence": {
        "mode": "presence", "users": 5000, "observers": 10, "servers": 2, "designs": ["ours"],
    },
    # 1,000 users in 20 of 200 rooms each, one post a second per room for 20 s: every
    # user's 20 roomEvents subscriptions, then (inbox) each user's one inbox subscription.
    "inbox-roomevents": {
        "mode": "inbox", "subscription": "roomEvents", "users": 1000, "rooms": 200,
        "per_user": 20, "seconds": 20, "designs": ["ours"],
    },
    "inbox": {
        "mode": "inbox", "subscription": "inbox", "users": 1000, "rooms": 200, "per_user": 20,
        "seconds": 20, "designs": ["ours"], "compare": "inbox-roomevents",
    },
    # 2,000 users in 400 rooms of Zipf-distributed sizes, each posting about once a minute.
    "chat-day": {
        "mode": "chat-day", "users": 2000, "rooms": 400, "seconds": 60, "designs": ["ours"],
    },
}  # fmt: skip
# The scenarios bench/signals.py drives.
SIGNAL_MODES = {"typing", "presence", "inbox", "chat-day"}
TINY: dict[str, dict[str, Any]] = {
    "fanout": {"per_room": 3, "messages": 5},
    "fanout-1k": {"per_room": 5, "messages": 3},
    "rooms": {"rooms": 2, "per_room": 2, "messages": 4},
    "steady": {"per_room": 2, "messages": 4, "rate": 20},
    "idle": {"per_room": 5},
    "storm": {"per_room": 5},
    "fanout-events": {"per_room": 3, "messages": 5},
    "fanout-sse": {"per_room": 3, "messages": 5},
    "fanout-multipart": {"per_room": 3, "messages": 5},
    "reactions": {"per_room": 3, "users": 2, "toggles": 6},
    "typing": {"subscribers": 4, "typers": 3, "period": 0.5, "seconds": 1.5},
    # The offline grace shortened: the tiny run waits it out once per user.
    "presence": {"users": 6, "observers": 2, "env": {"CHAT_PRESENCE_GRACE_SECONDS": "1"}},
    "inbox-roomevents": {"users": 6, "rooms": 4, "per_user": 2, "seconds": 2},
    "inbox": {"users": 6, "rooms": 4, "per_user": 2, "seconds": 2},
    "chat-day": {"users": 12, "rooms": 5, "seconds": 3, "post_every": 1.0},
}


class Servers:
    def __init__(self) -> None:
        workdir = Path(tempfile.mkdtemp(prefix="chat-bench-"))
        os.environ.setdefault("XDG_RUNTIME_DIR", str(workdir))
        self.redis = RedisServer(workdir / "redis")
        self.redis.start()
        self.postgres = PostgresServer(workdir / "pg")
        self.postgres._server.psql("CREATE DATABASE bench;")
        self.database_url = self.postgres.url("bench")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT, env={**os.environ, "DATABASE_URL": self.database_url}, check=True,
        )  # fmt: skip

    def reset(self) -> None:
        client = redis.Redis.from_url(self.redis.url)
        client.flushall()
        client.close()
        self.postgres._server.psql(
            "\\c bench\nSET client_min_messages = warning;\n"
            "TRUNCATE chat_message, chat_room, chat_authtoken, auth_user CASCADE;"
        )

    def processes(self) -> dict[str, list[psutil.Process]]:
        assert self.redis.process is not None
        postmaster = psutil.Process(self.postgres._server.get_pid())
        return {
            "redis": [psutil.Process(self.redis.process.pid)],
            "postgres": [postmaster, *postmaster.children(recursive=True)],
        }

    def stop(self) -> None:
        self.redis.kill()
        self.postgres.stop()


def _process_cpu_clock() -> Any:
    """Linux's per-process CPU clock (clock_getcpuclockid): nanoseconds, where psutil's
    cpu_times() counts 10 ms ticks, too coarse for a phase of a few hundred ms (fanout
    takes ~0.3 s here, the floor's CPU in it ~0.1 s). None elsewhere."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        getcpuclockid = libc.clock_getcpuclockid
    except (OSError, AttributeError):
        return None

    def read(pid: int) -> float | None:
        clock = ctypes.c_int()
        if getcpuclockid(pid, ctypes.byref(clock)) != 0:
            return None
        try:
            return time.clock_gettime(clock.value)
        except OSError:
            return None

    return read


_cpu_clock = _process_cpu_clock()


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        if _cpu_clock is not None and (seconds := _cpu_clock(process.pid)) is not None:
            total += seconds
            continue
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def start_daphne(
    app: str, layer: str, servers: Servers, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": servers.database_url,
        "REDIS_URL": "" if layer == "none" else servers.redis.url,
        "BENCH_LAYER": layer,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench",
        # The benchmark posts as fast as accepted, from one user.
        "CHAT_RATE_LIMIT": "0",
        # Thousands of clients from 127.0.0.1, subscribed to rooms before their first post.
        "CHAT_MAX_SOCKETS_PER_IP": "0",
        "CHAT_MAX_UNKNOWN_ROOM_SUBSCRIPTIONS": "0",
        # The reactions scenario registers 21 users from 127.0.0.1.
        "CHAT_REGISTER_RATE_LIMIT_IP": "0",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"daphne for {app} did not start")


def profile_start(pid: int, name: str) -> subprocess.Popen[bytes] | None:
    """With BENCH_PROFILE_DIR set, sample the server with py-spy between the start and
    end marks (the timed phase only), as folded stacks for flame graphs."""
    if not (profile_dir := os.environ.get("BENCH_PROFILE_DIR")):
        return None
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--gil", "--format", "raw",
         "--rate", "500", "--pid", str(pid), "-o", str(Path(profile_dir) / f"{name}.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def profile_stop(profiler: subprocess.Popen[bytes]) -> None:
    profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    profiler.wait()


def seed(config: dict[str, Any], servers: Servers) -> str:
    """Bulk-create the scenario's users, tokens and rooms (bench/seed.py); the path of
    the file listing them, for the client."""
    from bench.signals import seed_spec

    workdir = Path(tempfile.mkdtemp(prefix="chat-bench-seed-"))
    spec, out = workdir / "spec.json", workdir / "seed.json"
    spec.write_text(json.dumps(seed_spec(config)))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings",
           "DATABASE_URL": servers.database_url, "REDIS_URL": servers.redis.url}  # fmt: skip
    subprocess.run([sys.executable, "-m", "bench.seed", str(spec), str(out)],
                   cwd=ROOT, env=env, check=True)  # fmt: skip
    return str(out)


def client_args(
    design: str, config: dict[str, Any], bases: list[str], seeded: str, post: str = "ws"
) -> list[str]:
    if config["mode"] in SIGNAL_MODES:
        return [
            sys.executable, "-m", "bench.signals", "--base", ",".join(bases),
            "--config", json.dumps(config), "--seed", seeded,
        ]  # fmt: skip
    return [
        sys.executable, "-m", "bench.client", "--design", design,
        "--base", bases[0], "--mode", config["mode"],
        "--rooms", str(config["rooms"]), "--per-room", str(config["per_room"]),
        "--messages", str(config.get("messages", 0)), "--rate", str(config.get("rate", 20)),
        "--subscription", config.get("subscription", "messageAdded"),
        "--users", str(config.get("users", 20)), "--toggles", str(config.get("toggles", 0)),
        "--transport", config.get("transport", "ws"),
        "--post", post,
    ]  # fmt: skip


def phase_cpu(marks: list[tuple[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per phase between two consecutive marks: its wall seconds and the CPU seconds per
    second (cores) of the daphne processes with Redis (``server``) and of PostgreSQL."""
    phases = {}
    for (name, start), (next_name, end) in itertools.pairwise(marks):
        seconds = end["t"] - start["t"]
        server = (end["daphne_cpu"] - start["daphne_cpu"]) + (end["redis_cpu"] - start["redis_cpu"])
        postgres = sum(
            cpu - start.get(key, 0.0) for key, cpu in end.items() if key.startswith("postgres_")
        )
        phases[f"{name}-{next_name}"] = {
            "seconds": round(seconds, 2),
            "server_cpu_per_s": round(server / seconds, 3) if seconds > 0 else 0.0,
            "postgres_cpu_per_s": round(postgres / seconds, 3) if seconds > 0 else 0.0,
        }
    return phases


def run_one(
    design: str, scenario: str, config: dict[str, Any], servers: Servers, post: str = "ws"
) -> dict[str, Any]:
    app, layer = DESIGNS[design]
    servers.reset()
    seeded = seed(config, servers) if config["mode"] in SIGNAL_MODES else ""
    daphnes = [
        start_daphne(app, layer, servers, config.get("env"))
        for _ in range(config.get("servers", 1))
    ]
    processes = [psutil.Process(daphne.pid) for daphne, _ in daphnes]
    bases = [f"ws://127.0.0.1:{port}" for _, port in daphnes]
    client = subprocess.Popen(
        client_args(design, config, bases, seeded, post),
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    marks: dict[str, dict[str, float]] = {}
    in_order: list[tuple[str, dict[str, float]]] = []
    result: dict[str, Any] = {}
    profiler: subprocess.Popen[bytes] | None = None
    assert client.stdin is not None and client.stdout is not None
    for line in client.stdout:
        if line.startswith("MARK "):
            if line.split()[1] == "start":
                profiler = profile_start(daphnes[0][0].pid, f"{scenario}-{design}")
            elif profiler is not None and line.split()[1] == "end":
                profile_stop(profiler)
                profiler = None
            # Listed at each mark: PostgreSQL's backends for daphne's connections are
            # forked after daphne starts.
            others = servers.processes()
            marks[line.split()[1]] = {
                "t": time.monotonic(),
                "daphne_cpu": cpu_seconds(processes),
                "redis_cpu": cpu_seconds(others["redis"]),
                **{f"postgres_cpu_{p.pid}": cpu_seconds([p]) for p in others["postgres"]},
                "rss": sum(process.memory_info().rss for process in processes),
            }
            in_order.append((line.split()[1], marks[line.split()[1]]))
            client.stdin.write("\n")
            client.stdin.flush()
        elif line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
    client.wait()
    for daphne, _ in daphnes:
        daphne.terminate()
        daphne.wait()
    if client.returncode != 0 or not result:
        # A design that cannot complete the scenario is reported, not fatal to the run.
        return {"scenario": scenario, "design": design, "failures": -1, "error": "client failed"}

    figures: dict[str, Any] = {"scenario": scenario, "design": design, **result}
    if config["mode"] not in SIGNAL_MODES:
        # Only ours posts over HTTP; the baselines have no HTTP API and post over their
        # websocket either way.
        figures["post"] = post if design == "ours" else "ws"
    if "start" in marks and result.get("deliveries"):
        start, end = marks["start"], marks["end"]
        deliveries = result["deliveries"]
        server_cpu = (end["daphne_cpu"] - start["daphne_cpu"]) + (
            end["redis_cpu"] - start["redis_cpu"]
        )
        figures["server_cpu_us_per_delivery"] = round(server_cpu / deliveries * 1e6, 1)
        # Per backend: one that exits before the end mark takes its CPU with it (not
        # counted, an undercount), one forked after the start mark counts in full.
        postgres_cpu = sum(
            cpu - start.get(key, 0.0) for key, cpu in end.items() if key.startswith("postgres_")
        )
        figures["postgres_cpu_us_per_delivery"] = round(postgres_cpu / deliveries * 1e6, 1)
        figures["all_delivered"] = deliveries == result["expected"]
    if config["mode"] in SIGNAL_MODES and "start" in marks:
        whole = phase_cpu([("start", marks["start"]), ("end", marks["end"])])["start-end"]
        if len(in_order) > 2:
            # PostgreSQL's backends that come and go between the marks count in the
            # phases they were seen at the end of: the sum of the phases, not end - start.
            phases = phase_cpu(in_order)
            figures["phases"] = phases
            postgres = sum(p["postgres_cpu_per_s"] * p["seconds"] for p in phases.values())
            whole["postgres_cpu_per_s"] = round(postgres / whole["seconds"], 3)
        if config["mode"] == "typing" and result.get("frames"):
            # TypingChanged frames are the deliveries here: the server's CPU per frame.
            cores = whole["server_cpu_per_s"] * whole["seconds"]
            figures["server_cpu_us_per_frame"] = round(cores / result["frames"] * 1e6, 1)
        figures["server_cpu_per_s"] = whole["server_cpu_per_s"]
        figures["postgres_cpu_per_s"] = whole["postgres_cpu_per_s"]
        if config["mode"] == "chat-day":
            # % of one core (daphne, Redis and PostgreSQL) per 1,000 connected users.
            cores = whole["server_cpu_per_s"] + whole["postgres_cpu_per_s"]
            figures["cpu_pct_per_1k_users"] = round(cores * 100 / (config["users"] / 1000), 2)
            # A server that fell behind did the day's work in more time than the day:
            # the CPU it took over the day's length is what keeping up would need.
            needed = cores * whole["seconds"] / config["seconds"]
            figures["cpu_pct_per_1k_users_to_keep_up"] = round(
                needed * 100 / (config["users"] / 1000), 2
            )
    if "before" in marks:
        count = config["rooms"] * config["per_room"]
        growth = marks["after"]["rss"] - marks["before"]["rss"]
        figures["rss_kb_per_subscription"] = round(growth / count / 1024, 1)
    return figures


RATIO_KEYS = {
    "deliveries_per_s": "higher",
    "server_cpu_us_per_delivery": "lower",
    "p99_ms": "lower",
    "rss_kb_per_subscription": "lower",
    "seconds_to_all_live": "lower",
}


def ratios(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ours = next(r for r in rows if r["design"] == "ours")
    summary: dict[str, Any] = {"scenario": ours["scenario"], "ours_vs": {}}
    for row in rows:
        if row["design"] == "ours":
            continue
        entry = {}
        for key, better in RATIO_KEYS.items():
            if ours.get(key) and row.get(key):
                # Always "ours is N times better" (>1 is better).
                ratio = ours[key] / row[key] if better == "higher" else row[key] / ours[key]
                entry[key] = round(ratio, 2)
        summary["ours_vs"][row["design"]] = entry
    return summary


COMPARE_KEYS = ("deliveries_per_s", "server_cpu_us_per_delivery", "p50_ms", "p99_ms")


def compare(row: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """``row``'s figures over ``other``'s (same design, another scenario): plain ratios,
    this / that, so deliveries_per_s > 1 and server_cpu_us_per_delivery < 1 are better."""
    return {
        "scenario": row["scenario"],
        "compare": other["scenario"],
        "design": row["design"],
        "ratios": {
            key: round(row[key] / other[key], 2)
            for key in COMPARE_KEYS
            if row.get(key) and other.get(key)
        },
    }


def scenario_designs(config: dict[str, Any], designs: list[str]) -> list[str]:
    """The requested designs that can run the scenario."""
    return [d for d in designs if d in config.get("designs", DESIGNS)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--designs", default=",".join(DESIGNS))
    parser.add_argument("--tiny", action="store_true", help="a few sockets each (smoke test)")
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="run the scenarios this many times in turn (rows then carry their round), "
        "then print the median of each compare ratio",
    )  # fmt: skip
    parser.add_argument(
        "--side", default="",
        help="label every row with this (and the 1-minute load average before and after "
        "it: the machine may be shared), for a results file",
    )  # fmt: skip
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override a scenario setting (a JSON value, e.g. seconds=60), in every scenario run",
    )  # fmt: skip
    parser.add_argument(
        "--post", choices=["ws", "http"], default="ws",
        help="how ours posts in the fan-out scenarios: over the websocket, or as Apollo's "
        "split link does, HTTP POST /graphql/ (the baselines post over their websocket)",
    )  # fmt: skip
    args = parser.parse_args()
    overrides = {k: json.loads(v) for k, _, v in (item.partition("=") for item in args.set)}
    designs = args.designs.split(",")
    scenarios = args.scenarios.split(",")
    servers = Servers()
    failed = False
    compared: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    try:
        for round_ in range(1, args.rounds + 1):
            done: dict[tuple[str, str], dict[str, Any]] = {}
            for scenario in scenarios:
                config = {
                    **SCENARIOS[scenario],
                    **(TINY[scenario] if args.tiny else {}),
                    **overrides,
                }
                rows = []
                for design in scenario_designs(config, designs):
                    load_before = os.getloadavg()[0]
                    row = run_one(design, scenario, config, servers, args.post)
                    if args.side:
                        load = [round(load_before, 2), round(os.getloadavg()[0], 2)]
                        row = {"side": args.side, "loadavg_1m": load, **row}
                    # Ours must make every delivery; a baseline that cannot is a finding.
                    failed |= design == "ours" and (
                        row.get("failures", 0) != 0
                        or row.get("all_delivered") is False
                        or row.get("check_failures", 0) != 0
                    )
                    if args.rounds > 1:
                        row["round"] = round_
                    print(json.dumps(row), flush=True)
                    rows.append(row)
                    done[scenario, design] = row
                if "ours" in designs and len(rows) > 1:
                    print(json.dumps(ratios(rows)), flush=True)
            for scenario in scenarios:
                if not (other := SCENARIOS[scenario].get("compare")):
                    continue
                for design in designs:
                    if (scenario, design) in done and (other, design) in done:
                        line = compare(done[scenario, design], done[other, design])
                        if args.side:
                            line = {"side": args.side, **line}
                        compared.setdefault((scenario, other, design), []).append(line["ratios"])
                        if args.rounds > 1:
                            line["round"] = round_
                        print(json.dumps(line), flush=True)
        if args.rounds > 1:
            for (scenario, other, design), runs in compared.items():
                medians = {
                    key: round(statistics.median(r[key] for r in runs if key in r), 2)
                    for key in COMPARE_KEYS
                    if any(key in r for r in runs)
                }
                line = {"scenario": scenario, "compare": other, "design": design,
                        "rounds": len(runs), "median_ratios": medians}  # fmt: skip
                print(json.dumps({"side": args.side, **line} if args.side else line))
    finally:
        servers.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
