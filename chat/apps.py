from __future__ import annotations

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # chat.signals connects the receivers that close the sockets of revoked
        # credentials; project.middleware registers its system check, which runs before
        # the middleware is ever loaded.
        import chat.signals  # noqa: F401
        import project.middleware  # noqa: F401
