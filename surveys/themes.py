"""Themes in free-text comments: keyword lists from the survey file, matched plainly.

A *theme* is a named list of keywords per language (the pulse's dimensions
carry theirs as ``keywords = { en = [...], es = [...] }``; a survey may add
``[[themes]]`` of its own, such as the customer survey's punctuality or
courtesy). The method is deliberately simple, so a reader can predict it and
a brand can edit it:

* Text and keywords are folded the same way: Unicode NFKD, accents dropped,
  case folded ("Capacitación" and "capacitacion" are one word), then split
  into words (runs of letters and digits; "no-show" and "don't" are two words).
* A keyword matches a whole word ("late" does not match "latest"); a keyword
  ending in ``*`` matches any word that starts with it ("train*" matches
  "training"); a keyword of several words matches them in a row ("on time").
* A comment has a theme when any of the theme's keywords, in any of the
  survey's languages, matches; it may have several themes, or none. A count
  per theme is the number of comments that have it (a comment counts once
  per theme, however many keywords it holds).

No stemming, no synonyms, no model: a keyword list is the whole definition,
and docs/metrics.md ("Comments and themes") says so on screen's behalf.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "MAX_KEYWORD_LENGTH",
    "Theme",
    "count_themes",
    "fold",
    "keyword_pattern",
    "matches",
    "parse_keywords",
    "themes_of",
]

MAX_KEYWORD_LENGTH = 60
_WORD = re.compile(r"\w+")
_KEYWORD = re.compile(r"[^\W_]+(?:[ '\-][^\W_]+)*\*?")


def fold(text: str) -> str:
    """The words of `text`, accents dropped and case folded, joined by single spaces.

    >>> fold("¡Capacitación  a TIEMPO!  No-show, don't")
    'capacitacion a tiempo no show don t'
    >>> fold("Daño")
    'dano'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(_WORD.findall(plain))


@functools.lru_cache(maxsize=1024)
def keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One regular expression over folded text for a list of keywords (see the module's rules).

    >>> bool(keyword_pattern(("train*", "on time")).search(fold("The Training was great")))
    True
    >>> bool(keyword_pattern(("late",)).search(fold("the latest app")))
    False
    """
    parts = []
    for keyword in keywords:
        prefix = keyword.endswith("*")
        words = fold(keyword.removesuffix("*"))
        if words:
            parts.append(re.escape(words) + (r"\w*" if prefix else ""))
    if not parts:
        return re.compile(r"(?!)")  # matches nothing
    return re.compile(r"\b(?:" + "|".join(sorted(parts, key=len, reverse=True)) + r")\b")


@dataclass(frozen=True)
class Theme:
    """A theme of comments: an id, its labels by language, its keywords by
    language, and the pulse dimension it stands for (None for a theme of its own)."""

    id: str
    labels: Mapping[str, str]
    keywords: Mapping[str, tuple[str, ...]]
    dimension: str | None = None
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
        object.__setattr__(self, "keywords", MappingProxyType({k: tuple(v) for k, v in self.keywords.items()}))
        every = tuple(word for words in self.keywords.values() for word in words)
        object.__setattr__(self, "pattern", keyword_pattern(every))

    def found_in(self, folded: str) -> bool:
        """Whether a comment, already `fold`-ed, has this theme."""
        return self.pattern.search(folded) is not None

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "labels": dict(self.labels), "dimension": self.dimension,
                "keywords": {lang: list(words) for lang, words in self.keywords.items()}}


def matches(text: str, keywords: Sequence[str]) -> bool:
    """Whether `text` holds any of `keywords` (the module's rules).

    >>> matches("Llegó tarde y no avisó", ["tarde"])
    True
    >>> matches("The app keeps crashing", ["apps"])
    False
    >>> matches("I never hear back", ["hear back", "feedback"])
    True
    """
    return keyword_pattern(tuple(keywords)).search(fold(text)) is not None


def themes_of(text: str, themes: Iterable[Theme]) -> tuple[str, ...]:
    """The ids of the themes a comment has, in the order of `themes`.

    >>> punctual = Theme("punctuality", {"en": "Punctuality"}, {"en": ("late", "on time"), "es": ("tarde",)})
    >>> polite = Theme("courtesy", {"en": "Courtesy"}, {"en": ("polite*", "rude"), "es": ("amable*",)})
    >>> themes_of("Muy amables, pero llegaron TARDE", [punctual, polite])
    ('punctuality', 'courtesy')
    >>> themes_of("All good", [punctual, polite])
    ()
    """
    folded = fold(text)
    return tuple(theme.id for theme in themes if theme.found_in(folded))


def count_themes(texts: Iterable[str], themes: Sequence[Theme]) -> dict[str, int]:
    """How many of `texts` have each theme (every theme listed, zeros included).

    >>> late = Theme("punctuality", {"en": "Punctuality"}, {"en": ("late",)})
    >>> count_themes(["Late again", "late, LATE", "fine"], [late])
    {'punctuality': 2}
    """
    counts = dict.fromkeys((t.id for t in themes), 0)
    for text in texts:
        for found in themes_of(text, themes):
            counts[found] += 1
    return counts


def parse_keywords(raw: object, languages: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Check a keyword table from a survey file: ``{ en = ["late", "on time"], es = [...] }``,
    one non-empty list per language of the survey, each keyword words of letters or digits
    (joined by spaces, hyphens or apostrophes), at most one trailing ``*``, at most
    MAX_KEYWORD_LENGTH characters. Raises ValueError whose message starts with the
    offending sub-key (".en[2]") when there is one.

    >>> parse_keywords({"en": ["Late", "on time"], "es": ["tarde"]}, ["en", "es"])
    {'en': ('late', 'on time'), 'es': ('tarde',)}
    >>> parse_keywords({"en": ["late*x"]}, ["en"])
    Traceback (most recent call last):
    ...
    ValueError: .en[0]: 'late*x' is not a keyword: words of letters or digits, with at most one * at the end
    """
    if not isinstance(raw, Mapping):
        raise ValueError("must be a table of keyword lists by language, e.g. { en = [\"late\"], es = [\"tarde\"] }")
    for lang in raw:
        if lang not in languages:
            raise ValueError(f".{lang}: language not listed in languages {list(languages)}")
    out: dict[str, tuple[str, ...]] = {}
    for lang in languages:
        words = raw.get(lang)
        if not isinstance(words, list) or not words:
            raise ValueError(f".{lang}: missing or empty list of keywords")
        kept: list[str] = []
        for i, word in enumerate(words):
            if not isinstance(word, str) or len(word) > MAX_KEYWORD_LENGTH \
                    or not _KEYWORD.fullmatch(word.strip()):
                raise ValueError(f".{lang}[{i}]: {word!r} is not a keyword: words of letters or digits, "
                                 "with at most one * at the end")
            kept.append(word.strip().casefold())
        out[lang] = tuple(kept)
    return out
