"""``./dev run``'s process manager (devtools/supervise.py) with real child processes: a
crashed program comes back with growing backoff while the rest stays up, Ctrl-C ends them in
the stop order, and a supervisor killed by SIGKILL takes its children along."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from devtools.supervise import Program, Supervisor, describe_exit

ROOT = Path(__file__).resolve().parent.parent

# A program that writes its pid to <dir>/<name>.pids, and its name to <dir>/stopped when it
# gets SIGTERM (so the test sees the stop order), then exits.
CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    folder, name, life = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(os.path.join(folder, name + ".pids"), "a") as f:
        f.write(f"{os.getpid()}\\n")
    def stop(signum, frame):
        with open(os.path.join(folder, "stopped"), "a") as f:
            f.write(name + "\\n")
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    print(f"{name} says hello", flush=True)
    deadline = time.monotonic() + life
    while time.monotonic() < deadline:
        time.sleep(0.02)
    sys.exit(3)
    """
)


def child(folder: Path, name: str, life: float = 3600.0) -> Program:
    return Program(name, [sys.executable, "-c", CHILD, str(folder), name, str(life)])


def pids(folder: Path, name: str) -> list[int]:
    path = folder / f"{name}.pids"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1][:1] != "Z"


def wait_for(condition: object, timeout: float = 10.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_it_restarts_a_crashed_program_with_growing_backoff_and_keeps_the_others(tmp_path: Path) -> None:
    out = io.StringIO()
    supervisor = Supervisor(
        [child(tmp_path, "steady"), child(tmp_path, "flaky", life=0.3)],
        backoff_first=0.3,
        out=out,
    )
    assert supervisor.start_all()
    deadline = time.monotonic() + 4.5
    while time.monotonic() < deadline:
        supervisor.pump(0.05)
        supervisor.step()
    steady = pids(tmp_path, "steady")
    flaky = pids(tmp_path, "flaky")
    supervisor.stop_all()
    assert len(steady) == 1, "the steady program must not be touched"
    # Lives of 0.3 s with waits of 0.3, 0.6, 1.2, 2.4 s: 3 or 4 runs in 4.5 s, not 7 or more.
    assert 3 <= len(flaky) <= 4, out.getvalue()
    console = out.getvalue()
    assert "flaky ended (exit code 3); restarting in 0.3 s" in console
    assert "flaky ended (exit code 3); restarting in 0.6 s" in console  # the wait grew
    assert "   flaky | flaky says hello" in console  # each line behind its program's name


def test_ctrl_c_stops_the_programs_in_the_stop_order(tmp_path: Path) -> None:
    supervisor = Supervisor(
        [child(tmp_path, name) for name in ("redis", "web", "hub", "qcluster")],
        stop_order=["hub", "qcluster", "web", "redis"],
        out=io.StringIO(),
    )
    # From this thread: the children's parent-death signal follows the thread that started them.
    assert supervisor.start_all()
    wait_for(lambda: all(pids(tmp_path, n) for n in ("redis", "web", "hub", "qcluster")))
    supervisor.stop_all()
    assert (tmp_path / "stopped").read_text().split() == ["hub", "qcluster", "web", "redis"]
    assert not supervisor.running


def test_a_failed_one_shot_step_stops_the_run(tmp_path: Path) -> None:
    out = io.StringIO()
    supervisor = Supervisor(
        [
            child(tmp_path, "redis"),
            Program("migrate", [sys.executable, "-c", "raise SystemExit(2)"], oneshot=True),
            child(tmp_path, "web"),
        ],
        out=out,
    )
    assert not supervisor.start_all()
    assert "migrate failed (exit code 2)" in out.getvalue()
    assert not pids(tmp_path, "web"), "nothing after a failed step starts"
    supervisor.stop_all()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_children_do_not_outlive_the_supervisor(tmp_path: Path, sig: signal.Signals) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from tests.test_supervise import child
        from devtools.supervise import Supervisor
        from pathlib import Path
        folder = Path({str(tmp_path)!r})
        Supervisor([child(folder, "a"), child(folder, "b")]).run()
        """
    )
    quiet = subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=quiet, stderr=quiet)
    try:
        wait_for(lambda: pids(tmp_path, "a") and pids(tmp_path, "b"))
        children = pids(tmp_path, "a") + pids(tmp_path, "b")
        time.sleep(0.3)  # past the children's start-up, into their loops
        proc.send_signal(sig)
        proc.wait(timeout=15)
        wait_for(lambda: not any(alive(pid) for pid in children), timeout=2.0)
    finally:
        proc.kill()
        proc.wait()


def test_exit_descriptions_read_as_words() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(1) == "exit code 1"
