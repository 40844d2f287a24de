"""Rate limits on failures: unknown survey links, wrong API keys, wrong passwords.

Only failures count, so an honest person or integration that keeps getting
things right is never slowed down; an address that fails too often is refused
(429 with Retry-After) until its oldest failure leaves the window. The
counting is the `limits` library's moving window, kept in memory for one
process by default or in Redis, shared by every worker, when
RAPPORT_RATE_LIMIT_STORAGE points there. The limits themselves are settings
(models.settings).

If Redis cannot be reached the limiter lets requests through and logs one
line each time: a limiter outage must not become a survey outage.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import coredis
from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from models.settings import settings

__all__ = ["RateLimits", "Rule", "client_address", "rules"]

log = logging.getLogger("rapport.ratelimit")


@dataclass(frozen=True)
class Rule:
    """A named limit: the failures one key (an address, a user at an address) may have."""

    name: str
    items: tuple[RateLimitItem, ...]


def rules() -> dict[str, Rule]:
    """The rules in force, from the settings."""
    return {
        rule.name: rule
        for rule in (
            Rule("link", settings.limit_unknown_links),
            Rule("key", settings.limit_key_failures),
            Rule("login", settings.limit_login),
            Rule("login-address", settings.limit_login_address),
        )
    }


def _storage(uri: str, key_prefix: str, pool: Any) -> Storage:
    if uri.startswith("memory://"):
        return storage_from_string("async+memory://")  # type: ignore[return-value]  # typed as the sync Storage
    return storage_from_string("async+" + uri, key_prefix=key_prefix, connection_pool=pool)  # type: ignore[return-value]  # async+: async


class RateLimits:
    """The failure counters of one app; `storage` defaults to RAPPORT_RATE_LIMIT_STORAGE.

    `key_prefix` names the keys in Redis, so several deployments (or test runs)
    can share one server without counting each other's failures; `limits`
    replaces rules of the settings by name.
    """

    def __init__(self, storage: str | None = None, *, key_prefix: str = "rapport",
                 limits: Mapping[str, str] | None = None) -> None:
        self.storage_uri = storage or settings.rate_limit_storage
        # Redis connections come from a pool of ours, so close() can end them.
        self._pool = None if self.storage_uri.startswith("memory://") else coredis.ConnectionPool.from_url(
            self.storage_uri, stream_timeout=2.0, connect_timeout=2.0)
        self._limiter = MovingWindowRateLimiter(_storage(self.storage_uri, key_prefix, self._pool))
        self._rules = rules()
        for name, rate in (limits or {}).items():  # e.g. {"login": "3/2 seconds"} in a test
            self._rules[name] = Rule(name, tuple(parse_many(rate)))

    def rule(self, name: str) -> Rule:
        return self._rules[name]

    async def retry_after(self, name: str, *key: str) -> int | None:
        """Seconds until `key` may try again under rule `name`, or None if it may now."""
        rule = self._rules[name]
        try:
            for item in rule.items:
                if not await self._limiter.test(item, name, *key):
                    return await self._wait(item, name, *key)
        except Exception as exc:  # an unreachable Redis: let the request through
            log.warning("rate limiter unavailable (%s: %s): request let through", type(exc).__name__, exc)
        return None

    async def failed(self, name: str, *key: str) -> int | None:
        """Count one failure of `key`; seconds to wait if that used up the allowance, else None."""
        rule = self._rules[name]
        wait: int | None = None
        try:
            for item in rule.items:
                await self._limiter.hit(item, name, *key)
                if not await self._limiter.test(item, name, *key):
                    wait = max(wait or 0, await self._wait(item, name, *key))
        except Exception as exc:
            log.warning("rate limiter unavailable (%s: %s): failure not counted", type(exc).__name__, exc)
        return wait

    async def clear(self, name: str, *key: str) -> None:
        """Forget `key`'s failures (a user who signed in correctly starts afresh)."""
        try:
            for item in self._rules[name].items:
                await self._limiter.clear(item, name, *key)
        except Exception as exc:
            log.warning("rate limiter unavailable (%s: %s): failures not cleared", type(exc).__name__, exc)

    async def aclose(self) -> None:
        """Close the Redis connections (the apps do it when they stop), on the loop that made them."""
        if self._pool is not None:
            self._pool.disconnect()
            await asyncio.sleep(0)  # the transports close on the loop's next turn

    async def __aenter__(self) -> RateLimits:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _wait(self, item: RateLimitItem, *identifiers: str) -> int:
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return max(1, math.ceil(stats.reset_time - time.time()))


def client_address(scope_client: Sequence[object] | None) -> str:
    """The address a limit is kept for: the peer, as the server saw it (after trusted proxy headers)."""
    return str(scope_client[0]) if scope_client else "unknown"
