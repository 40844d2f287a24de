"""The public survey pages: /s/{token} for customers, /p/{token} for contractors.

Server-rendered HTML forms, no JavaScript and nothing from another host. The
token in the link is the only key. Each render carries a fresh hidden
submission id, so a form the browser sends twice is stored once and both
sends see the thank-you page.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from collector.api import MAX_SUBMISSION_ID, Outcome, receive_answers
from models import queries
from models.queries import LinkKind
from models.settings import settings
from surveys.language import pick_language
from surveys.schema import QuestionKind, Survey, localize

__all__ = ["SECURITY_HEADERS", "routes", "too_many_tries"]

HERE = Path(__file__).parent
FORM_FIELDS = ("submission_id", "lang")

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "submit": "Send",
        "optional": "optional",
        "yes": "Yes",
        "no": "No",
        "fix": "Please check the answers marked below.",
        "confidential": "Your answers are confidential. [Brand] sees results only for groups of at "
        "least {min_group} people, never your answers on their own.",
        "not_found_title": "Link not found",
        "not_found": "This survey link is not valid. Please check that you copied the whole link.",
        "expired_title": "This survey has closed",
        "expired": "This survey link has expired, so it no longer takes answers. Thank you all the same.",
        "not_open_title": "Not open yet",
        "not_open": "This survey is not open yet. Please come back when it opens.",
        "answered_title": "Already answered",
        "answered": "This survey has been answered already, so there is nothing more to do. Thank you!",
        "thanks_title": "Thank you",
        "busy_title": "Too many tries",
        "busy": "Too many links that do not exist were tried from your network. Please check your link "
        "and try again in {minutes} minutes.",
    },
    "es": {
        "submit": "Enviar",
        "optional": "opcional",
        "yes": "Sí",
        "no": "No",
        "fix": "Revisa las respuestas marcadas abajo.",
        "confidential": "Tus respuestas son confidenciales. [Brand] solo ve resultados de grupos de "
        "al menos {min_group} personas, nunca tus respuestas por separado.",
        "not_found_title": "Enlace no encontrado",
        "not_found": "Este enlace de encuesta no es válido. Revisa que hayas copiado el enlace completo.",
        "expired_title": "Esta encuesta está cerrada",
        "expired": "Este enlace de encuesta ha caducado y ya no admite respuestas. Gracias de todos modos.",
        "not_open_title": "Aún no está abierta",
        "not_open": "Esta encuesta aún no está abierta. Vuelve cuando se abra.",
        "answered_title": "Ya respondida",
        "answered": "Esta encuesta ya fue respondida, así que no hace falta nada más. ¡Gracias!",
        "thanks_title": "Gracias",
        "busy_title": "Demasiados intentos",
        "busy": "Desde tu red se probaron demasiados enlaces que no existen. Revisa tu enlace y vuelve "
        "a intentarlo dentro de {minutes} minutos.",
    },
}

_MESSAGES = {403: "not_open", 404: "not_found", 409: "answered", 410: "expired"}

templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(),
        trim_blocks=True,
        lstrip_blocks=True,
    )
)


def _words(lang: str) -> dict[str, str]:
    words = TEXT.get(lang, TEXT["en"])
    return {
        key: value.replace("[Brand]", settings.brand).replace("{min_group}", str(settings.min_group))
        for key, value in words.items()
    }


def _render(request: Request, name: str, context: dict[str, Any], status: int) -> Response:
    lang = context["lang"]
    context = {"brand": settings.brand, "t": _words(lang), **context}
    return templates.TemplateResponse(request, name, context, status_code=status, headers=SECURITY_HEADERS)


def _message(request: Request, status: int, lang: str) -> Response:
    key = _MESSAGES[status]
    words = _words(lang)
    return _render(
        request,
        "message.html",
        {"lang": lang, "title": words[f"{key}_title"], "text": words[key]},
        status,
    )


def too_many_tries(request: Request, retry_after: int) -> Response:
    """429 for a person whose address tried too many unknown links (models.ratelimit)."""
    kind: LinkKind = "pulse" if request.url.path.startswith("/p/") else "customer"
    lang = pick_language(queries.survey_in_force(kind).languages, request.query_params.get("lang"),
                         request.headers.get("accept-language"))
    words = _words(lang)
    minutes = str(max(1, -(-retry_after // 60)))
    response = _render(request, "message.html",
                       {"lang": lang, "title": words["busy_title"], "text": words["busy"].replace("{minutes}", minutes)},
                       429)
    response.headers["Retry-After"] = str(retry_after)
    return response


def _questions(survey: Survey, lang: str, t: dict[str, str]) -> list[dict[str, Any]]:
    """What the template needs of each question, in `lang`."""
    shown = []
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
                "columns": len(options) if q.scale and len(options) <= 7 else 6,
                "low": localize(q.low_labels, lang, settings.brand) if q.low_labels else "",
                "high": localize(q.high_labels, lang, settings.brand) if q.high_labels else "",
                "max_length": q.max_length,
            }
        )
    return shown


def _form(
    request: Request,
    kind: LinkKind,
    lang: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    submission_id: str | None = None,
) -> Response:
    survey = queries.survey_in_force(kind)
    words = _words(lang)
    return _render(
        request,
        "survey.html",
        {
            "lang": lang,
            "kind": kind,
            "title": localize(survey.title, lang, settings.brand),
            "intro": localize(survey.intro, lang, settings.brand),
            "questions": _questions(survey, lang, words),
            "values": values or {},
            "errors": errors or {},
            "submission_id": submission_id or secrets.token_urlsafe(18),
            "action": request.url.path,
        },
        422 if errors else 200,
    )


def _thanks(request: Request, kind: LinkKind, lang: str) -> Response:
    survey = queries.survey_in_force(kind)
    return _render(
        request,
        "message.html",
        {
            "lang": lang,
            "title": _words(lang)["thanks_title"],
            "text": localize(survey.thanks, lang, settings.brand),
            "thanks": True,
        },
        200,
    )


async def _show(request: Request, kind: LinkKind) -> Response:
    query_lang = request.query_params.get("lang")
    accept = request.headers.get("accept-language")
    languages = queries.survey_in_force(kind).languages
    lang = pick_language(languages, query_lang, accept)
    link = await queries.find_link(token=request.path_params["token"], kind=kind)
    if link is None:
        return _message(request, 404, lang)
    now = queries.now_utc()
    if link.not_open_yet(now):
        return _message(request, 403, lang)
    if link.closed(now):
        return _message(request, 410, lang)
    if await queries.is_answered(link=link):
        return _message(request, 409, lang)
    return _form(request, kind, lang)


async def _answer(request: Request, kind: LinkKind) -> Response:
    form = await request.form()
    raw = {
        key: value
        for key, value in form.multi_items()
        if key not in FORM_FIELDS and isinstance(value, str)
    }
    submission_id = form.get("submission_id")
    if not isinstance(submission_id, str) or not 0 < len(submission_id) <= MAX_SUBMISSION_ID:
        submission_id = None
    form_lang = form.get("lang")
    outcome: Outcome = await receive_answers(
        token=request.path_params["token"],
        raw=raw,
        submission_id=submission_id,
        lang=form_lang if isinstance(form_lang, str) else request.query_params.get("lang"),
        accept_language=request.headers.get("accept-language"),
        source="web",
        kind=kind,
    )
    if outcome.status == 201:
        return _thanks(request, kind, outcome.lang)
    if outcome.status == 422:
        return _form(
            request,
            kind,
            outcome.lang,
            values=raw,
            errors=dict(outcome.errors or {}),
            submission_id=submission_id,
        )
    lang = outcome.lang if outcome.link else pick_language(
        queries.survey_in_force(kind).languages,
        request.query_params.get("lang"),
        request.headers.get("accept-language"),
    )
    return _message(request, outcome.status, lang)


async def customer_survey(request: Request) -> Response:
    """GET shows the customer survey; POST answers it."""
    if request.method == "POST":
        return await _answer(request, "customer")
    return await _show(request, "customer")


async def pulse_survey(request: Request) -> Response:
    """GET shows the contractor pulse; POST answers it."""
    if request.method == "POST":
        return await _answer(request, "pulse")
    return await _show(request, "pulse")


routes: list[BaseRoute] = [
    Route("/s/{token}", customer_survey, methods=["GET", "POST"]),
    Route("/p/{token}", pulse_survey, methods=["GET", "POST"]),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
]
