from __future__ import annotations

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "project"

    def ready(self) -> None:
        # project.middleware registers its system check, which runs before the middleware
        # is ever loaded.
        import project.middleware  # noqa: F401
