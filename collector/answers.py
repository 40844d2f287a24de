"""Answers in, shared by the JSON endpoint and the HTML pages: check the link, validate, store once.

A link's address is made by `collector.settings.link_url`: the collector owns /s/ and /p/.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from models import queries
from models.queries import Link, LinkKind, Stored
from surveys.language import pick_language
from surveys.validation import AnswerErrors, validate

__all__ = ["Outcome", "receive_answers"]


# --- links -----------------------------------------------------------------------


# --- answers (shared with the HTML pages) ------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What became of a submission, for JSON or HTML to render."""

    status: int  # 201 stored (or a retry of it), 403 not open yet, 404, 409, 410, 422
    link: Link | None = None  # None for a 404, and for a 201 stored in one statement
    lang: str = "en"
    stored: Stored | None = None
    errors: Mapping[str, str] | None = None
    message: str = ""


async def receive_answers(
    *,
    token: str,
    raw: Mapping[str, object],
    submission_id: str | None,
    lang: str | None,
    accept_language: str | None,
    source: str,
    kind: LinkKind | None = None,
) -> Outcome:
    """Check the link, validate the answers, store them once.

    The common case, valid answers to an open customer link, is validated first
    (the customer survey is fixed per process) and stored in one statement.
    Everything else, including every refusal, takes the careful path below, which
    looks the link up and tells the cases apart.
    """
    if kind != "pulse":
        at_once = await _store_customer_at_once(token, raw, submission_id, lang, accept_language, source)
        if at_once is not None:
            return at_once
    link = await queries.find_link(token=token, kind=kind)
    if link is None:
        return Outcome(404, message="This survey link is not valid.")
    chosen = pick_language(queries.survey_in_force(link.kind).languages, lang, accept_language)
    now = queries.now_utc()
    if link.not_open_yet(now):
        return Outcome(403, link, chosen, message="This survey is not open yet.")
    if link.closed(now):
        if submission_id is not None:  # a resend of what was stored before it closed
            prior = await queries.stored_for_submission(link=link, submission_id=submission_id)
            if prior is not None:
                return Outcome(201, link, chosen, stored=prior)
        return Outcome(410, link, chosen, message="This survey link has expired or its survey is closed.")
    try:
        answers = validate(queries.survey_in_force(link.kind), raw, lang=chosen)
    except AnswerErrors as problem:
        return Outcome(422, link, chosen, errors=problem.errors)
    try:
        stored = await queries.store_response(
            link=link, answers=answers, lang=chosen, source=source, submission_id=submission_id, now=now
        )
    except queries.AlreadyAnswered:
        return Outcome(409, link, chosen, message="This survey has been answered already.")
    except queries.Conflict as problem:
        return Outcome(409, link, chosen, message=str(problem))
    return Outcome(201, link, chosen, stored=stored)


async def _store_customer_at_once(
    token: str,
    raw: Mapping[str, object],
    submission_id: str | None,
    lang: str | None,
    accept_language: str | None,
    source: str,
) -> Outcome | None:
    """A 201 if `token` is an open, unanswered customer link and the answers are
    valid for the customer survey; else None, having stored nothing.

    The 201 carries no `link`: it was never read, only inserted from.
    """
    survey = queries.survey_in_force("customer")
    chosen = pick_language(survey.languages, lang, accept_language)
    try:
        answers = validate(survey, raw, lang=chosen)
    except AnswerErrors:
        return None  # maybe a pulse link: the careful path validates for the right survey
    stored = await queries.store_customer_response_at_once(
        token=token, answers=answers, survey=survey, lang=chosen, source=source, submission_id=submission_id
    )
    return Outcome(201, None, chosen, stored=stored) if stored is not None else None
