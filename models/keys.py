"""API keys and dashboard users: secrets are stored only as hashes.

An API key carries 256 random bits, so a plain SHA-256 suffices to store it
and finds it with one indexed lookup. Passwords are low-entropy, so they get
argon2id through pwdlib, which writes its parameters into the hash (they can
be raised later without breaking stored ones). Hashes made before that are
scrypt (RFC 7914); they still verify, and are replaced by argon2id at the
user's next successful sign-in. Hashing runs in a worker thread, never on
the event loop the web apps share.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, TypeVar

from anyio import to_thread
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.base import ensure_bytes, ensure_str

from models.entities import ApiKey, DashboardSession, User

__all__ = [
    "HASHING_AT_ONCE",
    "KEY_PREFIX",
    "LAST_USED_EVERY",
    "PASSWORDS",
    "CredentialError",
    "KeyInfo",
    "UserInfo",
    "authenticate_user",
    "create_api_key",
    "create_user",
    "delete_user",
    "disable_user",
    "enable_user",
    "find_api_key",
    "hash_password",
    "list_api_keys",
    "list_users",
    "revoke_api_key",
    "user_exists",
    "verify_password",
]

KEY_PREFIX = "rpk_"
# argon2id takes 64 MiB per hash: at most this many at once per process, so a
# flood of sign-ins from many addresses queues instead of exhausting memory.
HASHING_AT_ONCE = 2
_hashing = threading.BoundedSemaphore(HASHING_AT_ONCE)
LAST_USED_EVERY = timedelta(minutes=5)  # a key's last_used_at is written at most this often


class CredentialError(ValueError):
    """A key or user operation that cannot be done (unknown name, bad input)."""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(*, name: str) -> str:
    """Create (or re-issue, if revoked) the key called `name`; returns the key itself."""
    name = name.strip()
    if not name:
        raise CredentialError("an API key needs a name")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    existing = await ApiKey.get_or_none(name=name)
    if existing is not None and existing.revoked_at is None:
        raise CredentialError(f"an active key called {name!r} exists; revoke it first")
    if existing is not None:
        existing.key_hash, existing.prefix, existing.revoked_at = _digest(key), key[:12], None
        await existing.save()
    else:
        await ApiKey.create(name=name, key_hash=_digest(key), prefix=key[:12])
    return key


async def revoke_api_key(*, name: str) -> None:
    updated = await ApiKey.filter(name=name, revoked_at=None).update(revoked_at=datetime.now(UTC))
    if not updated:
        raise CredentialError(f"no active API key called {name!r}")


async def find_api_key(*, key: str) -> ApiKey | None:
    """The active key record for a presented key, or None. Notes when it was used
    (at most once per LAST_USED_EVERY, so a busy integration does not write per call)."""
    if not key.startswith(KEY_PREFIX):
        return None
    record = await ApiKey.get_or_none(key_hash=_digest(key), revoked_at=None)
    if record is not None:
        now = datetime.now(UTC)
        if record.last_used_at is None or now - record.last_used_at >= LAST_USED_EVERY:
            await ApiKey.filter(id=record.id).update(last_used_at=now)
    return record


@dataclass(frozen=True)
class KeyInfo:
    """What `rapport apikey list` shows of a key: never the key itself."""

    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


async def list_api_keys() -> list[KeyInfo]:
    rows = await ApiKey.all().order_by("name")
    return [KeyInfo(r.name, r.prefix, r.created_at, r.last_used_at, r.revoked_at) for r in rows]


class _Scrypt:
    """The scrypt hashes of before argon2 (`scrypt$salt$digest`, n=2**14, r=8, p=1):
    verified, never made, always due for a re-hash."""

    PARAMETERS: ClassVar[dict[str, int]] = {"n": 2**14, "r": 8, "p": 1}

    @classmethod
    def identify(cls, hash: str | bytes) -> bool:
        return ensure_str(hash).startswith("scrypt$")

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        salt = salt or secrets.token_bytes(16)
        digest = hashlib.scrypt(ensure_bytes(password), salt=salt, **self.PARAMETERS)
        return f"scrypt${salt.hex()}${digest.hex()}"

    def verify(self, password: str | bytes, hash: str | bytes) -> bool:
        try:
            _, salt, digest = ensure_str(hash).split("$")
            candidate = hashlib.scrypt(ensure_bytes(password), salt=bytes.fromhex(salt), **self.PARAMETERS)
        except ValueError:
            return False
        return hmac.compare_digest(candidate.hex(), digest)

    def check_needs_rehash(self, hash: str | bytes) -> bool:
        return True


PASSWORDS = PasswordHash((Argon2Hasher(), _Scrypt()))


def hash_password(password: str) -> str:
    """An argon2id hash of `password` with its parameters, e.g. '$argon2id$v=19$m=65536,t=3,p=4$…'."""
    return PASSWORDS.hash(password)


def verify_password(password: str, stored: str) -> tuple[bool, str | None]:
    """(matches, a new hash to store instead or None). An unknown format never matches."""
    if not any(hasher.identify(stored) for hasher in PASSWORDS.hashers):
        return False, None
    return PASSWORDS.verify_and_update(password, stored)


T = TypeVar("T")


async def _off_the_loop(work: Callable[..., T], *args: str) -> T:
    """Run a hashing function in a worker thread, HASHING_AT_ONCE at a time."""

    def bounded() -> T:
        with _hashing:
            return work(*args)

    return await to_thread.run_sync(bounded)


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown and disabled users against, so timing says nothing."""
    return hash_password(secrets.token_urlsafe(16))


async def create_user(*, username: str, password: str) -> User:
    """Create a dashboard user, or set a new password for an existing one."""
    username = username.strip()
    if not username:
        raise CredentialError("a user needs a name")
    if len(password) < 8:
        raise CredentialError("a password needs at least 8 characters")
    password_hash = await _off_the_loop(hash_password, password)
    user = await User.get_or_none(username=username)
    if user is None:
        return await User.create(username=username, password_hash=password_hash)
    user.password_hash = password_hash
    await user.save(update_fields=["password_hash"])
    return user


async def user_exists(*, username: str) -> bool:
    return await User.filter(username=username.strip()).exists()


async def authenticate_user(*, username: str, password: str) -> User | None:
    """The enabled user with this name and password, or None. Unknown and disabled
    users cost the same hashing as known ones; an old hash is upgraded on success."""
    user = await User.get_or_none(username=username.strip())
    usable = user is not None and user.disabled_at is None
    stored = user.password_hash if usable and user is not None else await _off_the_loop(_dummy_hash)
    ok, new_hash = await _off_the_loop(verify_password, password, stored)
    if not (ok and usable and user is not None):
        return None
    user.last_login_at = datetime.now(UTC)
    fields = ["last_login_at"]
    if new_hash is not None:
        user.password_hash = new_hash
        fields.append("password_hash")
    await user.save(update_fields=fields)
    return user


@dataclass(frozen=True)
class UserInfo:
    """What `rapport user list` shows of a user."""

    username: str
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None
    sessions: int


async def list_users() -> list[UserInfo]:
    now = datetime.now(UTC)
    users = await User.all().order_by("username")
    counts: dict[int, int] = {}
    for session in await DashboardSession.filter(expires_at__gt=now).only("user_id"):
        counts[session.user_id] = counts.get(session.user_id, 0) + 1
    return [UserInfo(u.username, u.created_at, u.last_login_at, u.disabled_at, counts.get(u.id, 0)) for u in users]


async def _user(username: str) -> User:
    user = await User.get_or_none(username=username.strip())
    if user is None:
        raise CredentialError(f"no user called {username!r}")
    return user


async def disable_user(*, username: str) -> int:
    """Refuse the user's sign-ins and end all their sessions; returns how many were ended."""
    user = await _user(username)
    if user.disabled_at is None:
        user.disabled_at = datetime.now(UTC)
        await user.save(update_fields=["disabled_at"])
    return await DashboardSession.filter(user_id=user.id).delete()


async def enable_user(*, username: str) -> None:
    user = await _user(username)
    user.disabled_at = None
    await user.save(update_fields=["disabled_at"])


async def delete_user(*, username: str) -> int:
    """Delete the user and (with them) all their sessions; returns how many sessions were ended."""
    user = await _user(username)
    ended = await DashboardSession.filter(user_id=user.id).delete()
    await user.delete()
    return ended
