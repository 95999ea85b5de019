"""The registry of hooks into library internals, verified once at start-up.

Every use of a library's private attributes is a hook declared here by the module of that
library (``internals/<library>.py``), with the version range it was written for and a
check of its targets, the way an OpenTelemetry instrumentor declares
``instrumentation_dependencies()`` and checks them before patching. ``hooks_verify()``
turns a hook on only when the installed version is in its range and its check passes;
otherwise it logs ONE warning naming the hook and why, and the feature runs its standard
public path (slower, still correct). ``hook_active(name)`` is what the code asks.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = ["HOOK_MODULES", "Hook", "hook", "hook_active", "hooks", "hooks_verify"]

logger = logging.getLogger(__name__)

# The modules declaring hooks, imported by hooks_verify() so every hook is registered.
HOOK_MODULES: tuple[str, ...] = (
    "internals.asgihandler",
    "internals.asgiref",
    "internals.autobahn",
    "internals.channels",
    "internals.channels_redis",
    "internals.daphne",
    "internals.django",
    "internals.graphql",
    "internals.readtimeout",
    "internals.strawberry",
    "internals.twisted",
    "internals.whitenoise",
)


@dataclass
class Hook:
    name: str  # "<library>.<feature>", e.g. "twisted.write_through"
    library: str  # distribution name for importlib.metadata.version, e.g. "Twisted"
    versions: str  # PEP 440 specifier the hook was written for, e.g. ">=24.7,<27"
    purpose: str  # one line: what it speeds up or adds
    fallback: str  # one line: what runs when it is off
    check: Callable[[], None]  # raises if a target is missing or has changed shape
    active: bool = False
    # Run when the hook turns active (a patch, or a seam set in a lower layer); what it
    # installs asks hook_active() on every call, so a later verification can turn it off.
    install: Callable[[], None] | None = None
    # Its fallback drops a safety bound rather than speed: a production process refuses
    # to start without it, unless CHAT_DISABLE_HOOKS names it (a decision, not a surprise).
    required: bool = False


_HOOKS: dict[str, Hook] = {}
_ACTIVE: dict[str, bool] = {}


def hook(
    name: str,
    *,
    library: str,
    versions: str,
    purpose: str,
    fallback: str,
    install: Callable[[], None] | None = None,
    required: bool = False,
) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Register the decorated function as the check of hook ``name``."""
    SpecifierSet(versions)  # an invalid range is a bug here, not at start-up

    def register(check: Callable[[], None]) -> Callable[[], None]:
        _HOOKS[name] = Hook(
            name, library, versions, purpose, fallback, check, install=install, required=required
        )
        return check

    return register


def hooks() -> dict[str, Hook]:
    """Return every declared hook by name (importing the modules that declare them)."""
    for module in HOOK_MODULES:
        importlib.import_module(module)
    return dict(_HOOKS)


def _disabled_setting() -> frozenset[str]:
    try:
        from django.conf import settings

        return frozenset(settings.CHAT.get("DISABLE_HOOKS", ()))
    except Exception:  # settings not configured: nothing forced off
        return frozenset()


def _reason(item: Hook, disabled: frozenset[str]) -> str | None:
    """Say why ``item`` cannot be active, or None if it can."""
    if item.name in disabled:
        return "disabled by CHAT_DISABLE_HOOKS"
    try:
        installed = version(item.library)
    except PackageNotFoundError:
        return f"{item.library} is not installed"
    try:
        if Version(installed) not in SpecifierSet(item.versions):
            return f"{item.library} {installed} is outside {item.versions}"
    except (InvalidVersion, InvalidSpecifier) as error:
        return f"{item.library} version {installed!r}: {error}"
    try:
        item.check()
    except Exception as error:  # any failure of the check means the shape changed
        return f"target check failed: {type(error).__name__}: {error}"
    return None


def hooks_verify(disabled: Iterable[str] | None = None) -> dict[str, bool]:
    """Turn on each hook whose version and targets check out (and install it); log one
    warning per hook left off. ``disabled`` (default: settings.CHAT["DISABLE_HOOKS"])
    forces hooks off."""
    forced = _disabled_setting() if disabled is None else frozenset(disabled)
    result: dict[str, bool] = {}
    for item in hooks().values():
        reason = _reason(item, forced)
        if reason is None and item.install is not None:
            try:
                item.install()
            except Exception as error:
                reason = f"install failed: {type(error).__name__}: {error}"
        item.active = reason is None
        if reason is not None:
            logger.warning(
                "internals hook %s is off (%s); %s",
                item.name,
                reason,
                item.fallback,
                extra={"event": "internals.hook_off", "hook": item.name},
            )
        result[item.name] = item.active
    _ACTIVE.clear()
    _ACTIVE.update(result)
    from chat.metrics import INTERNALS_HOOK_ACTIVE

    for name, active in result.items():
        INTERNALS_HOOK_ACTIVE.labels(hook=name).set(1 if active else 0)
    _required_check(result, forced)
    return result


def _required_check(result: dict[str, bool], forced: frozenset[str]) -> None:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    missing = [
        name
        for name, active in result.items()
        if not active and _HOOKS[name].required and name not in forced
    ]
    if missing and not settings.DEBUG:
        raise ImproperlyConfigured(
            f"internals hooks {', '.join(sorted(missing))} are off and their fallback drops "
            "a safety bound (see the warnings above); check the library versions, or name "
            "them in CHAT_DISABLE_HOOKS to run without them."
        )


def hook_active(name: str) -> bool:
    """Say whether hook ``name`` is on (False before hooks_verify() or if it is off)."""
    return _ACTIVE.get(name, False)
