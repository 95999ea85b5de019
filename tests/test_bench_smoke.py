"""Every benchmark scenario, tiny, against every design: the suite cannot rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import DESIGNS, SCENARIOS, SIGNAL_MODES

ROOT = Path(__file__).resolve().parent.parent
# The signal scenarios (bench/signals.py) have a test of their own, below.
SIGNALS = [name for name, config in SCENARIOS.items() if config["mode"] in SIGNAL_MODES]
CLASSIC = [name for name in SCENARIOS if name not in SIGNALS]


def bench_tiny(*args: str, timeout: float) -> list[dict[str, Any]]:
    """Run ``python -m bench --tiny`` with ``args`` against its own servers; its rows."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


# 38 daphne processes: ~110 s on an idle 2-core machine before the two roomEvents
# scenarios, 131-341 s with them on a shared one, so the suite's 120 s default would cut
# it off (and orphan the bench's servers); the run's own subprocess timeout below is the
# real bound.
@pytest.mark.slow
@pytest.mark.timeout(660)
def test_every_scenario_runs_tiny_against_every_design() -> None:
    rows = bench_tiny("--scenarios", ",".join(CLASSIC), timeout=600)
    figures = [r for r in rows if "failures" in r]
    # fanout-events and reactions have roomEvents subscribers, fanout-sse and
    # fanout-multipart HTTP-streamed ones: ours only.
    only_ours = {"fanout-events", "reactions", "fanout-sse", "fanout-multipart"}
    assert {(r["scenario"], r["design"]) for r in figures} == {
        (s, d) for s in CLASSIC for d in DESIGNS if s not in only_ours or d == "ours"
    }
    assert all(r["failures"] == 0 for r in figures)
    assert all(r.get("post_errors", 0) == 0 for r in figures if r["design"] == "ours")
    assert all(r["all_delivered"] for r in figures if "all_delivered" in r)
    # Tiny: 5 posts to 3 subscribers; 2 users toggling 6 reactions before 3 subscribers.
    assert {r["scenario"]: r["deliveries"] for r in figures if r["scenario"] in only_ours} == {
        "fanout-events": 15,
        "reactions": 18,
        "fanout-sse": 15,
        "fanout-multipart": 15,
    }
    assert {r["scenario"] for r in rows if "ours_vs" in r} == set(CLASSIC) - only_ours
    # Each beside fanout's figures, in the same run.
    compared = {(r["scenario"], r["compare"], r["design"]) for r in rows if "compare" in r}
    assert compared == {
        (scenario, "fanout", "ours")
        for scenario in ("fanout-events", "reactions", "fanout-sse", "fanout-multipart")
    }
    assert all(
        set(r["ratios"]) == {"deliveries_per_s", "server_cpu_us_per_delivery", "p50_ms", "p99_ms"}
        for r in rows
        if "compare" in r
    )


# What the tiny signal scenarios make, whatever the timing (TINY in bench/__main__.py):
# typing: 4 subscribers, 3 typers; presence: 6 users and 2 observers over 2 processes
# (each observer sees each user once online, once offline); inbox: 4 rooms of 3 of the 6
# users, one post a second in each for 2 s; chat-day: 12 users in 5 rooms (one direct).
SIGNAL_FIGURES: dict[str, dict[str, Any]] = {
    "typing": {
        "subscribers": 4, "typers": 3, "failures": 0, "set_typing_errors": 0,
        "other_signals": 0, "full_at_stop": 4, "bad_frames": 0, "check_failures": 0,
    },
    "presence": {
        "users": 6, "observers": 2, "processes": 2, "failures": 0, "late_frames": 0,
        "bad_frames": 0, "wrong_users": 0, "online_count_middle": [8, 8],
        "online_count_end": [2, 2], "check_failures": 0,
    },
    "inbox-roomevents": {
        "users": 6, "rooms": 4, "subscription": "roomEvents", "failures": 0, "posts": 8,
        "deliveries": 24, "expected": 24, "post_errors": 0, "other_events": {}, "missing": 0,
        "extra": 0, "unread_wrong": 0, "check_failures": 0, "all_delivered": True,
    },
    "inbox": {
        "users": 6, "rooms": 4, "subscription": "inbox", "failures": 0, "posts": 8,
        "deliveries": 24, "expected": 24, "post_errors": 0, "other_events": {}, "missing": 0,
        "extra": 0, "unread_wrong": 0, "check_failures": 0, "all_delivered": True,
    },
    "chat-day": {
        "users": 12, "rooms": 5, "direct_rooms": 1, "failures": 0, "missing": 0, "extra": 0,
        "errors": {}, "check_failures": 0,
    },
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_signal_scenarios_run_tiny() -> None:
    rows = bench_tiny("--scenarios", ",".join(SIGNALS), "--designs", "ours", timeout=360)
    figures = {r["scenario"]: r for r in rows if "failures" in r}
    assert {
        name: {key: row.get(key) for key in SIGNAL_FIGURES[name]} for name, row in figures.items()
    } == SIGNAL_FIGURES
    # Server CPU per second over each timed phase, for every scenario.
    assert all(row["server_cpu_per_s"] > 0 for row in figures.values())
    assert figures["chat-day"]["cpu_pct_per_1k_users"] > 0
    # The inbox beside roomEvents at the same size, in the same run.
    compared = [r for r in rows if "compare" in r]
    assert [(r["scenario"], r["compare"], set(r["ratios"])) for r in compared] == [
        ("inbox", "inbox-roomevents",
         {"deliveries_per_s", "server_cpu_us_per_delivery", "p50_ms", "p99_ms"}),
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_fanout_with_posts_over_http() -> None:
    rows = bench_tiny(
        "--scenarios", "fanout", "--designs", "ours,tutorial-pubsub", "--post", "http",
        timeout=240,
    )  # fmt: skip
    figures = {r["design"]: r for r in rows if "failures" in r}
    # Ours posted over HTTP, the tutorial (no HTTP API) over its websocket.
    assert {d: (r["post"], r["deliveries"], r["post_errors"]) for d, r in figures.items()} == {
        "ours": ("http", 15, 0),
        "tutorial-pubsub": ("ws", 15, 0),
    }
    assert [set(r["ours_vs"]) for r in rows if "ours_vs" in r] == [{"tutorial-pubsub"}]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_http_bench_runs_wrk_beside_a_django_404() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    run = subprocess.run(
        [sys.executable, "-m", "bench.http", "--seconds", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    kinds = {r["kind"]: r for r in rows if "kind" in r}
    assert set(kinds) == {
        "not-found",
        "anonymous",
        "authenticated",
        "sendMessage",
        "sendMessage-ws",
    }
    # Every request of a kind answered as that kind is: 404s, and 200s without errors.
    assert all(r["requests"] > 0 for r in kinds.values())
    assert kinds["not-found"]["non_2xx_3xx"] == kinds["not-found"]["requests"]
    assert all(r.get("non_2xx_3xx", 0) == 0 for k, r in kinds.items() if k != "not-found")
    assert kinds["sendMessage-ws"]["errors"] == 0
    summary = rows[-1]
    assert set(summary) == {
        "median_requests_per_s", "synchronous_commit", "sendMessage_vs_not_found",
        "authenticated_vs_anonymous", "sendMessage_http_vs_ws",
    }  # fmt: skip
