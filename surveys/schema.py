"""Survey definitions as data: frozen dataclasses, parsed and checked from TOML.

A brand rewords or adds a question by editing a definition file and bumping
its ``version``; :func:`parse_survey` rejects anything the rest of Rapport
could not handle, naming the file and the offending key.
"""

from __future__ import annotations

import functools
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from surveys.themes import Theme, parse_keywords

__all__ = [
    "BRAND_PLACEHOLDER",
    "DEFINITIONS_DIR",
    "SKIP",
    "Choice",
    "Dimension",
    "Question",
    "QuestionKind",
    "Survey",
    "SurveyDefinitionError",
    "builtin_survey",
    "load_survey",
    "localize",
    "parse_survey",
]

BRAND_PLACEHOLDER = "[Brand]"
SKIP = "skip"
"""The answer to a skippable question that means "prefer not to say": counted as unanswered."""
DEFINITIONS_DIR = Path(__file__).parent / "definitions"
_ID = re.compile(r"[a-z][a-z0-9_]*")
_LANG = re.compile(r"[a-z]{2,3}")


class QuestionKind(StrEnum):
    SCALE_1_5 = "scale_1_5"
    SCALE_0_10 = "scale_0_10"
    SCALE_1_7 = "scale_1_7"
    YES_NO = "yes_no"
    CHOICE = "choice"
    TEXT = "text"


_SCALES: dict[QuestionKind, tuple[int, int]] = {
    QuestionKind.SCALE_1_5: (1, 5),
    QuestionKind.SCALE_0_10: (0, 10),
    QuestionKind.SCALE_1_7: (1, 7),
}


class SurveyDefinitionError(ValueError):
    """A survey definition is invalid; the message names the file and the key."""


def localize(labels: Mapping[str, str], lang: str, brand: str | None = None) -> str:
    """The label in ``lang`` (else English, else the first one), with "[Brand]" replaced.

    >>> localize({"en": "Hi [Brand]", "es": "Hola [Brand]"}, "fr", "Acme")
    'Hi Acme'
    """
    text = labels.get(lang) or labels.get("en") or next(iter(labels.values()), "")
    return text if brand is None else text.replace(BRAND_PLACEHOLDER, brand)


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Choice:
    value: str
    labels: Mapping[str, str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen(self.labels))


@dataclass(frozen=True)
class Question:
    id: str
    kind: QuestionKind
    labels: Mapping[str, str]
    required: bool = True
    dimension: str | None = None
    reversed: bool = False
    choices: tuple[Choice, ...] = ()
    max_length: int = 1000
    low_labels: Mapping[str, str] = field(default_factory=dict)
    high_labels: Mapping[str, str] = field(default_factory=dict)
    skippable: bool = False  # offers SKIP ("prefer not to say"), which counts as unanswered

    def __post_init__(self) -> None:
        for name in ("labels", "low_labels", "high_labels"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "kind", QuestionKind(self.kind))
        object.__setattr__(self, "choices", tuple(self.choices))

    @property
    def scale(self) -> tuple[int, int] | None:
        """The inclusive answer range of a scale question, else None."""
        return _SCALES.get(self.kind)

    def text(self, lang: str, brand: str) -> str:
        """The question in ``lang`` (falling back to English) with the brand filled in."""
        return localize(self.labels, lang, brand)


@dataclass(frozen=True)
class Dimension:
    id: str
    labels: Mapping[str, str]
    weight: float = 1.0
    description: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen(self.labels))
        object.__setattr__(self, "description", _frozen(self.description))


@dataclass(frozen=True)
class Survey:
    id: str
    version: int
    title: Mapping[str, str]
    intro: Mapping[str, str]
    thanks: Mapping[str, str]
    questions: tuple[Question, ...]
    dimensions: tuple[Dimension, ...]
    languages: tuple[str, ...]
    skip_labels: Mapping[str, str] = field(default_factory=dict)  # "prefer not to say", by language
    # themes of the comments (surveys.themes): the dimensions' keywords, then [[themes]]
    themes: tuple[Theme, ...] = ()

    def __post_init__(self) -> None:
        for name in ("title", "intro", "thanks", "skip_labels"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        for name in ("questions", "dimensions", "languages", "themes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def question(self, id: str) -> Question:
        """The question with this id; KeyError if there is none."""
        for question in self.questions:
            if question.id == id:
                return question
        raise KeyError(id)

    def dimension(self, id: str) -> Dimension:
        """The dimension with this id; KeyError if there is none."""
        for dimension in self.dimensions:
            if dimension.id == id:
                return dimension
        raise KeyError(id)

    def items(self, dimension: str) -> tuple[Question, ...]:
        """The scored items of a dimension, in survey order; KeyError if it is unknown."""
        self.dimension(dimension)
        return tuple(q for q in self.questions if q.dimension == dimension)

    def theme(self, id: str) -> Theme:
        """The comment theme with this id; KeyError if there is none."""
        for theme in self.themes:
            if theme.id == id:
                return theme
        raise KeyError(id)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the survey, for APIs and exports."""
        return {
            "id": self.id,
            "version": self.version,
            "languages": list(self.languages),
            "title": dict(self.title),
            "intro": dict(self.intro),
            "thanks": dict(self.thanks),
            "skip": {"value": SKIP, "labels": dict(self.skip_labels)} if self.skip_labels else None,
            "dimensions": [
                {
                    "id": d.id,
                    "labels": dict(d.labels),
                    "weight": d.weight,
                    "description": dict(d.description),
                }
                for d in self.dimensions
            ],
            "questions": [
                {
                    "id": q.id,
                    "type": q.kind.value,
                    "range": list(q.scale) if q.scale else None,
                    "required": q.required,
                    "skippable": q.skippable,
                    "dimension": q.dimension,
                    "reversed": q.reversed,
                    "labels": dict(q.labels),
                    "low_labels": dict(q.low_labels),
                    "high_labels": dict(q.high_labels),
                    "choices": [
                        {"value": c.value, "labels": dict(c.labels)} for c in q.choices
                    ],
                    "max_length": q.max_length if q.kind is QuestionKind.TEXT else None,
                }
                for q in self.questions
            ],
            "themes": [t.as_dict() for t in self.themes],
        }


# --- parsing -----------------------------------------------------------------

_SURVEY_KEYS = {
    "id", "version", "languages", "title", "intro", "thanks", "skip_labels", "dimensions", "questions", "themes",
}
_DIMENSION_KEYS = {"id", "labels", "weight", "description", "keywords"}
_THEME_KEYS = {"id", "labels", "keywords"}
_QUESTION_KEYS = {
    "id", "kind", "labels", "required", "dimension", "reversed",
    "choices", "max_length", "low_labels", "high_labels",
}
_CHOICE_KEYS = {"value", "labels"}


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> SurveyDefinitionError:
        return SurveyDefinitionError(f"{self.source}: {key}: {message}")

    def table(self, value: object, key: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, "must be a table")
        for name in value:
            if name not in allowed:
                raise self.fail(f"{key}.{name}" if key else name, "unknown key")
        return value

    def ident(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not _ID.fullmatch(value):
            raise self.fail(key, f"must be an id of lowercase letters, digits and _ (got {value!r})")
        return value

    def boolean(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false (got {value!r})")
        return value

    def labels(self, value: object, key: str, languages: tuple[str, ...]) -> dict[str, str]:
        if not isinstance(value, Mapping):
            raise self.fail(key, "must be a table of texts by language, e.g. { en = \"...\", es = \"...\" }")
        for lang in value:
            if lang not in languages:
                raise self.fail(f"{key}.{lang}", f"language not listed in languages {list(languages)}")
        for lang in languages:
            text = value.get(lang)
            if not isinstance(text, str) or not text.strip():
                raise self.fail(f"{key}.{lang}", "missing or empty text")
        return {lang: value[lang].strip() for lang in languages}

    def survey(self, data: Mapping[str, Any]) -> Survey:
        self.table(data, "", _SURVEY_KEYS)
        for name in ("id", "version", "languages", "title", "intro", "thanks", "questions"):
            if name not in data:
                raise self.fail(name, "missing")
        survey_id = self.ident(data["id"], "id")
        version = data["version"]
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise self.fail("version", f"must be a whole number >= 1 (got {version!r})")

        raw_languages = data["languages"]
        if not isinstance(raw_languages, list) or not raw_languages:
            raise self.fail("languages", "must be a non-empty list such as [\"en\", \"es\"]")
        for i, lang in enumerate(raw_languages):
            if not isinstance(lang, str) or not _LANG.fullmatch(lang):
                raise self.fail(f"languages[{i}]", f"must be a lowercase language code like 'en' (got {lang!r})")
        if len(set(raw_languages)) != len(raw_languages):
            raise self.fail("languages", "duplicate language")
        languages = tuple(raw_languages)

        texts = {name: self.labels(data[name], name, languages) for name in ("title", "intro", "thanks")}
        # with skip_labels, every index item (a question with a dimension) offers "prefer not to say"
        skip_labels = (
            self.labels(data["skip_labels"], "skip_labels", languages) if "skip_labels" in data else {}
        )

        raw_dimensions = data.get("dimensions", [])
        if not isinstance(raw_dimensions, list):
            raise self.fail("dimensions", "must be a list of tables ([[dimensions]])")
        dimensions = tuple(
            self.dimension(raw, f"dimensions[{i}]", languages) for i, raw in enumerate(raw_dimensions)
        )
        dimension_ids = [d.id for d in dimensions]
        for i, dim_id in enumerate(dimension_ids):
            if dim_id in dimension_ids[:i]:
                raise self.fail(f"dimensions[{i}].id", f"duplicate dimension id {dim_id!r}")

        raw_questions = data["questions"]
        if not isinstance(raw_questions, list) or not raw_questions:
            raise self.fail("questions", "must be a non-empty list of tables ([[questions]])")
        questions = tuple(
            self.question(raw, f"questions[{i}]", languages, dimension_ids, skippable=bool(skip_labels))
            for i, raw in enumerate(raw_questions)
        )
        question_ids = [q.id for q in questions]
        for i, q_id in enumerate(question_ids):
            if q_id in question_ids[:i]:
                raise self.fail(f"questions[{i}].id", f"duplicate question id {q_id!r}")
        for i, dim_id in enumerate(dimension_ids):
            if not any(q.dimension == dim_id for q in questions):
                raise self.fail(f"dimensions[{i}]", f"dimension {dim_id!r} has no questions")

        themes = self.themes(data, raw_dimensions, dimensions, languages)
        return Survey(
            id=survey_id,
            version=version,
            title=texts["title"],
            intro=texts["intro"],
            thanks=texts["thanks"],
            questions=questions,
            dimensions=dimensions,
            languages=languages,
            skip_labels=skip_labels,
            themes=themes,
        )

    def keywords(self, raw: object, key: str, languages: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
        try:
            return parse_keywords(raw, languages)
        except ValueError as exc:
            where, _, message = str(exc).partition(": ") if str(exc).startswith(".") else ("", "", str(exc))
            raise self.fail(f"{key}{where}", message) from None

    def themes(self, data: Mapping[str, Any], raw_dimensions: list[Any], dimensions: tuple[Dimension, ...],
               languages: tuple[str, ...]) -> tuple[Theme, ...]:
        """The comment themes: a dimension with `keywords` is one (its id and labels), then
        each [[themes]] table (id, labels, keywords); ids unique across both."""
        themes = [
            Theme(d.id, d.labels, self.keywords(raw["keywords"], f"dimensions[{i}].keywords", languages), d.id)
            for i, (raw, d) in enumerate(zip(raw_dimensions, dimensions, strict=True)) if "keywords" in raw
        ]
        raw_themes = data.get("themes", [])
        if not isinstance(raw_themes, list):
            raise self.fail("themes", "must be a list of tables ([[themes]])")
        for i, raw in enumerate(raw_themes):
            key = f"themes[{i}]"
            raw = self.table(raw, key, _THEME_KEYS)
            for name in ("id", "labels", "keywords"):
                if name not in raw:
                    raise self.fail(f"{key}.{name}", "missing")
            theme_id = self.ident(raw["id"], f"{key}.id")
            if any(t.id == theme_id for t in themes):
                raise self.fail(f"{key}.id", f"duplicate theme id {theme_id!r} (a dimension with keywords is a theme)")
            themes.append(Theme(theme_id, self.labels(raw["labels"], f"{key}.labels", languages),
                                self.keywords(raw["keywords"], f"{key}.keywords", languages)))
        return tuple(themes)

    def dimension(self, raw: object, key: str, languages: tuple[str, ...]) -> Dimension:
        raw = self.table(raw, key, _DIMENSION_KEYS)
        for name in ("id", "labels"):
            if name not in raw:
                raise self.fail(f"{key}.{name}", "missing")
        weight = raw.get("weight", 1.0)
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not math.isfinite(weight)
            or weight <= 0
        ):
            raise self.fail(f"{key}.weight", f"must be a number > 0 (got {weight!r})")
        description = raw.get("description")
        return Dimension(
            id=self.ident(raw["id"], f"{key}.id"),
            labels=self.labels(raw["labels"], f"{key}.labels", languages),
            weight=float(weight),
            description={} if description is None
            else self.labels(description, f"{key}.description", languages),
        )

    def question(
        self, raw: object, key: str, languages: tuple[str, ...], dimension_ids: list[str],
        *, skippable: bool = False,
    ) -> Question:
        raw = self.table(raw, key, _QUESTION_KEYS)
        for name in ("id", "kind", "labels"):
            if name not in raw:
                raise self.fail(f"{key}.{name}", "missing")
        question_id = self.ident(raw["id"], f"{key}.id")
        try:
            kind = QuestionKind(raw["kind"])
        except ValueError:
            known = ", ".join(k.value for k in QuestionKind)
            raise self.fail(f"{key}.kind", f"unknown kind {raw['kind']!r} (known: {known})") from None
        is_scale = kind in _SCALES

        dimension = raw.get("dimension")
        if dimension is not None:
            if dimension not in dimension_ids:
                raise self.fail(f"{key}.dimension", f"undeclared dimension {dimension!r}")
            if kind is not QuestionKind.SCALE_1_5:
                raise self.fail(f"{key}.dimension", f"dimension items must be scale_1_5, not {kind.value}")

        reversed_ = self.boolean(raw.get("reversed", False), f"{key}.reversed")
        if reversed_ and kind is not QuestionKind.SCALE_1_5:
            raise self.fail(f"{key}.reversed", "only scale_1_5 questions can be reversed")

        choices: tuple[Choice, ...] = ()
        if "choices" in raw:
            if kind is not QuestionKind.CHOICE:
                raise self.fail(f"{key}.choices", f"only choice questions have choices, not {kind.value}")
            choices = self.choices(raw["choices"], f"{key}.choices", languages)
        elif kind is QuestionKind.CHOICE:
            raise self.fail(f"{key}.choices", "missing (a choice question needs at least two choices)")

        max_length = 1000
        if "max_length" in raw:
            if kind is not QuestionKind.TEXT:
                raise self.fail(f"{key}.max_length", f"only text questions have max_length, not {kind.value}")
            max_length = raw["max_length"]
            if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
                raise self.fail(f"{key}.max_length", f"must be a whole number >= 1 (got {max_length!r})")

        anchors: dict[str, dict[str, str]] = {}
        for name in ("low_labels", "high_labels"):
            if name in raw:
                if not is_scale:
                    raise self.fail(f"{key}.{name}", f"only scale questions have anchor labels, not {kind.value}")
                anchors[name] = self.labels(raw[name], f"{key}.{name}", languages)

        return Question(
            id=question_id,
            kind=kind,
            labels=self.labels(raw["labels"], f"{key}.labels", languages),
            required=self.boolean(raw.get("required", True), f"{key}.required"),
            dimension=dimension,
            reversed=reversed_,
            choices=choices,
            max_length=max_length,
            low_labels=anchors.get("low_labels", {}),
            high_labels=anchors.get("high_labels", {}),
            skippable=skippable and dimension is not None,
        )

    def choices(self, raw: object, key: str, languages: tuple[str, ...]) -> tuple[Choice, ...]:
        if not isinstance(raw, list) or len(raw) < 2:
            raise self.fail(key, "must be a list of at least two choices")
        choices: list[Choice] = []
        for i, item in enumerate(raw):
            item_key = f"{key}[{i}]"
            item = self.table(item, item_key, _CHOICE_KEYS)
            for name in ("value", "labels"):
                if name not in item:
                    raise self.fail(f"{item_key}.{name}", "missing")
            value = self.ident(item["value"], f"{item_key}.value")
            if any(c.value == value for c in choices):
                raise self.fail(f"{item_key}.value", f"duplicate choice value {value!r}")
            choices.append(Choice(value, self.labels(item["labels"], f"{item_key}.labels", languages)))
        return tuple(choices)


def parse_survey(data: Mapping[str, Any], *, source: str = "<survey>") -> Survey:
    """Check a survey definition (as loaded from TOML) and build the Survey.

    Raises SurveyDefinitionError naming ``source`` and the offending key.
    """
    return _Parser(source).survey(data)


def load_survey(path: str | os.PathLike[str]) -> Survey:
    """Read and check a TOML survey definition file."""
    source = os.fspath(path)
    with open(path, "rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise SurveyDefinitionError(f"{source}: not valid TOML: {exc}") from exc
    return parse_survey(data, source=source)


@functools.cache
def builtin_survey(name: str) -> Survey:
    """A bundled definition: "customer" or "pulse" (read once, then cached)."""
    if name not in ("customer", "pulse"):
        raise KeyError(f"no built-in survey {name!r}; choose 'customer' or 'pulse'")
    return load_survey(DEFINITIONS_DIR / f"{name}.toml")
