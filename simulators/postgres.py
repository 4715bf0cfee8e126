"""A PostgreSQL server of our own on a free loopback port, to restart at will.

The fault suite restarts PostgreSQL under load; the machine's shared server must not be the one
restarted. This one lives in a temp dir (its data directory, socket and log), trust auth on
loopback, and is stopped and removed on exit. PostgreSQL refuses to run as root: started by root,
it runs as the ``postgres`` user (``runuser``) in a directory that user owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from simulators.broker import free_port, wait_port


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    return Path(dirs[-1]) if dirs else None


def postgres_available() -> str | None:
    """None when a server of our own can be started here, else why not."""
    if _bindir() is None:
        return "PostgreSQL's server programs (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server as"
    return None


class PostgresServer:
    """``initdb`` + ``pg_ctl`` in a temp dir; :meth:`restart` stops it cleanly and starts it."""

    def __init__(self, port: int | None = None) -> None:
        bindir = _bindir()
        if bindir is None:
            raise FileNotFoundError("PostgreSQL's server programs are not installed")
        self.bin = bindir
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="isogate-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres"
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL (asyncpg) of ``database``."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """The libpq URL of ``database`` (for asyncpg itself)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._user is not None:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=timeout, cwd=self.root)

    def init(self) -> None:
        """Create the cluster: trust auth, superuser ``postgres``."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "start")
        wait_port(self.port, 30)

    def stop(self, mode: str = "fast") -> None:
        """Stop it (``fast``: roll back open transactions, close sessions, clean shutdown)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop it cleanly and start it again (the sessions of every client are cut)."""
        self.stop()
        self.start()

    def __enter__(self) -> PostgresServer:
        try:
            self.init()
            self.start()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
