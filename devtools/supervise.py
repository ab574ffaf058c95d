"""A small process manager for ``./dev run``: start programs in order, restart the ones that
crash (with backoff, said on the console), stop them in a given order on Ctrl-C.

Why not bash's ``wait -n``: one crashed program used to end the whole run half-way (web and
Redis gone, django-q retrying a dead Redis ten times a second), and a Ctrl-C in the terminal
reached every process at once, so Redis died before the programs that use it. Here each child
has its own session (the terminal's Ctrl-C reaches only the supervisor, which then stops them
in order) and the kernel's parent-death signal (a supervisor killed by any signal takes its
children along). No Django import: this runs before and around Django.
"""

from __future__ import annotations

import contextlib
import functools
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

from gateways.parent_death import set_parent_death_signal

# A program that ran this long before it crashed starts again without waiting: its crash is
# news, not a crash loop.
STABLE_AFTER = 60.0


# In a child, before exec. SIGTERM, not SIGKILL: an orphaned hub still ends its own workers.
die_with_parent = functools.partial(set_parent_death_signal, signal.SIGTERM)


@dataclass
class Program:
    name: str
    argv: Sequence[str]
    env: dict[str, str] = field(default_factory=dict)
    # Called after the start; the next program starts once it returns True (or times out).
    ready: Callable[[], bool] | None = None
    ready_timeout: float = 10.0
    stop_timeout: float = 10.0  # SIGTERM, then SIGKILL after this many seconds
    # A step that runs to its end before the next program starts (migrate, seeding); if it
    # fails, the run stops.
    oneshot: bool = False


@dataclass
class Running:
    program: Program
    proc: subprocess.Popen[bytes]
    started: float
    restarts: int = 0


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Supervisor:
    """``start_order`` programs are started one after the other; ``stop_order`` names them in
    the order they are ended (programs not named there end last, in reverse start order)."""

    def __init__(
        self,
        programs: Sequence[Program],
        stop_order: Sequence[str] = (),
        backoff_first: float = 1.0,
        backoff_max: float = 30.0,
        out: IO[str] | None = None,
    ) -> None:
        self.programs = list(programs)
        names = [p.name for p in self.programs]
        self.stop_order = [n for n in stop_order if n in names]
        self.stop_order += [n for n in reversed(names) if n not in self.stop_order]
        self.backoff_first = backoff_first
        self.backoff_max = backoff_max
        self.out = out or sys.stderr
        self.running: dict[str, Running] = {}
        self.pending: dict[str, tuple[float, int]] = {}  # name → (start at, restarts so far)
        self.shutdown = False
        self.selector = selectors.DefaultSelector()

    def say(self, message: str) -> None:
        print(f"[dev] {message}", file=self.out, flush=True)

    # -- starting --------------------------------------------------------------------

    def _spawn(self, program: Program, restarts: int) -> Running:
        env = dict(os.environ)
        env.update(program.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        proc = subprocess.Popen(
            list(program.argv),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        self.selector.register(proc.stdout, selectors.EVENT_READ, program.name)
        running = Running(program, proc, time.monotonic(), restarts)
        self.running[program.name] = running
        return running

    def start_all(self) -> bool:
        """False when a one-shot step failed (the caller stops what did start)."""
        for program in self.programs:
            if self.shutdown:
                return True
            running = self._spawn(program, 0)
            if program.oneshot:
                while running.proc.poll() is None:
                    self.pump(0.1)
                self._forget(running)
                if running.proc.returncode != 0:
                    self.say(f"{program.name} failed ({describe_exit(running.proc.returncode)})")
                    return False
                continue
            if program.ready is None:
                continue
            deadline = time.monotonic() + program.ready_timeout
            while not program.ready() and time.monotonic() < deadline and not self.shutdown:
                self.pump(0.1)
                self.step()
            if program.ready():
                self.say(f"{program.name} is up")
            else:
                self.say(f"{program.name} is not ready after {program.ready_timeout:.0f} s; going on")
        return True

    # -- running ---------------------------------------------------------------------

    def pump(self, timeout: float) -> None:
        """Copy children's output to the console, each line behind its program's name."""
        for key, _ in self.selector.select(timeout):
            stream = key.fileobj
            assert hasattr(stream, "read")
            try:
                data = stream.read()
            except (BlockingIOError, ValueError):
                continue
            if not data:
                self.selector.unregister(stream)
                continue
            for line in data.decode(errors="replace").splitlines():
                print(f"{key.data:>8} | {line}", file=self.out, flush=True)

    def step(self) -> None:
        """Reap crashed programs, schedule their restart with backoff, start those due."""
        now = time.monotonic()
        for name, running in list(self.running.items()):
            code = running.proc.poll()
            if code is None:
                continue
            self._forget(running)
            restarts = 0 if now - running.started >= STABLE_AFTER else running.restarts + 1
            delay = 0.0 if restarts == 0 else min(self.backoff_max, self.backoff_first * 2 ** (restarts - 1))
            self.say(f"{name} ended ({describe_exit(code)}); restarting in {delay:.1f} s")
            self.pending[name] = (now + delay, restarts)
        for name, (due, restarts) in list(self.pending.items()):
            if now >= due:
                del self.pending[name]
                program = next(p for p in self.programs if p.name == name)
                running = self._spawn(program, restarts)
                self.say(f"{name} restarted (pid {running.proc.pid})")

    def _forget(self, running: Running) -> None:
        del self.running[running.program.name]
        stream = running.proc.stdout
        if stream is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(stream)
            with contextlib.suppress(OSError, ValueError):
                rest = stream.read()
                if rest:
                    for line in rest.decode(errors="replace").splitlines():
                        print(f"{running.program.name:>8} | {line}", file=self.out, flush=True)
            stream.close()

    def run(self) -> bool:
        """Until SIGINT/SIGTERM; False when a one-shot step failed."""

        def stop(signum: int, frame: object) -> None:
            if self.shutdown:
                # A second Ctrl-C: end everything now.
                for running in self.running.values():
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(running.proc.pid, signal.SIGKILL)
            self.shutdown = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        ok = self.start_all()
        while ok and not self.shutdown:
            self.pump(0.2)
            self.step()
        self.stop_all()
        return ok

    # -- stopping --------------------------------------------------------------------

    def stop_all(self) -> None:
        self.pending.clear()
        for name in self.stop_order:
            running = self.running.get(name)
            if running is None:
                continue
            self.say(f"stopping {name}")
            with contextlib.suppress(ProcessLookupError):
                running.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + running.program.stop_timeout
            while running.proc.poll() is None and time.monotonic() < deadline:
                self.pump(0.1)
            if running.proc.poll() is None:
                grace = running.program.stop_timeout
                self.say(f"{name} did not end on SIGTERM within {grace:.0f} s: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(running.proc.pid, signal.SIGKILL)
                running.proc.wait()
            self._forget(running)
        self.say("all stopped")
