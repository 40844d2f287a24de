"""The `rapport` command, run in-process against each backend."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn

from collector.cli import main
from models.entities import User
from models.keys import authenticate_user, find_api_key
from tests.conftest import open_database


def _query(url: str, work: Any) -> Any:
    async def run() -> Any:
        await open_database(url)
        try:
            return await work()
        finally:
            from tortoise import Tortoise

            await Tortoise.close_connections()

    return asyncio.run(run())


def _rapport(url: str, *args: str) -> int:
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    EXECUTOR_CACHE.clear()  # this process switches backends between tests
    return main(["--database-url", url, *args])


def test_apikey_create_prints_the_key_last_and_revoke_disables_it(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _rapport(db_url, "apikey", "create", "crm") == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("rpk_")
    assert _query(db_url, lambda: find_api_key(key=key)) is not None
    assert _rapport(db_url, "apikey", "revoke", "crm") == 0
    assert _query(db_url, lambda: find_api_key(key=key)) is None


def test_errors_are_one_line_on_stderr_with_status_2(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _rapport(db_url, "apikey", "revoke", "nobody") == 2
    err = capsys.readouterr().err
    assert err.startswith("rapport: error:") and "nobody" in err and "Traceback" not in err
    assert _rapport(db_url, "apikey", "create", "crm") == 0
    assert _rapport(db_url, "apikey", "create", "crm") == 2
    assert "revoke it first" in capsys.readouterr().err


def test_bad_database_url_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--database-url", "mysql://db", "migrate"]) == 2
    assert "sqlite:// or postgres://" in capsys.readouterr().err


def test_user_create_takes_the_password_from_option_or_environment(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _rapport(db_url, "user", "create", "ann", "--password", "correct horse") == 0
    assert _query(db_url, lambda: authenticate_user(username="ann", password="correct horse")) is not None
    monkeypatch.setenv("RAPPORT_PASSWORD", "battery staple")
    assert _rapport(db_url, "user", "create", "ann") == 0
    assert _query(db_url, lambda: authenticate_user(username="ann", password="battery staple")) is not None
    assert _query(db_url, lambda: User.all().count()) == 1


def test_user_create_asks_twice_and_refuses_a_mismatch(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RAPPORT_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["first password", "other password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert _rapport(db_url, "user", "create", "bob") == 2
    assert "differ" in capsys.readouterr().err
    answers = iter(["same password", "same password"])
    assert _rapport(db_url, "user", "create", "bob") == 0


def test_short_password_is_refused(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _rapport(db_url, "user", "create", "ann", "--password", "short") == 2
    assert "8 characters" in capsys.readouterr().err


def test_migrate(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _rapport(db_url, "migrate") == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize(("workers", "factory"), [("1", False), ("3", True)])
def test_serve_migrates_then_runs_uvicorn_without_access_log(
    monkeypatch: pytest.MonkeyPatch, workers: str, factory: bool
) -> None:
    calls: list[Any] = []

    async def fake_migrate(url: str | None = None) -> None:
        calls.append(("migrate", url))

    monkeypatch.setattr("models.db.migrate", fake_migrate)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(("run", app, kw)))
    monkeypatch.setenv("DATABASE_URL", "unused")  # the command sets it for its workers
    assert main(["--database-url", "sqlite://x.db", "serve", "--port", "9001", "--workers", workers]) == 0
    assert calls[0][0] == "migrate" and calls[0][1].startswith("sqlite://x.db?")
    _, app, options = calls[1]
    assert options["port"] == 9001 and options["host"] == "127.0.0.1" and options["access_log"] is False
    if factory:
        assert app == "collector.app:create_app" and options["factory"] and options["workers"] == 3
    else:
        assert callable(app)


def test_unknown_command_exits_2() -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["frobnicate"])
    assert exit_.value.code == 2


def test_import_reads_the_file_and_reports_errors(
    db_url: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from models.entities import Contractor

    good = tmp_path / "contractors.csv"
    good.write_text("external_id,name,region,service_type,started_on\nc1,Ann,North,plumbing,2024-01-02\n")
    assert _rapport(db_url, "import", "contractors", str(good)) == 0
    assert _query(db_url, lambda: Contractor.all().count()) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("external_id,nom\nc1,Ann\n")
    assert _rapport(db_url, "import", "contractors", str(bad)) == 2
    assert "line 1" in capsys.readouterr().err
    assert _rapport(db_url, "import", "contractors", str(tmp_path / "missing.csv")) == 2
    assert "cannot read" in capsys.readouterr().err


def test_demo_prints_links_login_and_key_then_keeps_data_on_rerun(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from models.entities import Contractor

    assert _rapport(db_url, "demo", "--contractors", "20") == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert any(line.startswith("Customer survey to try: http://") and "/s/" in line for line in out)
    assert any(line.startswith("Contractor pulse to try: http://") and "/p/" in line for line in out)
    assert _query(db_url, lambda: find_api_key(key=out[-1])) is not None
    password = next(line for line in out if line.startswith("Dashboard:")).split("password ")[1].strip("'")
    assert _query(db_url, lambda: authenticate_user(username="demo", password=password)) is not None
    before = _query(db_url, lambda: Contractor.all().count())

    # the README's run command: a filled database stays as it is, with a fresh demo login
    assert _rapport(db_url, "demo", "--if-empty") == 0
    again = capsys.readouterr().out
    assert "kept as it is" in again
    new_password = again.split("password ")[1].split("'")[1]
    assert _query(db_url, lambda: authenticate_user(username="demo", password=new_password)) is not None
    assert _query(db_url, lambda: Contractor.all().count()) == before

    # without --if-empty the demo refuses to add to data
    assert _rapport(db_url, "demo") == 2
    assert "already holds data" in capsys.readouterr().err


def test_user_list_disable_enable_delete(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _rapport(db_url, "user", "create", "ann", "--password", "correct horse") == 0
    capsys.readouterr()
    assert _rapport(db_url, "user", "list") == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split() == ["name", "created", "last", "sign-in", "state", "sessions"]
    assert listing[1].startswith("ann ") and "never" in listing[1] and listing[1].split()[-2:] == ["active", "0"]
    assert _rapport(db_url, "user", "disable", "ann") == 0
    assert "disabled; 0 session(s) ended" in capsys.readouterr().out
    assert _query(db_url, lambda: authenticate_user(username="ann", password="correct horse")) is None
    assert _rapport(db_url, "user", "enable", "ann") == 0
    assert _query(db_url, lambda: authenticate_user(username="ann", password="correct horse")) is not None
    assert _rapport(db_url, "user", "delete", "ann") == 0
    assert _query(db_url, lambda: User.all().count()) == 0
    assert _rapport(db_url, "user", "delete", "ann") == 2
    assert "no user called 'ann'" in capsys.readouterr().err


def test_apikey_list_never_shows_a_key(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _rapport(db_url, "apikey", "create", "crm") == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert _rapport(db_url, "apikey", "create", "bi") == 0
    assert _rapport(db_url, "apikey", "revoke", "bi") == 0
    capsys.readouterr()
    assert _rapport(db_url, "apikey", "list") == 0
    out = capsys.readouterr().out
    assert key not in out and key[12:] not in out
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["name", "bi", "crm"]
    assert "revoked" in lines[1] and lines[2].endswith("active") and "never" in lines[2]


def test_audit_lists_entries_since_and_by_actor(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from models.audit import AuditLog

    async def write() -> None:
        log = AuditLog()
        await log.record(actor_kind="api_key", actor="crm", action="GET /api/v1/export/customer-responses.csv",
                         params={"from": "2026-01-01"}, status=200, client="10.0.0.7")
        await log.record(actor_kind="user", actor="ann", action="view /dashboard/linkage", params={},
                         status=None, client="10.0.0.8")

    _query(db_url, write)
    assert _rapport(db_url, "audit", "--since", "1h") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "api_key:crm  10.0.0.7  GET /api/v1/export/customer-responses.csv -> 200  from=2026-01-01" in lines[0]
    assert lines[1].endswith("user:ann  10.0.0.8  view /dashboard/linkage")
    assert _rapport(db_url, "audit", "--actor", "ann") == 0
    assert capsys.readouterr().out.count("\n") == 1
    assert _rapport(db_url, "audit", "--since", "2999-01-01") == 0
    assert capsys.readouterr().out == ""
    assert _rapport(db_url, "audit", "--since", "last week") == 2
    assert "--since must be like" in capsys.readouterr().err
