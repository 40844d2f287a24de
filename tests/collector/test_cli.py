"""The `rapport` command, run in-process against each backend."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
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
        assert app == "collector.app:serve_app" and options["factory"] and options["workers"] == 3
    else:
        assert callable(app)


def test_unknown_command_exits_2() -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["frobnicate"])
    assert exit_.value.code == 2


def test_import_lists_every_error_of_every_kind_with_the_count(
    db_url: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    contractors = tmp_path / "contractors.csv"
    contractors.write_text("external_id,name,region,service_type,started_on\nC1,Ann,North,delivery,\n")
    assert _rapport(db_url, "import", "contractors", str(contractors)) == 0
    capsys.readouterr()
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "job_external_id,contractor_external_id,completed_at,submitted_at,csat,nps,ces,promise_kept\n"
        "J1,C1,2026-03-01T10:00:00Z,2026-03-01T12:00:00Z,4,9,6,yes\n"
        "J2,C1,2026-03-01T10:00:00Z,2026-03-01T12:00:00Z,9,9,6,yes\n"
        "J3,C1,2026-03-01T10:00:00Z,yesterday,4,9,6,yes\n"
        "J4,C404,2026-03-01T10:00:00Z,2026-03-01T12:00:00Z,4,11,6,yes\n"
    )
    assert _rapport(db_url, "import", "customer-responses", str(answers)) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"rapport: error: {answers}: 4 errors; nothing was imported",
        "  line 3, csat: Choose a number from 1 to 5.",
        "  line 4, submitted_at: not an ISO 8601 date or time (like 2026-03-01T14:30:00Z): 'yesterday'",
        "  line 5, nps: Choose a number from 0 to 10.",
        "  line 5, contractor_external_id: no contractor 'C404': import or create contractors first",
    ]
    many = tmp_path / "many.csv"
    many.write_text("external_id,name,region,service_type,started_on\n" + "x,,,,\n" * 70)
    assert _rapport(db_url, "import", "contractors", str(many)) == 2
    err = capsys.readouterr().err.splitlines()
    # each line: a missing name, and (but the first) an external id already on line 2
    assert err[0].endswith("139 errors; nothing was imported") and len(err) == 52
    assert err[-1] == "  ... and 89 more (the first 50 are listed)"


def test_import_help_shows_each_kinds_columns_and_an_example_from_their_one_definition(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from models.transfer import KINDS, import_columns

    with pytest.raises(SystemExit):
        main(["import", "--help"])
    text = capsys.readouterr().out
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for kind in KINDS:
        columns = import_columns(kind)
        header, example = columns.example_lines().splitlines()
        assert header.split(",") == [*columns.required, *columns.optional]
        assert f"    {header}\n    {example}\n" in text + "\n"
        assert f"{header}\n{example}\n" in readme, f"the README shows {kind}'s columns as --help does"


@pytest.mark.parametrize("command", ["serve", "demo", "run"])
def test_options_have_help_and_defaults(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for line in {"serve": ["--port PORT port to listen on (default: 8000)", "(default: 127.0.0.1)",
                           "(default: 1)"],
                 "demo": ["how many contractors to invent (default: 300)", "(default: 7)"],
                 "run": ["the collector's port (default: 8000)", "the dashboard's port (default: 8050)"]}[command]:
        assert line in text


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
    db_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.entities import Contractor

    monkeypatch.chdir(tmp_path)  # where the demo password is kept

    assert _rapport(db_url, "demo", "--contractors", "20") == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert any(line.startswith("Customer survey to try: http://") and "/s/" in line for line in out)
    assert any(line.startswith("Contractor pulse to try: http://") and "/p/" in line for line in out)
    assert _query(db_url, lambda: find_api_key(key=out[-1])) is not None
    password = next(line for line in out if line.startswith("Dashboard:")).split("password ")[1].split("'")[1]
    assert _query(db_url, lambda: authenticate_user(username="demo", password=password)) is not None
    before = _query(db_url, lambda: Contractor.all().count())

    # the README's run command: a filled database stays as it is, and so does the demo login
    assert _rapport(db_url, "demo", "--if-empty") == 0
    again = capsys.readouterr().out
    assert "kept as it is" in again
    assert f"password {password!r} (kept in .rapport-demo-password)" in again
    assert _query(db_url, lambda: authenticate_user(username="demo", password=password)) is not None
    assert (tmp_path / ".rapport-demo-password").read_text().strip() == password
    assert (tmp_path / ".rapport-demo-password").stat().st_mode & 0o077 == 0
    assert _query(db_url, lambda: Contractor.all().count()) == before
    # a password set by hand is left alone, and the command says so
    assert _rapport(db_url, "user", "create", "demo", "--password", "my own choice") == 0
    assert _rapport(db_url, "demo", "--if-empty") == 0
    assert "rapport user create demo" in capsys.readouterr().out
    assert _query(db_url, lambda: authenticate_user(username="demo", password="my own choice")) is not None

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


# --- `rapport run` and `make run`: both servers up, then stopped cleanly -------------------

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _filled_database(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A small demo on a SQLite file, made from `tmp_path` (where its password is kept)."""
    url = f"sqlite://{tmp_path}/run.sqlite3"
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAPPORT_")}
    env.update(DATABASE_URL=url, RAPPORT_SECRET="a test secret", PYTHONPATH=str(ROOT))
    made = subprocess.run([sys.executable, "-m", "collector.cli", "demo", "--contractors", "8"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    return url, env


def _run_then_stop(argv: list[str], cwd: Path, env: dict[str, str], stop: Any) -> tuple[int, str, str]:
    """Start `argv` in a session of its own, wait until both servers answer, `stop` it,
    and return (status, stdout, stderr) once it has ended and both ports are closed."""
    port, dash_port = _free_port(), _free_port()
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # a full pipe would stall it
    process = subprocess.Popen([part.format(port=port, dash_port=dash_port) for part in argv], cwd=cwd,
                               env=env, stdout=out, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 120  # two cores shared with the rest of the suite
        while not (_answers(port) and _answers(dash_port)):
            assert process.poll() is None, "stopped before serving"
            assert time.monotonic() < deadline, "the servers did not start within 120 s"
            time.sleep(0.2)
        stop(process)
        status = process.wait(60)
        assert not _answers(port) and not _answers(dash_port)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        out.close()
        err.close()
    return status, stdout, stderr


def test_run_serves_both_and_stops_both_quietly_on_sigterm(tmp_path: Path) -> None:
    _url, env = _filled_database(tmp_path)
    password = (tmp_path / ".rapport-demo-password").read_text().strip()
    status, out, err = _run_then_stop(
        [sys.executable, "-m", "collector.cli", "run", "--port", "{port}", "--dash-port", "{dash_port}"],
        tmp_path, env, lambda process: process.send_signal(signal.SIGTERM))
    assert status == 0, err
    assert "Traceback" not in err and "Error" not in err
    assert f"password {password!r}" in out  # the same login as when the demo was made


def test_make_run_stops_both_servers_on_ctrl_c_without_a_segmentation_fault(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("no make on this machine")
    if subprocess.run(["make", "-q", "-C", str(ROOT), "install"], capture_output=True, check=False).returncode:
        pytest.skip("the virtualenv is not the one `make install` made; run `make install` first")
    _, env = _filled_database(tmp_path)
    status, _, err = _run_then_stop(
        ["make", "--no-print-directory", "-C", str(ROOT), "run", "PORT={port}", "DASH_PORT={dash_port}"],
        tmp_path, env, lambda process: os.killpg(process.pid, signal.SIGINT))  # Ctrl-C: the whole group
    assert status in (0, -signal.SIGINT), err
    assert "Segmentation fault" not in err and "make: ***" not in err and "Traceback" not in err


def test_readme_keeps_two_commands_and_says_how_to_choose_the_ports() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Two commands"):readme.index("## A tour")]
    block = section.split("```sh\n")[1].split("```")[0]
    assert [line.split()[:2] for line in block.splitlines()] == [["make", "run"], ["make", "test"]]
    assert "make run PORT=8001 DASH_PORT=8051" in section and ".rapport-demo-password" in section
