"""Passwords and keys: argon2id with its parameters, old scrypt hashes upgraded, no timing hint."""

from __future__ import annotations

import threading

import pytest

from models import keys
from models.entities import ApiKey, User

pytestmark = pytest.mark.anyio


def test_a_hash_is_argon2id_and_carries_its_parameters() -> None:
    stored = keys.hash_password("correct horse")
    assert stored.startswith("$argon2id$v=19$m=") and ",t=" in stored and ",p=" in stored
    assert keys.verify_password("correct horse", stored) == (True, None)
    assert keys.verify_password("wrong horse", stored) == (False, None)
    assert keys.verify_password("correct horse", "md5$nonsense") == (False, None)


async def test_an_old_scrypt_hash_works_once_and_is_replaced(db: str) -> None:
    old = keys._Scrypt().hash("correct horse")
    await User.create(username="ann", password_hash=old)
    assert await keys.authenticate_user(username="ann", password="wrong horse") is None
    assert (await User.get(username="ann")).password_hash == old  # a failure changes nothing
    user = await keys.authenticate_user(username="ann", password="correct horse")
    assert user is not None and user.last_login_at is not None
    upgraded = (await User.get(username="ann")).password_hash
    assert upgraded.startswith("$argon2id$")
    assert await keys.authenticate_user(username="ann", password="correct horse") is not None


async def test_unknown_and_disabled_users_cost_the_same_hashing_off_the_loop(
        db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await keys.create_user(username="ann", password="correct horse")
    calls: list[tuple[str, bool]] = []
    real = keys.verify_password

    def counted(password: str, stored: str) -> tuple[bool, str | None]:
        calls.append((stored[:9], threading.current_thread() is threading.main_thread()))
        return real(password, stored)

    monkeypatch.setattr(keys, "verify_password", counted)
    assert await keys.authenticate_user(username="nobody", password="correct horse") is None
    await keys.disable_user(username="ann")
    assert await keys.authenticate_user(username="ann", password="correct horse") is None
    assert calls == [("$argon2id", False), ("$argon2id", False)]  # a real argon2 check, in a worker thread
    await keys.enable_user(username="ann")
    assert await keys.authenticate_user(username="ann", password="correct horse") is not None


async def test_users_are_listed_disabled_and_deleted(db: str) -> None:
    await keys.create_user(username="bea", password="another password")
    await keys.create_user(username="ann", password="correct horse")
    assert [u.username for u in await keys.list_users()] == ["ann", "bea"]
    assert await keys.disable_user(username="ann") == 0
    assert [(u.username, u.disabled_at is not None) for u in await keys.list_users()] == [("ann", True),
                                                                                         ("bea", False)]
    assert await keys.delete_user(username="ann") == 0
    assert [u.username for u in await keys.list_users()] == ["bea"]
    with pytest.raises(keys.CredentialError, match="ann"):
        await keys.delete_user(username="ann")


async def test_keys_are_listed_with_their_last_use_never_the_key(db: str) -> None:
    key = await keys.create_api_key(name="crm")
    [listed] = await keys.list_api_keys()
    assert listed.name == "crm" and listed.last_used_at is None and key not in repr(listed)
    assert listed.prefix == key[:12]
    assert await keys.find_api_key(key=key) is not None
    [listed] = await keys.list_api_keys()
    assert listed.last_used_at is not None
    first_use = listed.last_used_at
    await keys.find_api_key(key=key)  # within LAST_USED_EVERY: not written again
    assert (await ApiKey.get(name="crm")).last_used_at == first_use
