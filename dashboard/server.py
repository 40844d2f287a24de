"""The dashboard's web server: Starlette around the Dash app, behind a login.

Starlette owns what Dash does not do well: the database lifespan, the signed
session cookie, the login and logout pages and a guard in front of
*everything* except those pages and `/healthz` — Dash's page, its
`_dash-layout`, `_dash-dependencies`, `_dash-update-component` and its assets
included. Dash is mounted under `/dashboard/` through a2wsgi.

The cookie names a session kept in the database (models.sessions), so
signing out, `rapport user disable` and `rapport user delete` end it on every
copy of the cookie. Wrong passwords count against the name and the address
(models.ratelimit): past the limit the login answers 429 until the oldest
failure leaves the window. Every response carries the security headers, and
the guard writes each view and each figure a user loads to the audit log.

Run it with `rapport-dashboard [--host 127.0.0.1] [--port 8050]`.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import html
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from a2wsgi import WSGIMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.contrib.starlette import RegisterTortoise

from dashboard.app import PREFIX, create_dash_app
from dashboard.data import RUNNER_KEY, LoopRunner
from dashboard.settings import settings as dashboard_settings
from models.audit import AuditLog
from models.db import health, migrate, tortoise_config
from models.keys import authenticate_user
from models.ratelimit import RateLimits, client_address
from models.sessions import SESSION_LIFETIME, end_session, session_user, start_session
from models.settings import SettingsError, normalise_database_url, settings

__all__ = [
    "LOGIN_PAGE",
    "PAGE_CONTENT",
    "PUBLIC_PATHS",
    "SESSION_COOKIE",
    "STATIC_PATHS",
    "UPDATE_PATH",
    "AuthGuard",
    "SecurityHeaders",
    "create_app",
    "healthz",
    "home",
    "login",
    "logout",
    "main",
    "security_headers",
]

log = logging.getLogger("rapport.audit")

PUBLIC_PATHS = frozenset({"/login", "/logout", "/healthz", "/favicon.ico"})
SESSION_COOKIE = "rapport_dashboard"
UPDATE_PATH = PREFIX + "_dash-update-component"
STATIC_PATHS = (PREFIX + "assets/", PREFIX + "_dash-component-suites/", PREFIX + "_favicon")
PAGE_CONTENT = "_pages_content"  # Dash pages' container: a callback filling it is a view being loaded


def security_headers(script_hashes: Sequence[str]) -> dict[str, str]:
    """The survey pages' headers, with the CSP Dash 4 needs: its own scripts plus the
    hashes of its two inline ones (no 'unsafe-inline' for scripts), inline styles
    (Plotly and the date picker set them), data: images (Plotly's icons)."""
    csp = "; ".join((
        "default-src 'self'",
        "script-src 'self' " + " ".join(script_hashes),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ))
    return {
        "Content-Security-Policy": csp,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


class SecurityHeaders:
    """Adds the security headers to every response, Dash's and the login's alike.

    Dash registers the inline script of its pages' titles at its first request,
    so the headers are made per response (two hashes of short strings), never frozen early.
    Responses that are not static files and say nothing of caching get
    `Cache-Control: no-store`, as the survey pages do: figures stay out of shared caches.
    """

    def __init__(self, app: ASGIApp, headers: Callable[[], dict[str, str]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.lower().encode(), v.encode()) for k, v in self.headers().items()]
                if not scope["path"].startswith(STATIC_PATHS):
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, with_headers)


class AuthGuard:
    """No live session, no data: pages redirect to the login, anything else gets 401.

    A session is live while its row exists (models.sessions); a cookie whose
    session was ended is emptied on the spot. Behind the guard, each view and
    each figure a user loads is written to the audit log.
    """

    def __init__(self, app: ASGIApp, audit: AuditLog) -> None:
        self.app = app
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        session = scope.get("session", {})
        user = await session_user(session_id=str(session.get("sid", ""))) if session.get("sid") else None
        if user is not None and user == session.get("user"):
            if scope["path"] == UPDATE_PATH and scope["method"] == "POST":
                receive = await self._audit_callback(scope, receive, user)
            await self.app(scope, receive, send)
            return
        session.clear()
        request = Request(scope)
        response: Response
        wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if wants_page:
            target = scope["path"] + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        else:
            response = JSONResponse({"error": "sign in first"}, status_code=401)
        await response(scope, receive, send)

    async def _audit_callback(self, scope: Scope, receive: Receive, user: str) -> Receive:
        """Write the view or figure this callback loads to the audit log; returns a
        `receive` that replays the body read for it."""
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        body = b"".join(chunks)
        entry = _callback_entry(body)
        if entry is not None:
            action, params = entry
            try:
                await self.audit.record(actor_kind="user", actor=user, action=action, params=params, status=None,
                                        client=client_address(scope.get("client")))
            except Exception as exc:  # never refuse a view because its audit entry failed; say so
                log.warning("audit entry not written (%s) for %s", type(exc).__name__, action)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay


def _callback_entry(body: bytes) -> tuple[str, dict[str, Any]] | None:
    """(action, params) for a callback that loads a view or reads figures, else None.

    A view is the page Dash's router fills `_pages_content` for; figures are
    callbacks fed by a page's `*-query` store (the filters of the URL). The
    shell's own callbacks (filter bar, navigation) are not data and not logged.
    """
    try:
        payload = json.loads(body)
        output = str(payload.get("output", ""))
        inputs = [i for i in payload.get("inputs", []) if isinstance(i, dict)]
    except (ValueError, AttributeError):
        return None
    values = {f"{i.get('id')}.{i.get('property')}": i.get("value") for i in inputs}
    if PAGE_CONTENT in output:
        path = values.get("_pages_location.pathname") or ""
        search = values.get("_pages_location.search") or ""
        return f"view {path}", dict(parse_qsl(str(search).lstrip("?")))
    queries = [v for k, v in values.items() if k.endswith("-query.data") and isinstance(v, dict)]
    if not queries:
        return None
    params = {k: v for k, v in queries[0].items() if isinstance(v, str | int | float | bool) or v is None}
    return f"figure {output.strip('.').split('...')[0]}", params


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


def _safe_next(raw: str | None) -> str:
    """Only same-site paths: '/dashboard/x?y', never '//evil' or 'https://evil'."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return PREFIX
    parts = urlsplit(raw)
    return raw if not parts.scheme and not parts.netloc else PREFIX


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · {brand} · Rapport</title>
<link rel="icon" href="data:,">
<style>
:root {{ --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --brand:#1f4e79; --bg:#f4f6f9; --bad:#b42318; }}
* {{ box-sizing:border-box; }}
body {{ margin:0; min-height:100vh; display:grid; place-items:center; background:var(--bg); color:var(--ink);
  font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }}
main {{ width:min(380px,92vw); background:#fff; border:1px solid var(--line); border-radius:12px; padding:32px;
  box-shadow:0 1px 3px rgba(16,24,40,.08); }}
h1 {{ font-size:1.25rem; margin:0 0 4px; }} p.sub {{ color:var(--muted); margin:0 0 24px; }}
label {{ display:block; font-weight:600; margin:16px 0 6px; font-size:.9rem; }}
input[type=text],input[type=password] {{ width:100%; padding:10px 12px; border:1px solid var(--line);
  border-radius:8px; font:inherit; }}
input:focus {{ outline:2px solid var(--brand); outline-offset:1px; }}
button {{ margin-top:24px; width:100%; padding:11px; border:0; border-radius:8px; background:var(--brand); color:#fff;
  font:inherit; font-weight:600; cursor:pointer; }}
.error {{ color:var(--bad); background:#fef3f2; border:1px solid #fecdca; padding:8px 12px; border-radius:8px;
  margin:0 0 8px; }}
.mark {{ display:inline-block; width:10px; height:10px; border-radius:50%; background:var(--brand); margin-right:8px; }}
</style></head>
<body><main>
<h1><span class="mark"></span>{brand} · Rapport</h1>
<p class="sub">Contractor connection and customer experience</p>
{error}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required autofocus value="{username}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
</main></body></html>
"""


def _login_page(
    request: Request, *, error: str = "", username: str = "", next_: str = "", status: int = 200
) -> Response:
    body = LOGIN_PAGE.format(
        brand=html.escape(settings.brand),
        error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
        csrf=html.escape(_csrf(request)),
        next=html.escape(next_ or PREFIX),
        username=html.escape(username),
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


async def login(request: Request) -> Response:
    if request.method == "GET":
        sid = str(request.session.get("sid", ""))
        if request.session.get("user") and await session_user(session_id=sid) == request.session["user"]:
            return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
        return _login_page(request, next_=_safe_next(request.query_params.get("next")))
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    next_ = _safe_next(str(form.get("next", "")))
    expected = request.session.get("csrf", "")
    if not expected or not hmac.compare_digest(str(form.get("csrf", "")), str(expected)):
        return _login_page(request, error="The form expired. Please sign in again.", username=username,
                           next_=next_, status=400)
    limits: RateLimits = request.app.state.rate_limits
    address = client_address(request.scope.get("client"))
    name_key = username.strip().casefold()[:100]
    wait = (await limits.retry_after("login", name_key, address)
            or await limits.retry_after("login-address", address))
    if wait is not None:
        return _locked_out(request, wait, username=username, next_=next_)
    user = await authenticate_user(username=username, password=password)
    if user is None:
        wait = max(await limits.failed("login", name_key, address) or 0,
                   await limits.failed("login-address", address) or 0)
        if wait:
            return _locked_out(request, wait, username=username, next_=next_)
        return _login_page(request, error="Wrong username or password.", username=username, next_=next_,
                           status=401)
    await limits.clear("login", name_key, address)
    session_id = await start_session(user=user)
    request.session.clear()  # a fresh session on sign-in: no fixation
    request.session.update({"user": user.username, "sid": session_id, "csrf": secrets.token_urlsafe(24)})
    return RedirectResponse(next_, status_code=303)


def _locked_out(request: Request, wait: int, *, username: str, next_: str) -> Response:
    minutes = max(1, -(-wait // 60))
    response = _login_page(request, error=f"Too many wrong passwords. Please try again in {minutes} "
                           f"minute{'s' if minutes > 1 else ''}.", username=username, next_=next_, status=429)
    response.headers["Retry-After"] = str(wait)
    return response


async def logout(request: Request) -> Response:
    if request.method == "POST":
        form = await request.form()
        expected = request.session.get("csrf", "")
        if expected and hmac.compare_digest(str(form.get("csrf", "")), str(expected)):
            await end_session(session_id=str(request.session.get("sid", "")))
            request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def healthz(request: Request) -> Response:
    """{"status": "ok"} or 503 {"status": "unavailable"}: why goes to the log only."""
    ok = await health()
    return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503,
                        headers={"Cache-Control": "no-store"})


async def home(request: Request) -> Response:
    return RedirectResponse(PREFIX, status_code=303)


def create_app(database_url: str | None = None, *, rate_limits: RateLimits | None = None) -> Starlette:
    """The dashboard app on `database_url` (default: settings.database_url); wrong passwords
    are counted in `rate_limits` (default: RAPPORT_RATE_LIMIT_STORAGE)."""
    dash_app = create_dash_app()
    config = tortoise_config(database_url)
    limits = rate_limits or RateLimits()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=config), limits:
            # The Dash callbacks' way into the ORM: this loop (see dashboard.data).
            dash_app.server.config[RUNNER_KEY] = LoopRunner(asyncio.get_running_loop())
            yield

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/login", login, methods=["GET", "POST"]),
            Route("/logout", logout, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Mount(PREFIX.rstrip("/"), app=WSGIMiddleware(dash_app.server)),  # type: ignore[arg-type]  # Flask is WSGI
        ],
        middleware=[
            Middleware(SecurityHeaders, headers=lambda: security_headers(dash_app.csp_hashes())),
            Middleware(
                SessionMiddleware,
                secret_key=dashboard_settings.secret,
                session_cookie=SESSION_COOKIE,
                max_age=int(SESSION_LIFETIME.total_seconds()),
                same_site="lax",
                https_only=settings.dashboard_https,  # the dashboard's own address, not the collector's
            ),
            Middleware(AuthGuard, audit=AuditLog()),
        ],
        lifespan=lifespan,
    )
    app.state.rate_limits = limits
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """`rapport-dashboard [--database-url URL] [--host 127.0.0.1] [--port 8050]`: migrate, then serve."""
    import uvicorn

    parser = argparse.ArgumentParser(
        prog="rapport-dashboard",
        description="Apply pending migrations, then serve the Rapport dashboard (sign in with a user "
                    "made by `rapport user create NAME`).",
    )
    parser.add_argument("--database-url", default=None,
                        help="sqlite://FILE or postgres://... (default: $DATABASE_URL, else sqlite://rapport.db)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on, 0.0.0.0 for every interface (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8050, help="port to listen on (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        url = normalise_database_url(args.database_url) if args.database_url else settings.database_url
    except SettingsError as exc:
        parser.error(str(exc))
    asyncio.run(migrate(url))
    uvicorn.run(create_app(url), host=args.host, port=args.port, proxy_headers=True)


if __name__ == "__main__":
    main()
