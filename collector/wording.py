"""What the survey pages say, in each language, and how they write a moment.

The pages (collector.pages) pick the words here by language; `[Brand]` and
`{min_group}` are filled in from the settings.
"""

from __future__ import annotations

from datetime import UTC, datetime

from models.settings import settings

__all__ = ["TEXT", "when", "words"]

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "submit": "Send",
        "optional": "optional",
        "yes": "Yes",
        "no": "No",
        "missing_one": "1 answer is missing.",
        "missing_many": "{n} answers are missing.",
        "check_one": "1 answer needs checking.",
        "check_many": "{n} answers need checking.",
        "confidential": "Your answers are confidential. [Brand] sees results only for groups of at "
        "least {min_group} people, never your answers on their own.",
        "not_found_title": "Link not found",
        "not_found": "This survey link is not valid. Please check that you copied the whole link.",
        "expired_title": "This survey has closed",
        "expired": "This survey link has expired, so it no longer takes answers. Thank you all the same.",
        "not_open_title": "Not open yet",
        "not_open": "This survey is not open yet. Please come back when it opens.",
        "opens_on": "This survey opens on {when}. Please come back then.",
        "answered_title": "Already answered",
        "answered": "This survey has been answered already, so there is nothing more to do. Thank you!",
        "thanks_title": "Thank you",
        "unsaved": "We couldn't save this, please try again. Your answers are still here.",
        "once": "Please give one answer to this question.",
        "unavailable_title": "Back in a moment",
        "unavailable": "We can't reach our records right now. Please try again in a few seconds.",
        "busy_title": "Too many tries",
        "busy": "Too many links that do not exist were tried from your network. Please check your link "
        "and try again in {minutes} minutes.",
    },
    "es": {
        "submit": "Enviar",
        "optional": "opcional",
        "yes": "Sí",
        "no": "No",
        "missing_one": "Falta 1 respuesta.",
        "missing_many": "Faltan {n} respuestas.",
        "check_one": "Hay que revisar 1 respuesta.",
        "check_many": "Hay que revisar {n} respuestas.",
        "confidential": "Tus respuestas son confidenciales. [Brand] solo ve resultados de grupos de "
        "al menos {min_group} personas, nunca tus respuestas por separado.",
        "not_found_title": "Enlace no encontrado",
        "not_found": "Este enlace de encuesta no es válido. Revisa que hayas copiado el enlace completo.",
        "expired_title": "Esta encuesta está cerrada",
        "expired": "Este enlace de encuesta ha caducado y ya no admite respuestas. Gracias de todos modos.",
        "not_open_title": "Aún no está abierta",
        "not_open": "Esta encuesta aún no está abierta. Vuelve cuando se abra.",
        "opens_on": "Esta encuesta se abre el {when}. Vuelve entonces.",
        "answered_title": "Ya respondida",
        "answered": "Esta encuesta ya fue respondida, así que no hace falta nada más. ¡Gracias!",
        "thanks_title": "Gracias",
        "unsaved": "No pudimos guardar esto, inténtalo de nuevo. Tus respuestas siguen aquí.",
        "once": "Da una sola respuesta a esta pregunta.",
        "unavailable_title": "Volvemos enseguida",
        "unavailable": "Ahora mismo no podemos acceder a nuestros registros. Inténtalo de nuevo en unos segundos.",
        "busy_title": "Demasiados intentos",
        "busy": "Desde tu red se probaron demasiados enlaces que no existen. Revisa tu enlace y vuelve "
        "a intentarlo dentro de {minutes} minutos.",
    },
}

_CALENDAR = {
    "en": (
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        ("January", "February", "March", "April", "May", "June", "July", "August", "September",
         "October", "November", "December"),
        "{weekday} {day} {month} {year} at {time} (UTC)",
    ),
    "es": (
        ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
        ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
         "octubre", "noviembre", "diciembre"),
        "{weekday} {day} de {month} de {year} a las {time} (UTC)",
    ),
}


def when(instant: datetime, lang: str) -> str:
    """A moment as people write it in `lang` (English otherwise), in UTC.

    >>> from datetime import UTC, datetime
    >>> when(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), "es")
    'lunes 7 de diciembre de 2026 a las 09:00 (UTC)'
    """
    weekdays, months, pattern = _CALENDAR.get(lang, _CALENDAR["en"])
    utc = instant.astimezone(UTC)
    return pattern.format(weekday=weekdays[utc.weekday()], day=utc.day, month=months[utc.month - 1],
                          year=utc.year, time=utc.strftime("%H:%M"))


def words(lang: str) -> dict[str, str]:
    words = TEXT.get(lang, TEXT["en"])
    return {
        key: value.replace("[Brand]", settings.brand).replace("{min_group}", str(settings.min_group))
        for key, value in words.items()
    }
