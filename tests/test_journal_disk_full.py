"""A full disk: ticks keep flowing to clients, the journal marks the hole and an ERROR goes out.

The journal lives on a 1 MB tmpfs the test mounts (the sandbox runs as root); a filler
file takes most of it, so the hub fills the rest within a second. Freeing the filler lets
the writer go on: the hole record then says exactly which seqs are missing. Where no tmpfs
can be mounted, a file-size limit (RLIMIT_FSIZE) on the hub process fills "the disk"
instead and cannot be freed: then only the flow and the alert are checked.
"""

from __future__ import annotations

import resource
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregation.client import HubClient
from aggregation.journal import read_journal
from tests.test_journal_crash import HubProc
from tests.zmq_helpers import wait_for


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))


def test_a_full_disk_keeps_ticks_flowing_marks_the_hole_and_alerts(
    tmp_path: Path, small_disk: Path | None
) -> None:
    journal_dir = (small_disk or tmp_path) / "journal"
    hub = HubProc(journal_dir, tmp_path / "hub.log", rate=2000.0)
    filler = (small_disk / "filler") if small_disk else None
    if filler is not None:
        filler.write_bytes(b"\0" * 700_000)
        hub.start()
    else:
        hub.start(preexec_fn=limit_file_size)
    got: list[dict[str, Any]] = []
    try:
        with HubClient(hub.address, ["rb2601.SHFE"]) as client:
            wait_for(lambda: "cannot write" in hub.log(), timeout=15)
            assert "ERROR mdhub.journal" in hub.log()
            # The disk is full; clients still get every tick, live.
            before = client.delivered
            until = time.monotonic() + 1.0
            while time.monotonic() < until:
                if (tick := client.recv(0.1)) is not None:
                    got.append(tick)
            assert client.delivered - before > 300
            if filler is not None:
                filler.unlink()  # space again: the writer goes on by itself
                wait_for(lambda: "writing again" in hub.log(), timeout=10)
                time.sleep(0.5)
    finally:
        hub.stop()
    if filler is None:
        return
    (path,) = journal_dir.glob("*.mdj")
    ticks, holes, left = read_journal(path)
    assert left == 0
    assert holes, "the hole is on disk"
    # Per topic, every seq of the run is on disk or inside a hole, exactly once.
    for topic in {t for t, _, _, _ in ticks}:
        on_disk = [s for t, _, s, _ in ticks if t == topic]
        in_holes = [s for h in holes if h.topic == topic for s in range(h.from_seq, h.to_seq + 1)]
        assert sorted(on_disk + in_holes) == list(range(1, max(on_disk + in_holes) + 1))
