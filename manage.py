#!/usr/bin/env python
from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    try:
        from django.core.management import execute_from_command_line
    except ModuleNotFoundError as error:
        if error.name != "django":
            raise
        # Run with a Python that is not the project's virtualenv (a bare `python manage.py`).
        sys.exit(
            f"Django is not installed for {sys.executable}.\n"
            "Run management commands with the project's virtualenv: ./bin/manage <command>\n"
            "(it creates .venv when missing), or .venv/bin/python manage.py <command>."
        )
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
