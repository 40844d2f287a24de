"""Failure counting: in memory and in Redis, the same behaviour."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from models.ratelimit import RateLimits, rules
from models.settings import Settings

pytestmark = pytest.mark.anyio


async def test_failures_up_to_the_limit_pass_and_the_next_waits(rate_limits: Callable[..., RateLimits]) -> None:
    async with rate_limits(login="3/10 minutes") as limits:
        await _three_failures_lock_out(limits)


async def _three_failures_lock_out(limits: RateLimits) -> None:
    assert await limits.retry_after("login", "ann", "10.0.0.1") is None
    assert await limits.failed("login", "ann", "10.0.0.1") is None
    assert await limits.failed("login", "ann", "10.0.0.1") is None
    wait = await limits.failed("login", "ann", "10.0.0.1")  # the third uses the allowance up
    assert wait is not None and 1 <= wait <= 600
    assert 1 <= (await limits.retry_after("login", "ann", "10.0.0.1") or 0) <= 600
    # another name, another address: counted apart
    assert await limits.retry_after("login", "bob", "10.0.0.1") is None
    assert await limits.retry_after("login", "ann", "10.0.0.2") is None
    await limits.clear("login", "ann", "10.0.0.1")
    assert await limits.retry_after("login", "ann", "10.0.0.1") is None


async def test_several_windows_all_hold(rate_limits: Callable[..., RateLimits]) -> None:
    async with rate_limits(link="100/minute;2/day") as limits:
        await limits.failed("link", "10.0.0.3")
        wait = await limits.failed("link", "10.0.0.3")
    assert wait is not None and wait > 3600  # the daily allowance, not the minute's


async def test_two_limiters_on_one_store_keep_their_own_counts(rate_limits: Callable[..., RateLimits]) -> None:
    async with rate_limits(key="1/hour") as first, rate_limits(key="1/hour") as second:
        await first.failed("key", "10.0.0.4")
        if first.storage_uri.startswith("redis"):  # one Redis, one prefix: every worker sees the count
            assert await second.retry_after("key", "10.0.0.4") is not None
        else:  # memory: one process's own
            assert await second.retry_after("key", "10.0.0.4") is None


async def test_an_unreachable_redis_lets_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    async with RateLimits("redis://127.0.0.1:1/0", limits={"login": "1/hour"}) as limits:
        with caplog.at_level(logging.WARNING, "rapport.ratelimit"):
            assert await limits.failed("login", "ann", "10.0.0.5") is None
            assert await limits.retry_after("login", "ann", "10.0.0.5") is None
    assert "rate limiter unavailable" in caplog.text


def test_the_limits_are_settings_with_generous_defaults() -> None:
    defaults = Settings.from_env({})
    assert defaults.rate_limit_storage == "memory://"
    assert [str(i) for i in defaults.limit_login] == ["5 per 5 minute"]
    assert [str(i) for i in defaults.limit_unknown_links] == ["20 per 1 minute", "200 per 1 day"]
    tuned = Settings.from_env({"RAPPORT_LIMIT_LOGIN": "10/hour", "RAPPORT_RATE_LIMIT_STORAGE": "redis://r:6379/2"})
    assert [str(i) for i in tuned.limit_login] == ["10 per 1 hour"] and tuned.rate_limit_storage == "redis://r:6379/2"
    for name, value in (("RAPPORT_LIMIT_LOGIN", "often"), ("RAPPORT_RATE_LIMIT_STORAGE", "mongodb://x")):
        with pytest.raises(ValueError, match=name):
            Settings.from_env({name: value})
    assert set(rules()) == {"link", "key", "login", "login-address"}
