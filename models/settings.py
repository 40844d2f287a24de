"""Rapport's configuration, read once from the environment.

The settings every process shares: storage, the privacy thresholds, the
brand, link lifetime, rate limits, the audit log's retention, the follow-up
target and the reminder gap (models and the dashboard read them), the weekly
digest's mail server, and the
dashboard's address (the dashboard serves at it, `rapport demo` announces it).
What only the collector or only the dashboard uses lives in
`collector/settings.py` and `dashboard/settings.py`. Tests set the
environment before importing this module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from limits import RateLimitItem, parse_many

__all__ = [
    "DEFAULT_SQLITE",
    "SQLITE_PRAGMAS",
    "Settings",
    "SettingsError",
    "normalise_database_url",
    "settings",
]

DEFAULT_SQLITE = "sqlite://rapport.db"
SQLITE_PRAGMAS = {"journal_mode": "WAL", "synchronous": "NORMAL", "busy_timeout": "2000"}


class SettingsError(ValueError):
    """An environment variable holds a value Rapport cannot use."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    dashboard_url: str
    brand: str
    min_group: int
    min_comment_group: int
    min_customer_responses: int
    link_days: int
    customer_survey: str | None
    pulse_survey: str | None
    rate_limit_storage: str
    limit_unknown_links: tuple[RateLimitItem, ...]
    limit_key_failures: tuple[RateLimitItem, ...]
    limit_login: tuple[RateLimitItem, ...]
    limit_login_address: tuple[RateLimitItem, ...]
    audit_days: int
    followup_target_hours: int
    reminder_gap_days: int
    smtp_url: str | None = None
    smtp_from: str = "rapport@localhost"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            database_url=normalise_database_url(env.get("DATABASE_URL", DEFAULT_SQLITE)),
            dashboard_url=env.get("RAPPORT_DASHBOARD_URL", "http://127.0.0.1:8050/dashboard/"),
            brand=env.get("RAPPORT_BRAND", "Rapport Demo"),
            min_group=_positive_int(env, "RAPPORT_MIN_GROUP", 5),
            min_comment_group=_positive_int(env, "RAPPORT_MIN_COMMENT_GROUP", 10),
            # the linkage's inclusion rule, fixed per deployment: a request that could move it
            # would move the linkage population one contractor at a time (issue 8)
            min_customer_responses=_positive_int(env, "RAPPORT_MIN_CUSTOMER_RESPONSES", 3),
            link_days=_positive_int(env, "RAPPORT_LINK_DAYS", 30),
            customer_survey=env.get("RAPPORT_CUSTOMER_SURVEY") or None,
            pulse_survey=env.get("RAPPORT_PULSE_SURVEY") or None,
            rate_limit_storage=_storage(env.get("RAPPORT_RATE_LIMIT_STORAGE") or "memory://"),
            # Defaults (see README "Security and privacy"): far above what an honest
            # person or integration fails in a minute, far below a guessing script.
            limit_unknown_links=_limits(env, "RAPPORT_LIMIT_UNKNOWN_LINKS", "20/minute;200/day"),
            limit_key_failures=_limits(env, "RAPPORT_LIMIT_KEY_FAILURES", "10/minute;100/day"),
            limit_login=_limits(env, "RAPPORT_LIMIT_LOGIN", "5/5 minutes"),
            limit_login_address=_limits(env, "RAPPORT_LIMIT_LOGIN_ADDRESS", "30/hour"),
            audit_days=_positive_int(env, "RAPPORT_AUDIT_DAYS", 180),
            followup_target_hours=_positive_int(env, "RAPPORT_FOLLOWUP_TARGET_HOURS", 48),
            reminder_gap_days=_positive_int(env, "RAPPORT_REMINDER_GAP_DAYS", 3),
            # the weekly digest's mail server (models.mail; sent by the worker and `rapport digest send`)
            smtp_url=env.get("RAPPORT_SMTP_URL") or None,
            smtp_from=env.get("RAPPORT_SMTP_FROM") or "rapport@localhost",
        )

    @property
    def dashboard_https(self) -> bool:
        """The dashboard is served over HTTPS, so its session cookie is marked Secure."""
        return self.dashboard_url.startswith("https://")


def normalise_database_url(url: str) -> str:
    """Accept the spellings platforms hand out and add SQLite's pragmas.

    >>> normalise_database_url("postgresql://u@h/db")
    'postgres://u@h/db'
    >>> normalise_database_url("sqlite://x.db")
    'sqlite://x.db?journal_mode=WAL&synchronous=NORMAL&busy_timeout=2000'
    """
    if url.startswith("postgresql://"):
        url = "postgres://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite://"):
        path, _, query = url.partition("?")
        given = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
        merged = {**SQLITE_PRAGMAS, **given}
        url = path + "?" + "&".join(f"{k}={v}" for k, v in merged.items())
    elif not url.startswith("postgres://"):
        raise SettingsError(
            f"DATABASE_URL must start with sqlite:// or postgres://, not {url.split(':', 1)[0]!r}"
        )
    return url


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, not {value}")
    return value


def _limits(env: Mapping[str, str], name: str, default: str) -> tuple[RateLimitItem, ...]:
    """A rate limit such as '5/5 minutes' or several joined by ';' ('20/minute;200/day')."""
    raw = env.get(name) or default
    try:
        return tuple(parse_many(raw))
    except ValueError:
        raise SettingsError(
            f"{name} must be a rate such as '5/5 minutes' or '20/minute;200/day', not {raw!r}") from None


def _storage(uri: str) -> str:
    if not uri.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
        raise SettingsError(f"RAPPORT_RATE_LIMIT_STORAGE must be memory:// or redis://host:port/db, not {uri!r}")
    return uri


settings = Settings.from_env(os.environ)
