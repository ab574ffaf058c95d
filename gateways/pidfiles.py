"""Pid files of the hub's children, one per child, in the run directory (issue 10).

The hub writes one when it starts a child and removes it when the child has ended. A pid
file left behind means a hub died without ending that child. The next hub, before it binds
its sockets, ends every such leftover whose ``/proc/<pid>/cmdline`` is still the command
line recorded in the file: a pid the kernel has since given to another process is never
killed. No Django import.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("mdhub.pidfiles")

SUFFIX = ".pid"


@dataclass(frozen=True)
class Leftover:
    name: str
    pid: int


def cmdline_of(pid: int) -> list[str] | None:
    """The argv of a live process; None when it is gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if not raw:
        return None  # a zombie (exited, not reaped) has an empty command line
    return raw.rstrip(b"\0").decode(errors="replace").split("\0")


def is_running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may linger until init reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the command name, which is in parentheses and may hold spaces.
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


class PidFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}{SUFFIX}"

    def write(self, name: str, pid: int, argv: list[str]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(name)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": pid, "argv": argv}))
        tmp.replace(path)  # never a half-written file for the next hub to misread

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(name).unlink()

    def leftovers(self) -> list[Leftover]:
        """Children of an earlier hub that still run (same pid, same command line).

        Files of ended processes, reused pids and unreadable files are removed on the way.
        """
        found = []
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            name = path.name.removesuffix(SUFFIX)
            try:
                record = json.loads(path.read_text())
                pid, argv = int(record["pid"]), list(record["argv"])
            except (OSError, ValueError, KeyError, TypeError):
                log.warning("unreadable pid file %s removed", path)
                self.remove(name)
                continue
            if is_running(pid) and cmdline_of(pid) == argv:
                found.append(Leftover(name, pid))
            else:
                self.remove(name)
        return found

    def end_leftovers(self, timeout: float = 3.0) -> list[Leftover]:
        """SIGKILL every leftover and wait (up to ``timeout``) until each has gone."""
        leftovers = self.leftovers()
        for leftover in leftovers:
            log.warning("%s: ending pid %d left over from an earlier hub", leftover.name, leftover.pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(leftover.pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while any(is_running(x.pid) for x in leftovers) and time.monotonic() < deadline:
            time.sleep(0.02)
        for leftover in leftovers:
            if is_running(leftover.pid):
                log.error("%s: pid %d did not end on SIGKILL", leftover.name, leftover.pid)
            else:
                self.remove(leftover.name)
        return leftovers
