"""API keys and dashboard passwords: secrets are stored only as hashes.

An API key carries 256 random bits, so a plain SHA-256 suffices to store it
and finds it with one indexed lookup. Passwords are low-entropy, so they get
scrypt (RFC 7914) with a per-user salt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from models.entities import ApiKey, User

__all__ = [
    "CredentialError",
    "authenticate_user",
    "create_api_key",
    "create_user",
    "find_api_key",
    "hash_password",
    "revoke_api_key",
    "user_exists",
    "verify_password",
]

KEY_PREFIX = "rpk_"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


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
    """The active key record for a presented key, or None."""
    if not key.startswith(KEY_PREFIX):
        return None
    return await ApiKey.get_or_none(key_hash=_digest(key), revoked_at=None)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


async def create_user(*, username: str, password: str) -> User:
    """Create a dashboard user, or set a new password for an existing one."""
    username = username.strip()
    if not username:
        raise CredentialError("a user needs a name")
    if len(password) < 8:
        raise CredentialError("a password needs at least 8 characters")
    user = await User.get_or_none(username=username)
    if user is None:
        return await User.create(username=username, password_hash=hash_password(password))
    user.password_hash = hash_password(password)
    await user.save()
    return user


async def user_exists(*, username: str) -> bool:
    return await User.filter(username=username.strip()).exists()


async def authenticate_user(*, username: str, password: str) -> User | None:
    user = await User.get_or_none(username=username.strip())
    if user is None:
        hash_password(password)  # same work either way: no timing hint of which names exist
        return None
    return user if verify_password(password, user.password_hash) else None
