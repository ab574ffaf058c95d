"""Where a data service's ticks come from: the hub's tape (its journal) or its stream.

* ``TapeInput`` (``--input=tape``, the default when the hub has a journal): reads the day's
  journal file at the runner's cadence (``services.tape``). The hub's process does no work
  per tick for the service; its records are one journal write batch (plus one cadence) late.
* ``HubInput`` (``--input=hub``, and the fallback without a journal): a ``HubClient`` on the
  hub's PUB, snapshot then live; the hub sends every tick to it.

Both give the runner batches of decoded payloads and say whether they are connected and how
many ticks never reached the service (``missed``). No Django import.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from aggregation.client import HubClient
from services.tape import TapeFollower

AUTO = "auto"
TAPE = "tape"
HUB = "hub"
INPUTS = (AUTO, TAPE, HUB)


class TickInput(Protocol):
    name: str
    # Whether a tick's own ``recv_ns`` is its clock (the tape: read later than it came).
    tape: bool

    def take(self, wait: float, limit: int) -> list[dict[str, Any]]:
        """The ticks there are now (at most about ``limit``), waiting up to ``wait`` s for one."""

    @property
    def connected(self) -> bool: ...

    @property
    def missed(self) -> int: ...

    @property
    def replaying(self) -> bool:
        """Whether these ticks are from the past (a catch-up): the runner then runs the
        service's clock by the ticks' own times, not the wall clock."""

    def status(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class HubInput:
    name = HUB
    tape = False
    replaying = False

    def __init__(self, client: HubClient[dict[str, Any]]) -> None:
        self.client = client

    def take(self, wait: float, limit: int) -> list[dict[str, Any]]:
        first = self.client.recv(wait)
        if first is None:
            return []
        batch = [first]
        recv = self.client.recv
        while len(batch) < limit:
            tick = recv(0)
            if tick is None:
                break
            batch.append(tick)
        return batch

    @property
    def connected(self) -> bool:
        return bool(self.client.connected_hubs)

    @property
    def missed(self) -> int:
        return self.client.gaps

    def status(self) -> dict[str, Any]:
        return {"input": HUB}

    def close(self) -> None:
        self.client.close()


class TapeInput:
    name = TAPE
    tape = True

    def __init__(self, follower: TapeFollower, poll: float) -> None:
        self.follower = follower
        # How long to sleep when the file has nothing new: the runner's cadence (a wake per
        # cadence is what keeps a service off the cores the hub needs), 2 ms at cadence 0.
        self.poll = poll if poll > 0 else 0.002

    def take(self, wait: float, limit: int) -> list[dict[str, Any]]:
        ticks = self.follower.read()
        if not ticks and wait > 0:
            time.sleep(min(wait, self.poll))
        return ticks

    @property
    def connected(self) -> bool:
        return self.follower.connected

    @property
    def missed(self) -> int:
        return self.follower.stats.missed

    @property
    def replaying(self) -> bool:
        return self.follower.behind

    def status(self) -> dict[str, Any]:
        f = self.follower
        s = f.stats
        return {
            "input": TAPE,
            "tape": {
                "file": f.path.name if f.path else "",
                "offset": f.offset,
                "skipped": s.skipped,
                "holes": s.holes,
                "epochs": s.epochs,
                "bad": s.bad,
                "files": s.files,
                "torn_left": s.torn_left,
                "resyncs": s.resyncs,
                "corrupt_skipped_bytes": s.corrupt_skipped_bytes,
                "rewound": s.rewound,
            },
        }

    def close(self) -> None:
        self.follower.close()


def choose_input(asked: str, journal_dir: str) -> str:
    """``tape`` or ``hub`` for the ``--input`` asked: ``auto`` reads the tape when the hub
    has a journal (``journal_dir`` given), else the hub's stream."""
    if asked not in INPUTS:
        raise ValueError(f"unknown service input {asked!r}: choose one of {', '.join(INPUTS)}")
    if asked == TAPE and not journal_dir:
        raise ValueError(
            "--input=tape needs the hub's journal directory (--journal-dir or MDHUB_JOURNAL_DIR); "
            "without a journal (MDHUB_JOURNAL=off) use --input=hub or auto"
        )
    if asked == AUTO:
        return TAPE if journal_dir else HUB
    return asked
