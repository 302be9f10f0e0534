"""A real PostgreSQL server for the tests: the machine's own binaries, a temporary cluster, a free loopback port.

`initdb` and `pg_ctl` run as the `postgres` user when the tests run as root (PostgreSQL refuses to run as
root), as the current user otherwise. Local connections (the superuser's, over a socket in the cluster's
folder) are trusted; TCP connections need a password (SCRAM), so credentials are really checked.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, *, settings: dict[str, str] | None = None) -> None:
        bindir = _bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install -y postgresql (.ci/run does)")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="openapiopenai-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.settings = {"listen_addresses": "127.0.0.1", "fsync": "off", "max_connections": "40",
                         "shared_buffers": "64MB", **(settings or {})}
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--no-sync",
                  "--auth-local=trust", "--auth-host=scram-sha-256")
        self.running = False

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self._as_user, str(self.bindir / tool), *args], capture_output=True, text=True,
                              timeout=120, check=check, cwd=self.root)

    def start(self) -> None:
        options = " ".join([f"-p {self.port}", f"-k {self.root}"] + [f"-c {k}={v}" for k, v in self.settings.items()])
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                  "-o", options, "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)
        self.running = False

    def psql(self, sql: str, *, db: str = "postgres") -> str:
        """Run SQL as the superuser over the local socket; returns the unaligned output."""
        out = self._run("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(self.root),
                        "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql)
        return out.stdout.strip()

    def create_user(self, user: str, password: str, db: str) -> None:
        self.psql(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")
        self.psql(f"CREATE DATABASE {db} OWNER {user}")

    def url(self, user: str, password: str | None, db: str, **query: str) -> str:
        auth = user if password is None else f"{user}:{password}"
        tail = "&".join(f"{k}={v}" for k, v in query.items())
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}" + (f"?{tail}" if tail else "")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
