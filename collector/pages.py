"""The public survey pages: /s/{token} for customers, /p/{token} for contractors.

Server-rendered HTML forms, no JavaScript and nothing from another host. The
token in the link is the only key. Each render carries a fresh hidden
submission id, so a form the browser sends twice is stored once and both
sends see the thank-you page.

Every answer POST is answered with a 303 to a page a browser may load again
(POST/redirect/GET), so Back and reload never resend a form: stored answers
go to ``{link}/thanks``; answers to fix go back to the link itself, which
shows them with their errors from a short-lived cookie scoped to that link
(the draft), cleared once the answers are stored; any refusal goes back to
the link, which says why.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from collector.answers import Outcome, receive_answers
from collector.faults import RETRY_AFTER
from collector.guards import SUBMISSION_LIMIT, BodyLimit, bad_text
from collector.schemas import MAX_SUBMISSION_ID
from collector.settings import settings as collector_settings
from collector.wording import when
from collector.wording import words as wording
from models import queries
from models.db import is_unavailable
from models.queries import Link, LinkKind
from models.settings import settings
from surveys.language import pick_language
from surveys.schema import SKIP, QuestionKind, Survey, localize
from surveys.validation import AnswerErrors, validate

__all__ = [
    "DRAFT_CHUNK",
    "DRAFT_CHUNKS",
    "DRAFT_COOKIE",
    "DRAFT_MAX_AGE",
    "FORM_FIELDS",
    "HERE",
    "SECURITY_HEADERS",
    "STATIC_CACHE",
    "CachedStaticFiles",
    "customer_result",
    "customer_survey",
    "favicon",
    "pulse_result",
    "pulse_survey",
    "routes",
    "templates",
    "too_many_tries",
    "unavailable_page",
]

HERE = Path(__file__).parent
FORM_FIELDS = ("submission_id", "lang")
DRAFT_COOKIE = "rapport_draft"
DRAFT_CHUNK = 3800  # characters per cookie; browsers keep 4096 bytes per cookie
DRAFT_CHUNKS = 4  # a longest pulse comment (1000 four-byte characters) needs two
DRAFT_MAX_AGE = 24 * 3600

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

_MESSAGES = {403: "not_open", 404: "not_found", 409: "answered", 410: "expired", 503: "unavailable"}

templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(),
        trim_blocks=True,
        lstrip_blocks=True,
    )
)


def _render(request: Request, name: str, context: dict[str, Any], status: int) -> Response:
    lang = context["lang"]
    context = {"brand": settings.brand, "t": wording(lang), **context}
    return templates.TemplateResponse(request, name, context, status_code=status, headers=SECURITY_HEADERS)


def _message(request: Request, status: int, lang: str, link: Link | None = None) -> Response:
    key = _MESSAGES[status]
    words = wording(lang)
    text = words[key]
    if status == 403 and link is not None and link.opens_at is not None:
        text = words["opens_on"].replace("{when}", when(link.opens_at, lang))
    return _render(request, "message.html", {"lang": lang, "title": words[f"{key}_title"], "text": text}, status)


def too_many_tries(request: Request, retry_after: int) -> Response:
    """429 for a person whose address tried too many unknown links (models.ratelimit)."""
    kind: LinkKind = "pulse" if request.url.path.startswith("/p/") else "customer"
    lang = pick_language(queries.survey_in_force(kind).languages, request.query_params.get("lang"),
                         request.headers.get("accept-language"))
    words = wording(lang)
    minutes = str(max(1, -(-retry_after // 60)))
    response = _render(request, "message.html",
                       {"lang": lang, "title": words["busy_title"],
                        "text": words["busy"].replace("{minutes}", minutes)},
                       429)
    response.headers["Retry-After"] = str(retry_after)
    return response


def unavailable_page(request: Request) -> Response:
    """The kind 503 page for people while the database is unreachable (see collector.faults)."""
    lang = pick_language(("en", "es"), request.query_params.get("lang"), request.headers.get("accept-language"))
    return _message(request, 503, lang)


def _questions(survey: Survey, lang: str, t: dict[str, str]) -> list[dict[str, Any]]:
    """What the template needs of each question, in `lang`."""
    shown = []
    skip_label = localize(survey.skip_labels, lang, settings.brand) if survey.skip_labels else ""
    for q in survey.questions:
        if q.scale is not None:
            lo, hi = q.scale
            options = [(str(v), str(v)) for v in range(lo, hi + 1)]
        elif q.kind is QuestionKind.YES_NO:
            options = [("yes", t["yes"]), ("no", t["no"])]
        elif q.kind is QuestionKind.CHOICE:
            options = [(c.value, localize(c.labels, lang, settings.brand)) for c in q.choices]
        else:
            options = []
        shown.append(
            {
                "id": q.id,
                "kind": "scale" if q.scale else q.kind.value,
                "text": q.text(lang, settings.brand),
                "required": q.required,
                "options": options,
                "skip": (SKIP, skip_label) if q.skippable else None,
                "columns": len(options) if q.scale and len(options) <= 7 else 6,
                "low": localize(q.low_labels, lang, settings.brand) if q.low_labels else "",
                "high": localize(q.high_labels, lang, settings.brand) if q.high_labels else "",
                "max_length": q.max_length,
            }
        )
    return shown


def _summary(questions: list[dict[str, Any]], values: Mapping[str, str], errors: Mapping[str, str],
             words: dict[str, str]) -> dict[str, Any] | None:
    """The error summary above the form: how many answers, and a link to each, in survey order."""
    wrong = [q for q in questions if q["id"] in errors]
    if not wrong:
        return None
    missing = all(not values.get(q["id"], "").strip() for q in wrong)
    key = ("missing" if missing else "check") + ("_one" if len(wrong) == 1 else "_many")
    return {
        "text": words[key].replace("{n}", str(len(wrong))),
        "links": [(q["id"], q["text"]) for q in wrong],
    }


def _form(
    request: Request,
    kind: LinkKind,
    lang: str,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    submission_id: str | None = None,
    status: int = 200,
    unsaved: bool = False,
) -> Response:
    survey = queries.survey_in_force(kind)
    words = wording(lang)
    questions = _questions(survey, lang, words)
    values = values or {}
    errors = errors or {}
    summary = _summary(questions, values, errors, words)
    return _render(
        request,
        "survey.html",
        {
            "lang": lang,
            "kind": kind,
            "title": localize(survey.title, lang, settings.brand),
            "intro": localize(survey.intro, lang, settings.brand),
            "questions": questions,
            "values": values,
            "errors": errors,
            "summary": summary,
            "first_error": summary["links"][0][0] if summary else None,
            "submission_id": submission_id or secrets.token_urlsafe(18),
            "action": request.url.path,
            "unsaved": unsaved,
        },
        status,
    )


def _thanks(request: Request, kind: LinkKind, lang: str) -> Response:
    survey = queries.survey_in_force(kind)
    response = _render(
        request,
        "message.html",
        {
            "lang": lang,
            "title": wording(lang)["thanks_title"],
            "text": localize(survey.thanks, lang, settings.brand),
            "thanks": True,
        },
        200,
    )
    _forget_draft(request, response)
    return response


# --- the draft: answers to fix, kept between the POST and the GET that shows them ---------


def _link_path(request: Request) -> str:
    prefix = "s" if request.url.path.startswith("/s/") else "p"
    return f"/{prefix}/{request.path_params['token']}"


def _save_draft(response: Response, path: str, values: Mapping[str, str], submission_id: str | None) -> bool:
    """Keep the answers to fix in cookies scoped to the link; False if they are too long to keep."""
    raw = json.dumps({"values": dict(values), "submission_id": submission_id}, separators=(",", ":"))
    encoded = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    chunks = [encoded[i:i + DRAFT_CHUNK] for i in range(0, len(encoded), DRAFT_CHUNK)]
    if len(chunks) > DRAFT_CHUNKS:
        return False
    secure = collector_settings.https
    for n in range(DRAFT_CHUNKS):
        name = f"{DRAFT_COOKIE}{n}"
        if n < len(chunks):
            response.set_cookie(name, chunks[n], max_age=DRAFT_MAX_AGE, path=path, secure=secure,
                                httponly=True, samesite="lax")
        else:
            response.delete_cookie(name, path=path, secure=secure, httponly=True, samesite="lax")
    return True


def _read_draft(request: Request) -> tuple[dict[str, str], str | None] | None:
    """The answers and submission id a failed POST left for this link, if any."""
    encoded = "".join(request.cookies.get(f"{DRAFT_COOKIE}{n}", "") for n in range(DRAFT_CHUNKS))
    if not encoded:
        return None
    try:
        draft = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(draft, dict) or not isinstance(draft.get("values"), dict):
        return None
    values = {str(k): v for k, v in draft["values"].items() if isinstance(v, str)}
    submission_id = draft.get("submission_id")
    return values, submission_id if isinstance(submission_id, str) else None


def _forget_draft(request: Request, response: Response) -> None:
    if any(f"{DRAFT_COOKIE}{n}" in request.cookies for n in range(DRAFT_CHUNKS)):
        secure = collector_settings.https
        for n in range(DRAFT_CHUNKS):
            response.delete_cookie(f"{DRAFT_COOKIE}{n}", path=_link_path(request), secure=secure,
                                   httponly=True, samesite="lax")


def _see_other(path: str, lang: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode({'lang': lang})}", status_code=303, headers=SECURITY_HEADERS)


# --- handlers ----------------------------------------------------------------------------


def _language(request: Request, kind: LinkKind) -> str:
    return pick_language(
        queries.survey_in_force(kind).languages,
        request.query_params.get("lang"),
        request.headers.get("accept-language"),
    )


async def _show(request: Request, kind: LinkKind) -> Response:
    lang = _language(request, kind)
    link = await queries.find_link(token=request.path_params["token"], kind=kind)
    if link is None:
        return _message(request, 404, lang)
    now = queries.now_utc()
    response: Response
    if link.not_open_yet(now):
        response = _message(request, 403, lang, link)
    elif link.closed(now):
        response = _message(request, 410, lang)
    elif await queries.is_answered(link=link):
        response = _message(request, 409, lang)
    else:
        draft = _read_draft(request)
        if draft is None:
            return _form(request, kind, lang)
        values, submission_id = draft
        try:
            validate(queries.survey_in_force(kind), values, lang=lang)
            errors: dict[str, str] = {}
        except AnswerErrors as problem:
            errors = problem.errors
        return _form(request, kind, lang, values=values, errors=errors, submission_id=submission_id)
    _forget_draft(request, response)
    return response


async def _result(request: Request, kind: LinkKind) -> Response:
    """The page an answered link's POST redirects to: the thank-you, as often as it is loaded."""
    lang = _language(request, kind)
    link = await queries.find_link(token=request.path_params["token"], kind=kind)
    if link is None:
        return _message(request, 404, lang)
    if await queries.is_answered(link=link):
        return _thanks(request, kind, lang)
    return _see_other(_link_path(request), lang)  # nothing stored: the link says what to do


async def _answer(request: Request, kind: LinkKind) -> Response:
    form = await request.form()
    raw = {
        key: value
        for key, value in form.multi_items()
        if key not in FORM_FIELDS and isinstance(value, str)
    }
    submission_id = form.get("submission_id")
    if not isinstance(submission_id, str) or not 0 < len(submission_id) <= MAX_SUBMISSION_ID or bad_text(submission_id):
        submission_id = None
    form_lang = form.get("lang")
    repeated = [key for key, count in Counter(key for key, _ in form.multi_items()).items() if count > 1]
    if repeated:  # csat=1&csat=5: which did the person mean? Ask, rather than keep the last.
        lang = _language(request, kind) if not isinstance(form_lang, str) else pick_language(
            queries.survey_in_force(kind).languages, form_lang, request.headers.get("accept-language"))
        once = wording(lang)["once"]
        return _form(request, kind, lang, values={k: v for k, v in raw.items() if k not in repeated},
                     errors={key: once for key in repeated}, submission_id=submission_id, status=422)
    try:
        outcome: Outcome = await receive_answers(
            token=request.path_params["token"],
            raw=raw,
            submission_id=submission_id,
            lang=form_lang if isinstance(form_lang, str) else request.query_params.get("lang"),
            accept_language=request.headers.get("accept-language"),
            source="web",
            kind=kind,
        )
    except Exception as exc:  # the database is down: show the answers again, ready to resend
        if not is_unavailable(exc):
            raise
        lang = _language(request, kind) if not isinstance(form_lang, str) else pick_language(
            queries.survey_in_force(kind).languages, form_lang, request.headers.get("accept-language"))
        response = _form(request, kind, lang, values=raw, submission_id=submission_id, status=503, unsaved=True)
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
    path = _link_path(request)
    lang = outcome.lang if outcome.link or outcome.status == 201 else pick_language(
        queries.survey_in_force(kind).languages,
        form_lang if isinstance(form_lang, str) else request.query_params.get("lang"),
        request.headers.get("accept-language"),
    )
    if outcome.status == 201:
        response = _see_other(f"{path}/thanks", lang)
        _forget_draft(request, response)
        return response
    if outcome.status == 422:
        response = _see_other(path, lang)
        if _save_draft(response, path, raw, submission_id):
            return response
        # answers too long to keep in a cookie (not from this form): show them right here
        errors = dict(outcome.errors or {})
        return _form(request, kind, lang, values=raw, errors=errors, submission_id=submission_id, status=422)
    return _see_other(path, lang)  # the link's page says why (unknown, not open, closed, answered)


async def customer_survey(request: Request) -> Response:
    """GET shows the customer survey; POST answers it, then redirects (303)."""
    if request.method == "POST":
        return await _answer(request, "customer")
    return await _show(request, "customer")


async def pulse_survey(request: Request) -> Response:
    """GET shows the contractor pulse; POST answers it, then redirects (303)."""
    if request.method == "POST":
        return await _answer(request, "pulse")
    return await _show(request, "pulse")


async def customer_result(request: Request) -> Response:
    return await _result(request, "customer")


async def pulse_result(request: Request) -> Response:
    return await _result(request, "pulse")


class CachedStaticFiles(StaticFiles):
    """Static files with a Cache-Control: a phone fetches the stylesheet once a day."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = STATIC_CACHE
        return response


STATIC_CACHE = "public, max-age=86400"


async def favicon(request: Request) -> Response:
    return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": STATIC_CACHE})


_ANSWER_LIMIT = [Middleware(BodyLimit, limit=SUBMISSION_LIMIT)]

routes: list[BaseRoute] = [
    Route("/s/{token}", customer_survey, methods=["GET", "POST"], middleware=_ANSWER_LIMIT),
    Route("/s/{token}/thanks", customer_result, methods=["GET"]),
    Route("/p/{token}", pulse_survey, methods=["GET", "POST"], middleware=_ANSWER_LIMIT),
    Route("/p/{token}/thanks", pulse_result, methods=["GET"]),
    Route("/favicon.ico", favicon, methods=["GET"]),
    Mount("/static", CachedStaticFiles(directory=HERE / "static"), name="static"),
]
