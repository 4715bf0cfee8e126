"""The faults themselves, done for real: a second process locking the database, a file system
that fills up.

(Killing the gateway and restarting the broker need nothing beyond
:class:`simulators.process` and :class:`simulators.broker.Mosquitto`.)
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import subprocess
import sys
import time
from pathlib import Path

# Another program holding the SQLite file's write lock, as a backup tool or a stuck sqlite3
# shell would: BEGIN EXCLUSIVE, hold, roll back.
_LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.rollback()
conn.close()
"""


async def hold_database_lock(db: Path, seconds: float) -> float:
    """Hold an exclusive lock on the SQLite file ``db`` from another process for ``seconds``.

    Returns how long the lock was held (from the moment it was taken).
    """
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _LOCKER, str(db), str(seconds), stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 70)
    if line.strip() != b"locked":
        await proc.wait()
        raise RuntimeError(f"the locking process did not take the lock: {line!r}")
    taken = time.monotonic()
    if await proc.wait() != 0:
        raise RuntimeError(f"the locking process failed ({proc.returncode})")
    return time.monotonic() - taken


class SmallDisk:
    """A small tmpfs mounted on a directory: the gateway's data dir, to be filled up."""

    def __init__(self, path: Path, size: str = "20m") -> None:
        self.path = path
        self.size = size
        self.mounted = False
        self.filler = path / "filler.bin"

    def mount(self) -> str | None:
        """Mount it; returns None, or why this machine does not allow it."""
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs", str(self.path)],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"mount failed: {exc}"
        if done.returncode != 0:
            return f"mount failed: {(done.stderr or done.stdout).strip() or done.returncode}"
        self.mounted = True
        return None

    def fill(self) -> int:
        """Write a file until the file system is full; returns the bytes written."""
        written = 0
        chunk = b"\0" * (1 << 20)
        with self.filler.open("wb", buffering=0) as f:
            for size in (1 << 20, 4096, 512):
                chunk = chunk[:size]
                while True:
                    try:
                        written += f.write(chunk)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
        return written

    def free_bytes(self) -> int:
        """Bytes left for an ordinary user of the file system."""
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def release(self) -> None:
        """Remove the filler: the space is back."""
        with contextlib.suppress(FileNotFoundError):
            self.filler.unlink()

    def unmount(self) -> None:
        """Unmount (lazily, should something still hold a file open)."""
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, check=False)
            self.mounted = False
