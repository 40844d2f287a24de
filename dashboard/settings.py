"""The dashboard's own settings: the secret that signs its sessions. Its public
address (`RAPPORT_DASHBOARD_URL`) stays in `models.settings`, because the
`rapport` command announces it too."""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DashboardSettings", "settings"]


@dataclass(frozen=True)
class DashboardSettings:
    configured_secret: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DashboardSettings:
        return cls(configured_secret=env.get("RAPPORT_SECRET") or None)

    @functools.cached_property
    def secret(self) -> str:
        """RAPPORT_SECRET, else the development secret file (read or made on first use,
        so only the process that signs sessions ever touches it)."""
        return self.configured_secret or _local_secret()


def _local_secret() -> str:
    """A secret kept in `.rapport-secret` so a development install survives restarts.

    Production sets RAPPORT_SECRET; several processes must share one.
    """
    path = Path(".rapport-secret")
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = secrets.token_urlsafe(32)
        path.write_text(value + "\n")
        path.chmod(0o600)
        return value


settings = DashboardSettings.from_env(os.environ)
