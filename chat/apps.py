from __future__ import annotations

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers its system check, which runs before the middleware is ever loaded.
        import project.middleware  # noqa: F401
