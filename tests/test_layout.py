"""Library internals stay in internals/: no other package reads a private attribute or
imports a private module (import-linter checks the layers themselves)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("chat", "realtime", "schema", "project")
# Django's documented model API; os._exit, the documented way to end a process at once
# (project/shutdown.py's watchdog).
ALLOWED = {"_meta", "_exit"}


def _private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            name = node.attr
            owner = node.value
            if (
                name.startswith("_")
                and not (name.startswith("__") and name.endswith("__"))
                and name not in ALLOWED
                and not (isinstance(owner, ast.Name) and owner.id in ("self", "cls"))
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{name}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            private = [p for p in parts if p.startswith("_") and not p.endswith("__")]
            if parts[0] not in PACKAGES and private:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module}")
    return sorted(found, key=lambda use: int(use.split(":")[1].split()[0]))


def test_no_package_but_internals_touches_a_private_attribute() -> None:
    uses = [
        use
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
        for use in _private_uses(path)
    ]
    assert uses == []


def test_the_check_sees_a_private_use() -> None:
    sample = ROOT / "chat" / "_layout_probe.py"
    try:
        sample.write_text(
            "import x\n\nx.schema._schema\nfrom graphql.execution._private import y\n"
        )
        assert _private_uses(sample) == [
            "chat/_layout_probe.py:3 ._schema",
            "chat/_layout_probe.py:4 from graphql.execution._private",
        ]
    finally:
        sample.unlink()


def test_importing_a_module_of_the_api_does_not_build_the_schema() -> None:
    probe = (
        "import django, sys; django.setup(); import schema.http, schema.errors, schema.types; "
        "print(sorted({'schema.build', 'schema.mutations', 'schema.queries'} & set(sys.modules)))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr
