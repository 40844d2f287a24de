"""Choose the survey language from ?lang= and the Accept-Language header."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["pick_language"]

_TAG = re.compile(r"(?:[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)")
_QUALITY = re.compile(r"q=(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)", re.IGNORECASE)


def _primary(tag: str) -> str:
    return tag.split("-")[0].lower()


def _match(available: Sequence[str], tag: str) -> str | None:
    """The available language equal to ``tag``, else the first sharing its primary subtag."""
    for lang in available:
        if lang.lower() == tag.lower():
            return lang
    for lang in available:
        if _primary(lang) == _primary(tag):
            return lang
    return None


def _parse_accept_language(header: str) -> list[tuple[str, float]]:
    """(tag, q) pairs from an Accept-Language header, best first; malformed parts skipped (RFC 9110 §12.5.4)."""
    ranges = []
    for position, part in enumerate(header.split(",")):
        tag, *params = (piece.strip() for piece in part.split(";"))
        if not _TAG.fullmatch(tag):
            continue
        quality = 1.0
        if params:
            match = _QUALITY.fullmatch(params[0].replace(" ", ""))
            if match is None:
                continue
            quality = float(match.group(1))
        ranges.append((tag, quality, position))
    ranges.sort(key=lambda item: (-item[1], item[2]))
    return [(tag, quality) for tag, quality, _ in ranges]


def pick_language(
    available: Sequence[str], query_lang: str | None, accept_language: str | None
) -> str:
    """The language to show: ``?lang=`` if available, else the best Accept-Language match, else the first.

    Matching is case-insensitive on the primary subtag ("es-MX" picks "es").

    >>> pick_language(["en", "es"], None, "fr, es;q=0.5")
    'es'
    >>> pick_language(["en", "es"], "ES", "en")
    'es'
    """
    if not available:
        raise ValueError("no languages available")
    if query_lang:
        chosen = _match(available, query_lang.strip())
        if chosen is not None:
            return chosen
    ranges = _parse_accept_language(accept_language or "")
    refused = {_primary(tag) for tag, quality in ranges if quality == 0}
    for tag, quality in ranges:
        if quality == 0:
            break
        if tag == "*":
            for lang in available:
                if _primary(lang) not in refused:
                    return lang
            continue
        chosen = _match(available, tag)
        if chosen is not None:
            return chosen
    return available[0]
