"""Turn raw answers (HTML form strings or JSON values) into clean, typed answers.

All problems are collected and raised once as :class:`AnswerErrors`, with a
human message per field in the respondent's language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping

from surveys.schema import SKIP, Question, QuestionKind, Survey, localize

__all__ = ["UNSURE", "Answer", "AnswerErrors", "quick_cleaner", "validate"]

Answer = int | bool | str | None

_INTEGER = re.compile(r"[+-]?[0-9]{1,9}")
_YES = {"yes", "true", "1"}
_NO = {"no", "false", "0"}
_MISSING = object()
UNSURE: object = object()
"""What a :func:`quick_cleaner` returns for a string it cannot vouch for."""

_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "unknown": "This is not a question in this survey.",
        "required": "Please answer this question.",
        "required_or_skip": "Please choose an answer, or “{skip}”.",
        "range": "Choose a number from {lo} to {hi}.",
        "whole": "Answer with a whole number from {lo} to {hi}.",
        "yes_no": "Answer yes or no.",
        "choice": "Choose one of the options.",
        "text_type": "Answer with text.",
        "too_long": "Please shorten your answer to {limit} characters or fewer (it has {length}).",
    },
    "es": {
        "unknown": "Esta pregunta no forma parte de la encuesta.",
        "required": "Por favor, responde esta pregunta.",
        "required_or_skip": "Elige una respuesta, o «{skip}».",
        "range": "Elige un número del {lo} al {hi}.",
        "whole": "Responde con un número entero del {lo} al {hi}.",
        "yes_no": "Responde sí o no.",
        "choice": "Elige una de las opciones.",
        "text_type": "Responde con un texto.",
        "too_long": "Tu respuesta debe tener como máximo {limit} caracteres (tiene {length}).",
    },
}


class AnswerErrors(ValueError):
    """One or more answers are invalid; ``errors`` maps field id to a message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors.items()))


class _Invalid(Exception):
    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params


def _message(lang: str, key: str, **params: object) -> str:
    primary = lang.split("-")[0].lower()
    messages = _MESSAGES.get(primary, _MESSAGES["en"])
    return messages[key].format(**params)


def _clean_text(value: str) -> str:
    """Normalise newlines, drop control characters other than newline and tab, strip."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        ch for ch in value
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    ).strip()


def _is_blank(value: object) -> bool:
    return value is _MISSING or value is None or (isinstance(value, str) and not value.strip())


def _scale(question: Question, value: object) -> int:
    lo, hi = question.scale  # type: ignore[misc]  # called for scale questions only
    if isinstance(value, bool):
        raise _Invalid("whole", lo=lo, hi=hi)
    if isinstance(value, str):
        text = value.strip()
        if not _INTEGER.fullmatch(text):
            raise _Invalid("whole", lo=lo, hi=hi)
        value = int(text)
    if not isinstance(value, int):
        raise _Invalid("whole", lo=lo, hi=hi)
    if not lo <= value <= hi:
        raise _Invalid("range", lo=lo, hi=hi)
    return value


def _yes_no(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _YES:
            return True
        if text in _NO:
            return False
    raise _Invalid("yes_no")


def _choice(question: Question, value: object) -> str:
    if isinstance(value, str):
        text = value.strip()
        if any(choice.value == text for choice in question.choices):
            return text
    raise _Invalid("choice")


def _text(question: Question, value: object) -> str | None:
    if not isinstance(value, str):
        raise _Invalid("text_type")
    text = _clean_text(value)
    if len(text) > question.max_length:
        raise _Invalid("too_long", limit=question.max_length, length=len(text))
    return text or None


def _clean(question: Question, value: object) -> Answer:
    if question.kind is QuestionKind.TEXT:
        return _text(question, value)
    if question.scale is not None:
        return _scale(question, value)
    if question.kind is QuestionKind.YES_NO:
        return _yes_no(value)
    return _choice(question, value)


def validate(survey: Survey, raw: Mapping[str, object], *, lang: str = "en") -> dict[str, Answer]:
    """Check every answer in ``raw`` against ``survey`` and return clean values.

    The result has every question id, in survey order (None when an optional
    question is unanswered). Scales become int, yes/no bool, choices and text
    str. A skippable question answered ``SKIP`` ("prefer not to say") is
    unanswered: None, and no error even though it is required. Raises
    AnswerErrors listing every problem, with messages in ``lang`` ("en" or
    "es", falling back to English).
    """
    known = {question.id for question in survey.questions}
    errors = {
        str(field): _message(lang, "unknown") for field in raw if field not in known
    }
    answers: dict[str, Answer] = {}
    for question in survey.questions:
        value = raw.get(question.id, _MISSING)
        answer: Answer = None
        if question.skippable and isinstance(value, str) and value.strip() == SKIP:
            answers[question.id] = None
            continue
        if not _is_blank(value):
            try:
                answer = _clean(question, value)
            except _Invalid as problem:
                errors[question.id] = _message(lang, problem.key, **problem.params)
                continue
        if answer is None and question.required:
            if question.skippable:
                skip = localize(survey.skip_labels, lang.split("-")[0].lower())
                errors[question.id] = _message(lang, "required_or_skip", skip=skip)
            else:
                errors[question.id] = _message(lang, "required")
            continue
        answers[question.id] = answer
    if errors:
        raise AnswerErrors(errors)
    return answers


def quick_cleaner(question: Question) -> Callable[[str], object]:
    """A shortcut of :func:`validate` for one question's raw strings, for bulk paths (CSV import).

    The cleaner returns exactly the clean answer ``validate`` gives that string
    (None for a blank optional answer), or ``UNSURE`` when the string needs
    the full check: an error, or an unusual but valid form such as " 4 ".
    Callers send every UNSURE answer through ``validate`` itself, so results
    and messages are the same either way.

    >>> from surveys.schema import builtin_survey
    >>> csat = quick_cleaner(builtin_survey("customer").questions[0])
    >>> csat("4"), csat("9") is UNSURE, csat(" 4 ") is UNSURE
    (4, True, True)
    """
    table: dict[str, Answer] = {}
    if not question.required:
        table[""] = None
    if question.skippable:
        table[SKIP] = None
    if question.kind is QuestionKind.TEXT:
        limit = question.max_length

        def text(raw: str) -> object:
            # printable means no Cc/Cs characters for _clean_text to drop, no newlines to fold
            if raw and raw.isprintable() and len(raw) <= limit and raw.strip() == raw:
                return raw
            return table.get(raw, UNSURE)

        return text
    if question.scale is not None:
        lo, hi = question.scale
        table.update({str(value): value for value in range(lo, hi + 1)})
    elif question.kind is QuestionKind.YES_NO:
        for words, answer in ((_YES, True), (_NO, False)):
            for word in words:
                table.update({form: answer for form in (word, word.upper(), word.capitalize())})
    else:
        table.update({c.value: c.value for c in question.choices if c.value.strip() == c.value != ""})
    get = table.get
    return lambda raw: get(raw, UNSURE)
