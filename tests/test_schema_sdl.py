from __future__ import annotations

from pathlib import Path

import pytest
from strawberry.printer import print_schema

from schema import schema

pytestmark = pytest.mark.embedded

SDL = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_committed_schema_is_current() -> None:
    assert SDL.read_text() == print_schema(schema), (
        "schema.graphql is stale: run `python manage.py export_schema schema --path schema.graphql`"
    )
