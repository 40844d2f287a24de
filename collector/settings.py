"""The collector's own settings, read once from the environment: the public
address its survey links are built on, and how the webhook worker runs and
paces itself. Settings every process shares (storage, privacy thresholds,
the brand) stay in `models.settings`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.settings import SettingsError

if TYPE_CHECKING:
    from models.queries import LinkKind

__all__ = ["CollectorSettings", "link_url", "settings"]


@dataclass(frozen=True)
class CollectorSettings:
    base_url: str  # where customers and contractors reach the collector; links are built on it
    worker_in_serve: bool
    worker_poll: float
    worker_lease: float
    webhook_timeout: float
    webhook_backoff: float
    webhook_backoff_max: float
    webhook_retry_hours: float

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CollectorSettings:
        return cls(
            base_url=env.get("RAPPORT_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            # the webhook worker (collector.worker): inside `rapport serve` unless "off"
            worker_in_serve=_on_off(env, "RAPPORT_WORKER_IN_SERVE", True),
            worker_poll=_positive_float(env, "RAPPORT_WORKER_POLL", 1.0),
            worker_lease=_positive_float(env, "RAPPORT_WORKER_LEASE", 60.0),
            webhook_timeout=_positive_float(env, "RAPPORT_WEBHOOK_TIMEOUT", 10.0),
            webhook_backoff=_positive_float(env, "RAPPORT_WEBHOOK_BACKOFF", 10.0),
            webhook_backoff_max=_positive_float(env, "RAPPORT_WEBHOOK_BACKOFF_MAX", 3600.0),
            webhook_retry_hours=_positive_float(env, "RAPPORT_WEBHOOK_RETRY_HOURS", 24.0),
        )

    @property
    def https(self) -> bool:
        """The collector is served over HTTPS, so its cookies are marked Secure."""
        return self.base_url.startswith("https:")


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if not value > 0 or value == float("inf"):
        raise SettingsError(f"{name} must be a number above 0, not {raw}")
    return value


def _on_off(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("on", "yes", "1", "true"):
        return True
    if raw in ("off", "no", "0", "false"):
        return False
    raise SettingsError(f"{name} must be on or off, not {raw!r}")


settings = CollectorSettings.from_env(os.environ)


def link_url(kind: LinkKind, token: str) -> str:
    """The survey link of a token: /s/ for a customer job, /p/ for a pulse invite.

    >>> link_url("pulse", "abc").endswith("/p/abc")
    True
    """
    return f"{settings.base_url}/{'s' if kind == 'customer' else 'p'}/{token}"
