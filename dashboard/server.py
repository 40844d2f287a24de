"""The dashboard's web server: Starlette around the Dash app, behind a login.

Starlette owns what Dash does not do well: the database lifespan, the signed
session cookie, the login and logout pages and a guard in front of
*everything* except those pages and `/healthz` — Dash's page, its
`_dash-layout`, `_dash-dependencies`, `_dash-update-component` and its assets
included. Dash is mounted under `/dashboard/` through a2wsgi.

Run it with `rapport-dashboard [--host 127.0.0.1] [--port 8050]`.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import html
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from urllib.parse import quote, urlsplit

from a2wsgi import WSGIMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise.contrib.starlette import RegisterTortoise

from dashboard.app import PREFIX, create_dash_app
from dashboard.data import RUNNER_KEY, LoopRunner
from models.db import health, migrate, tortoise_config
from models.keys import authenticate_user
from models.settings import SettingsError, normalise_database_url, settings

__all__ = ["AuthGuard", "create_app", "main"]

PUBLIC_PATHS = frozenset({"/login", "/logout", "/healthz", "/favicon.ico"})
SESSION_COOKIE = "rapport_dashboard"
SESSION_MAX_AGE = 12 * 3600  # a working day; then sign in again


class AuthGuard:
    """No session user, no data: pages redirect to the login, anything else gets 401."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        if scope.get("session", {}).get("user"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        response: Response
        wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if wants_page:
            target = scope["path"] + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        else:
            response = JSONResponse({"error": "sign in first"}, status_code=401)
        await response(scope, receive, send)


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
input[type=text],input[type=password] {{ width:100%; padding:10px 12px; border:1px solid var(--line); border-radius:8px; font:inherit; }}
input:focus {{ outline:2px solid var(--brand); outline-offset:1px; }}
button {{ margin-top:24px; width:100%; padding:11px; border:0; border-radius:8px; background:var(--brand); color:#fff;
  font:inherit; font-weight:600; cursor:pointer; }}
.error {{ color:var(--bad); background:#fef3f2; border:1px solid #fecdca; padding:8px 12px; border-radius:8px; margin:0 0 8px; }}
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


def _login_page(request: Request, *, error: str = "", username: str = "", next_: str = "", status: int = 200) -> Response:
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
        if request.session.get("user"):
            return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
        return _login_page(request, next_=_safe_next(request.query_params.get("next")))
    form = await request.form()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    next_ = _safe_next(str(form.get("next", "")))
    expected = request.session.get("csrf", "")
    if not expected or not hmac.compare_digest(str(form.get("csrf", "")), str(expected)):
        return _login_page(request, error="The form expired. Please sign in again.", username=username,
                           next_=next_, status=400)
    user = await authenticate_user(username=username, password=password)
    if user is None:
        return _login_page(request, error="Wrong username or password.", username=username, next_=next_,
                           status=401)
    request.session.clear()  # a fresh session on sign-in: no fixation
    request.session.update({"user": user.username, "csrf": secrets.token_urlsafe(24)})
    return RedirectResponse(next_, status_code=303)


async def logout(request: Request) -> Response:
    if request.method == "POST":
        form = await request.form()
        expected = request.session.get("csrf", "")
        if expected and hmac.compare_digest(str(form.get("csrf", "")), str(expected)):
            request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def healthz(request: Request) -> Response:
    """{"status": "ok"} or 503 {"status": "unavailable"}: why goes to the log only."""
    ok = await health()
    return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503,
                        headers={"Cache-Control": "no-store"})


async def home(request: Request) -> Response:
    return RedirectResponse(PREFIX, status_code=303)


def create_app(database_url: str | None = None) -> Starlette:
    """The dashboard app on `database_url` (default: settings.database_url)."""
    dash_app = create_dash_app()
    config = tortoise_config(database_url)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=config):
            # The Dash callbacks' way into the ORM: this loop (see dashboard.data).
            dash_app.server.config[RUNNER_KEY] = LoopRunner(asyncio.get_running_loop())
            yield

    return Starlette(
        routes=[
            Route("/", home),
            Route("/login", login, methods=["GET", "POST"]),
            Route("/logout", logout, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Mount(PREFIX.rstrip("/"), app=WSGIMiddleware(dash_app.server)),  # type: ignore[arg-type]
        ],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE,
                same_site="lax",
                https_only=settings.base_url.startswith("https://"),
            ),
            Middleware(AuthGuard),
        ],
        lifespan=lifespan,
    )


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
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on, 0.0.0.0 for every interface (default: %(default)s)")
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
