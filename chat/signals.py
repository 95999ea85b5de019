"""Credential changes made outside the services (the admin, Django's logout): every
socket they authenticated closes, in every process (see realtime.credentials)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from chat import events
from chat.accounts import credential_notice, username_key_ensure
from chat.models import AuthToken

__all__: list[str] = []


@receiver(user_logged_out, dispatch_uid="chat.session_logged_out")
def _session_logged_out(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    # Sent before the session is flushed: its key is still the one sockets hold.
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if key:
        credential_notice(credential=events.session_credential_key(key))


@receiver(post_save, sender=get_user_model(), dispatch_uid="chat.user_username_key")
def _user_username_key(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    # After commit: registration creates the key in the user's own transaction (and
    # refuses a look-alike there), so by then only users made or renamed elsewhere lack it.
    if not raw:
        user_id = instance.pk
        transaction.on_commit(lambda: username_key_ensure(user_id=user_id))


@receiver(post_save, sender=get_user_model(), dispatch_uid="chat.user_saved")
def _user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    # Deactivation is the admin's ban. Saving an inactive user again notifies again:
    # harmless, and rarer than tracking the previous value.
    if not created and not instance.is_active:
        credential_notice(user_id=instance.pk)


@receiver(post_delete, sender=get_user_model(), dispatch_uid="chat.user_deleted")
def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    credential_notice(user_id=instance.pk)


@receiver(post_save, sender=AuthToken, dispatch_uid="chat.token_saved")
def _token_saved(sender: Any, instance: AuthToken, created: bool, **kwargs: Any) -> None:
    if not created and (instance.revoked_at is not None or instance.expires_at <= timezone.now()):
        credential_notice(credential=events.token_credential_key(instance.digest))


@receiver(post_delete, sender=AuthToken, dispatch_uid="chat.token_deleted")
def _token_deleted(sender: Any, instance: AuthToken, **kwargs: Any) -> None:
    credential_notice(credential=events.token_credential_key(instance.digest))
