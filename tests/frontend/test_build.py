"""The committed generated types and browser bundle match their sources, and tsc passes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.frontend.conftest import ROOT, run

pytestmark = pytest.mark.slow


def test_generated_types_are_current(frontend: Path, tmp_path: Path) -> None:
    run("npx", "graphql-codegen", "--config", "codegen.ts",
        env={**os.environ, "CODEGEN_OUT": str(tmp_path)})  # fmt: skip
    for part in ("src/gql", "tests/gql"):
        committed, fresh = frontend / part, tmp_path / part
        names = sorted(p.name for p in committed.iterdir())
        assert names == sorted(p.name for p in fresh.iterdir())
        for name in names:
            assert (committed / name).read_text() == (fresh / name).read_text(), (
                f"frontend/{part}/{name} is stale: run `npm run codegen` in frontend/"
            )


def test_typescript_has_no_errors(frontend: Path) -> None:
    assert run("npx", "tsc", "--noEmit") == ""


def test_committed_bundle_is_current(frontend: Path, tmp_path: Path) -> None:
    run("node", "build.mjs", f"--outfile={tmp_path / 'chat.js'}")
    committed = ROOT / "chat" / "static" / "chat" / "chat.js"
    assert committed.read_bytes() == (tmp_path / "chat.js").read_bytes(), (
        "chat/static/chat/chat.js is stale: run `npm run build` in frontend/"
    )
