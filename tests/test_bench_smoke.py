"""Every benchmark scenario, tiny, against every design: the suite cannot rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import DESIGNS, SCENARIOS

ROOT = Path(__file__).resolve().parent.parent


# 38 daphne processes: ~110 s on an idle 2-core machine before the two roomEvents
# scenarios, 131-341 s with them on a shared one, so the suite's 120 s default would cut
# it off (and orphan the bench's servers); the run's own subprocess timeout below is the
# real bound.
@pytest.mark.slow
@pytest.mark.timeout(660)
def test_every_scenario_runs_tiny_against_every_design() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    figures = [r for r in rows if "failures" in r]
    # fanout-events and reactions have roomEvents subscribers: ours only.
    only_ours = {"fanout-events", "reactions"}
    assert {(r["scenario"], r["design"]) for r in figures} == {
        (s, d) for s in SCENARIOS for d in DESIGNS if s not in only_ours or d == "ours"
    }
    assert all(r["failures"] == 0 for r in figures)
    assert all(r.get("post_errors", 0) == 0 for r in figures if r["design"] == "ours")
    assert all(r["all_delivered"] for r in figures if "all_delivered" in r)
    # Tiny: 5 posts to 3 subscribers; 2 users toggling 6 reactions before 3 subscribers.
    assert {r["scenario"]: r["deliveries"] for r in figures if r["scenario"] in only_ours} == {
        "fanout-events": 15,
        "reactions": 18,
    }
    assert {r["scenario"] for r in rows if "ours_vs" in r} == set(SCENARIOS) - only_ours
    # Each beside fanout's figures, in the same run.
    compared = {(r["scenario"], r["compare"], r["design"]) for r in rows if "compare" in r}
    assert compared == {("fanout-events", "fanout", "ours"), ("reactions", "fanout", "ours")}
    assert all(
        set(r["ratios"]) == {"deliveries_per_s", "server_cpu_us_per_delivery", "p50_ms", "p99_ms"}
        for r in rows
        if "compare" in r
    )
