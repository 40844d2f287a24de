"""Unguessable one-time link tokens."""

import secrets

__all__ = ["new_token"]


def new_token() -> str:
    """192 random bits, URL-safe (32 characters): no one guesses a survey link."""
    return secrets.token_urlsafe(24)
