"""Where each source's speed comes from: the hub's per exchange/product/session aggregates,
fed by a real TickHub on ipc sockets (pumped on the test's thread, so the order of copies
is the test's)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import zmq

from aggregation.hub import TickHub
from aggregation.source_speed import (
    DAY,
    EXCHANGE_TZ,
    HIST_SLOTS,
    NIGHT,
    SourceSpeed,
    dense,
    quantile_ms,
    session_at,
    sparse,
)
from aggregation.wire import tick_frame
from tests.zmq_helpers import tick_frames

DAY_WALL = datetime(2026, 3, 2, 10, 0, tzinfo=EXCHANGE_TZ).timestamp()
NIGHT_WALL = datetime(2026, 3, 2, 21, 30, tzinfo=EXCHANGE_TZ).timestamp()


class Clock:
    def __init__(self, wall: float) -> None:
        self.wall = wall

    def __call__(self) -> float:
        return self.wall


class PumpedHub:
    """A real TickHub whose ``pump`` runs when the test says, and real PUSH sockets."""

    def __init__(self, tmp_path: Path, clock: Clock) -> None:
        self.ctx: zmq.Context[Any] = zmq.Context()
        self.hub = TickHub(
            f"ipc://{tmp_path}/ingest.ipc",
            f"ipc://{tmp_path}/pub.ipc",
            f"ipc://{tmp_path}/snap.ipc",
            f"ipc://{tmp_path}/control.ipc",
            ctx=self.ctx,
        )
        self.hub.speed = SourceSpeed(clock=clock)
        self.pushes: dict[bytes, zmq.Socket[Any]] = {}

    def send(self, account: bytes, frames: tuple[bytes, bytes, bytes]) -> None:
        push = self.pushes.get(account)
        if push is None:
            push = self.pushes[account] = self.ctx.socket(zmq.PUSH)
            push.setsockopt(zmq.LINGER, 0)
            push.connect(self.hub.ingest.getsockopt_string(zmq.LAST_ENDPOINT))
        push.send(tick_frame(account, *frames))
        # Handle it now: the copies' order, and how late each one is, are the test's.
        deadline = time.monotonic() + 5
        while not self.hub.poll(50):
            assert time.monotonic() < deadline, "the copy never reached the hub"

    def close(self) -> None:
        for push in self.pushes.values():
            push.close()
        self.hub.close()
        self.ctx.destroy(linger=0)


@pytest.fixture
def clock() -> Clock:
    return Clock(DAY_WALL)


@pytest.fixture
def hub(tmp_path: Path, clock: Clock) -> Iterator[PumpedHub]:
    running = PumpedHub(tmp_path, clock)
    yield running
    running.close()


def rows_by(speed: SourceSpeed) -> dict[tuple[str, str, str, str], Any]:
    return {(r.source, r.exchange, r.product, r.session): r for r in speed.rows()}


def test_it_finds_which_source_is_fastest_for_which_product(hub: PumpedHub) -> None:
    # sim-a wins every rb snapshot and sim-b every IF snapshot; the loser comes ~4 ms later.
    for i in range(6):
        rb = tick_frames("rb2601.SHFE", 1_000 + i, float(i))
        index = tick_frames("IF2603.CFFEX", 1_000 + i, float(i), price=4000.0)
        hub.send(b"sim-a", rb)
        hub.send(b"sim-b", index)
        time.sleep(0.004)
        hub.send(b"sim-b", rb)
        hub.send(b"sim-a", index)
    rows = rows_by(hub.hub.speed)
    assert set(rows) == {
        ("sim-a", "SHFE", "rb", DAY),
        ("sim-b", "SHFE", "rb", DAY),
        ("sim-a", "CFFEX", "IF", DAY),
        ("sim-b", "CFFEX", "IF", DAY),
    }
    fast_rb, slow_rb = rows[("sim-a", "SHFE", "rb", DAY)], rows[("sim-b", "SHFE", "rb", DAY)]
    assert (fast_rb.first, fast_rb.late, fast_rb.first_share) == (6, 0, 1.0)
    assert (slow_rb.first, slow_rb.late, slow_rb.first_share, slow_rb.copies) == (0, 6, 0.0, 6)
    assert fast_rb.late_p50_ms is None
    assert slow_rb.late_p50_ms is not None and 2.0 <= slow_rb.late_p50_ms <= 40.0
    assert slow_rb.late_p99_ms is not None and slow_rb.late_p99_ms >= slow_rb.late_p50_ms
    assert rows[("sim-b", "CFFEX", "IF", DAY)].first_share == 1.0
    # The source counters the hub already kept agree with the aggregates.
    assert hub.hub.sources[b"sim-b"].duplicates == 6 + 0
    assert hub.hub.sources[b"sim-b"].first == 6


def test_a_copy_older_than_the_last_forwarded_counts_as_too_late(hub: PumpedHub) -> None:
    hub.send(b"sim-a", tick_frames("rb2601.SHFE", 2_000, 2.0))
    # Different content, earlier exchange time: not a duplicate key, and not forwarded.
    hub.send(b"sim-b", tick_frames("rb2601.SHFE", 1_000, 1.0))
    rows = rows_by(hub.hub.speed)
    late = rows[("sim-b", "SHFE", "rb", DAY)]
    assert (late.first, late.late, late.too_late, late.copies) == (0, 0, 1, 1)
    assert rows[("sim-a", "SHFE", "rb", DAY)].first == 1
    assert hub.hub.sources[b"sim-b"].too_late == 1


def test_copies_are_kept_apart_by_session(hub: PumpedHub, clock: Clock) -> None:
    hub.send(b"sim-a", tick_frames("rb2601.SHFE", 1_000, 1.0))
    clock.wall = NIGHT_WALL
    hub.hub.speed.refresh(clock.wall)  # what ``summary`` does every status document
    hub.send(b"sim-b", tick_frames("rb2601.SHFE", 2_000, 2.0))
    hub.send(b"sim-b", tick_frames("rb2601.SHFE", 3_000, 3.0))
    rows = rows_by(hub.hub.speed)
    assert rows[("sim-a", "SHFE", "rb", DAY)].first == 1
    assert rows[("sim-b", "SHFE", "rb", NIGHT)].first == 2
    assert ("sim-a", "SHFE", "rb", NIGHT) not in rows


def test_the_contracts_table_names_the_winner_and_how_late_the_others_are(hub: PumpedHub) -> None:
    for i in range(3):
        frames = tick_frames("cu2601.SHFE", 1_000 + i, float(i), price=70_000.0 + i)
        hub.send(b"sim-c", frames)
        time.sleep(0.003)
        hub.send(b"sim-a", frames)
    hub.send(b"sim-a", tick_frames("rb2601.SHFE", 1_000, 1.0))
    summary = hub.hub.speed.summary(hub.hub.topics, hub.hub.last_value, force=True)
    assert summary is not None and summary.session == DAY and summary.contracts_total == 2
    cu = summary.contracts[0]  # the most active first
    assert (cu.vt_symbol, cu.exchange, cu.product, cu.seq, cu.winner) == (
        "cu2601.SHFE",
        "SHFE",
        "cu",
        3,
        "sim-c",
    )
    assert cu.last_price == 70_002.0 and cu.exchange_time == pytest.approx(1_002 / 1e9, abs=1e-3)
    by_source = {s.source: s for s in cu.sources}
    assert by_source["sim-c"].first == 3 and by_source["sim-c"].late_p50_ms is None
    assert by_source["sim-a"].late == 3 and (by_source["sim-a"].late_p50_ms or 0) >= 1.0
    # Rebuilt at most every SUMMARY_INTERVAL: the next call in the same second gives nothing.
    assert hub.hub.speed.summary(hub.hub.topics, hub.hub.last_value) is None


def test_records_from_the_data_services_are_no_source_speed(hub: PumpedHub) -> None:
    _, key, body = tick_frames("rb2601.SHFE", 1_000, 1.0)
    hub.send(b"svc-bars", (b"bar.rb2601.SHFE.1m", key, body))
    assert hub.hub.stats.forwarded == 1
    assert hub.hub.speed.rows() == []


def test_quantiles_come_from_the_power_of_two_slots() -> None:
    hist = [0] * HIST_SLOTS
    hist[21] = 100  # 1.05–2.10 ms
    assert quantile_ms(hist, 0.5) == pytest.approx(1.573, abs=0.001)
    hist[31] = 1  # one copy ~1-2 s late: the p99 stays in the bulk, the max would not
    assert quantile_ms(hist, 0.99) == pytest.approx(2.097, abs=0.001)
    assert quantile_ms([0] * HIST_SLOTS, 0.5) is None
    assert dense(sparse(hist)) == hist
    # What Redis holds may be anything: bad pairs are skipped, not raised on.
    assert dense([[21, 5], ["x", 1], [99, 1], [3, -1], [True, 2], "junk"])[21] == 5


def test_the_session_follows_the_beijing_clock() -> None:
    assert session_at(DAY_WALL) == DAY
    assert session_at(NIGHT_WALL) == NIGHT
    assert session_at(datetime(2026, 3, 3, 2, 15, tzinfo=EXCHANGE_TZ).timestamp()) == NIGHT
    assert session_at(datetime(2026, 3, 3, 8, 55, tzinfo=EXCHANGE_TZ).timestamp()) == DAY
