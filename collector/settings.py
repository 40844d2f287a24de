"""The collector's own settings, read once from the environment: the public
address its survey links are built on. Settings every process shares
(storage, privacy thresholds, the brand) stay in `models.settings`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.queries import LinkKind

__all__ = ["CollectorSettings", "link_url", "settings"]


@dataclass(frozen=True)
class CollectorSettings:
    base_url: str  # where customers and contractors reach the collector; links are built on it

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CollectorSettings:
        return cls(base_url=env.get("RAPPORT_BASE_URL", "http://127.0.0.1:8000").rstrip("/"))

    @property
    def https(self) -> bool:
        """The collector is served over HTTPS, so its cookies are marked Secure."""
        return self.base_url.startswith("https:")


settings = CollectorSettings.from_env(os.environ)


def link_url(kind: LinkKind, token: str) -> str:
    """The survey link of a token: /s/ for a customer job, /p/ for a pulse invite.

    >>> link_url("pulse", "abc").endswith("/p/abc")
    True
    """
    return f"{settings.base_url}/{'s' if kind == 'customer' else 'p'}/{token}"
