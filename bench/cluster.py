"""A private, throw-away PostgreSQL cluster: initdb into a temporary folder, on a free port.

For fault tests and the stress script, which stop and restart the server under
the collector. Never the shared server: this one lives in its own folder, runs
as the `postgres` user (initdb refuses root) and is removed on the way out.

    with PrivateCluster() as cluster:
        url = cluster.url           # postgres://postgres@127.0.0.1:PORT/postgres
        cluster.stop(); cluster.start(); cluster.restart()
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["PrivateCluster", "free_port", "postgres_bin"]


def postgres_bin() -> Path | None:
    """The newest installed server's bin folder (Debian's layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateCluster:
    """initdb, pg_ctl start/stop/restart, and removal of the folder on exit."""

    def __init__(self, *, max_connections: int = 100) -> None:
        binaries = postgres_bin()
        if binaries is None:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        self.bin = binaries
        self.port = free_port()
        self.max_connections = max_connections
        self.folder = Path(tempfile.mkdtemp(prefix="rapport-pg-"))
        self.data = self.folder / "data"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, cwd=self.folder)
        if done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()} {tail}")

    def _pg_ctl(self, action: str, *extra: str) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), action, "-D", str(self.data), "-w", "-t", "60", *extra)

    def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                          "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
        settings = {
            "port": self.port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.folder}'",
            "max_connections": self.max_connections,
            "fsync": "off",  # throw-away data: no need to survive a power cut
            "shared_buffers": "'32MB'",
        }
        with open(self.data / "postgresql.auto.conf", "a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        self._pg_ctl("start", "-l", str(self.folder / "server.log"))

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("stop", "-m", mode)

    def restart(self) -> None:
        self._pg_ctl("restart", "-m", "fast", "-l", str(self.folder / "server.log"))

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def __enter__(self) -> PrivateCluster:
        try:
            self.create()
            self.start()
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if self.running():
                self.stop("immediate")
        except RuntimeError:
            time.sleep(0.5)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
