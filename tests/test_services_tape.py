"""The data services read the hub's tape (its journal) instead of its stream (issue 16).

Files written by the real ``Journal`` writer; the real runner with a real ``RecordSender``
on a real ZeroMQ PULL; the real ``services.runner`` process against a real ``TickHub`` with
its journal on."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from aggregation import wire
from aggregation.exchange_time import CHINA_TZ
from aggregation.journal import Journal
from aggregation.wire import datetime_from_ns, split_tick_frame
from services.bars import BarService
from services.base import Record
from services.inputs import TapeInput, choose_input
from services.runner import RecordSender, Runner, sim_calendar
from services.sections import SessionClock
from services.tape import END, TapeFollower
from tests.hub_process import PROJECT
from tests.journal_helpers import JournalHub
from tests.zmq_helpers import tick_frames, wait_for

SYMBOLS = ("rb2610.SHFE", "au2612.SHFE", "IF2612.CFFEX")
GRACE = timedelta(milliseconds=300)


def china_ns(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ).timestamp() * 1e9)


class Tape:
    """A journal directory written by the real writer, seq by seq per topic, as the hub does."""

    def __init__(self, directory: Path, clock: Any = time.time_ns) -> None:
        self.journal = Journal(directory, clock=clock)
        self.seqs: dict[bytes, int] = {}

    def item(self, topic: bytes, key: bytes, fields: dict[str, Any], skip: int = 0) -> tuple[Any, ...]:
        seq = self.seqs[topic] = self.seqs.get(topic, 0) + 1 + skip
        payload = msgpack.packb({**fields, "source": "sim-a", "epoch": self.journal.epoch, "seq": seq})
        return (topic, key, seq, payload)

    def tick(self, vt_symbol: str, dt_ns: int, volume: float, price: float, skip: int = 0) -> tuple[Any, ...]:
        topic, key, body = tick_frames(vt_symbol, dt_ns, volume, price)
        fields = msgpack.unpackb(body)
        fields["recv_ns"] = dt_ns + 2_000_000  # the worker got it 2 ms after the exchange stamp
        return self.item(topic, key, fields, skip)

    def write(self, items: list[tuple[Any, ...]]) -> None:
        self.journal.write_batch(items)

    def close(self) -> None:
        self.journal.close()


def day_of_ticks(start_ns: int, seconds: int) -> list[tuple[str, int, float, float]]:
    """Ticks of three contracts every 0.4 s (some without a trade), ``(vt, dt, volume, price)``."""
    out = []
    volume = dict.fromkeys(SYMBOLS, 100.0)
    for n in range(int(seconds / 0.4)):
        for i, vt in enumerate(SYMBOLS):
            if (n + i) % 5:
                volume[vt] += 1 + (n * 7 + i) % 4  # a trade; every fifth tick only quotes
            price = 3000.0 + i * 100 + (n * 13 + i * 5) % 17
            out.append((vt, start_ns + n * 400_000_000 + i * 1_000_000, volume[vt], price))
    return out


def direct_bars(ticks: list[tuple[str, int, float, float]], until: datetime) -> list[dict[str, Any]]:
    """The bars of these ticks fed straight to a ``BarService``, each at its own time."""
    service = BarService(SessionClock(sim_calendar(), grace=GRACE), intervals=("5s", "1m"))
    records: list[Record] = []
    for vt, dt_ns, volume, price in ticks:
        _, _, body = tick_frames(vt, dt_ns, volume, price)
        records += service.on_tick(msgpack.unpackb(body), datetime_from_ns(dt_ns + 2_000_000, CHINA_TZ))
    records += service.on_timer(until)
    return [r.fields for r in records]


def by_topic(bars: list[dict[str, Any]]) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for b in bars:
        key = f"{b['interval']}.{b['symbol']}"
        out.setdefault(key, []).append(
            tuple(b[name] for name in ("datetime", "open_price", "high_price", "low_price", "close_price"))
            + tuple(b[name] for name in ("volume", "flat", "complete", "ticks"))
        )
    return out


@pytest.fixture
def pull(zmq_ctx: zmq.Context[Any], tmp_path: Path) -> Iterator[tuple[zmq.Socket[Any], str]]:
    sock = zmq_ctx.socket(zmq.PULL)
    address = f"ipc://{tmp_path}/ingest.ipc"
    sock.bind(address)
    yield sock, address
    sock.close(linger=0)


def drain(sock: zmq.Socket[Any]) -> list[dict[str, Any]]:
    got = []
    while sock.poll(200):
        frame = sock.recv()
        if frame[:1] == wire.KIND_TICK:
            *_, body = split_tick_frame(frame)
            got.append(msgpack.unpackb(body))
    return got


def test_bars_from_the_tape_equal_bars_from_the_same_ticks_fed_directly(
    tmp_path: Path, zmq_ctx: zmq.Context[Any], pull: tuple[zmq.Socket[Any], str]
) -> None:
    # Two minutes of ticks that ended a minute ago: the runner reads them from the day's
    # start in small chunks (a catch-up, on the tape's clock), and the service's own bars
    # and another service's Greeks, journaled by the hub between them, are not its input.
    start = time.time_ns() - 180 * 1_000_000_000
    ticks = day_of_ticks(start, 120)
    tape = Tape(tmp_path / "journal")
    items = [tape.tick(vt, dt, v, p) for vt, dt, v, p in ticks]
    key = items[0][1]
    for at in range(0, len(items), 97):
        own = tape.item(b"bar.5s.rb2610.SHFE", key, {"symbol": "rb2610", "volume": 1e9, "datetime": 0})
        greeks = tape.item(b"greeks.IO2612-C-4000.CFFEX", key, {"symbol": "IO2612-C-4000"})
        tape.write([*items[at : at + 97], own, greeks])
    tape.close()

    sock, address = pull
    follower = TapeFollower(tmp_path / "journal", ["tick."], chunk=16_384)
    service = BarService(SessionClock(sim_calendar(), grace=GRACE), intervals=("5s", "1m"))
    service.timer_interval = 0.0  # the timer on every step: it too runs on the tape's clock
    sender = RecordSender(zmq_ctx, address, "svc-bars")
    runner = Runner(service, TapeInput(follower, 0.001), sender, cadence=0.0)
    replayed = 0
    while runner.ticks < len(ticks):
        runner.step()
        replayed += follower.behind
    until = datetime.now(CHINA_TZ)
    runner.step()  # caught up: the wall clock closes what is left
    got = drain(sock)
    sender.close()

    assert replayed > 20, "the tape was not read in chunks: the catch-up path went untested"
    assert runner.ticks == len(ticks) and runner.errors == 0
    assert follower.stats.skipped == 2 * len(range(0, len(items), 97))
    assert service.counters["stale_tick"] == 0, service.counters
    closed = (until - GRACE).timestamp() * 1e9
    expected = direct_bars(ticks, until)
    assert len(expected) > 40
    assert by_topic([b for b in got if b["end"] <= closed]) == by_topic(expected)


def test_a_torn_tail_is_read_once_whole_and_the_next_trading_day_is_followed(tmp_path: Path) -> None:
    now = [china_ns("2026-03-09 14:00")]  # a Monday's day session

    def clock() -> int:
        return now[0]

    directory = tmp_path / "journal"
    tape = Tape(directory, clock=clock)
    tape.write([tape.tick("rb2610.SHFE", now[0] + i, 100.0 + i, 3000.0) for i in range(10)])
    follower = TapeFollower(directory, ["rb"], clock=clock, roll_check=0.0)
    assert [t["seq"] for t in follower.read()] == list(range(1, 11))

    # The writer is mid-write: half of the next record is in the file.
    tape.write([tape.tick("rb2610.SHFE", now[0] + 10, 110.0, 3001.0)])
    path = directory / "2026-03-09.mdj"
    whole = path.read_bytes()
    os.truncate(path, len(whole) - 40)
    assert follower.read() == [] and follower.connected
    with path.open("ab") as f:
        f.write(whole[-40:])
    assert [t["seq"] for t in follower.read()] == [11]

    # 20:00: the night session is the next trading day's; the writer opens its file (it
    # looks at the clock once a second).
    now[0] = china_ns("2026-03-09 20:00")
    time.sleep(1.05)
    tape.write([tape.tick("rb2610.SHFE", now[0], 5.0, 3010.0)])
    tape.write([tape.tick("rb2610.SHFE", now[0] + 1, 7.0, 3011.0, skip=2)])  # a hole: 2 seqs missed
    tape.close()
    assert (directory / "2026-03-10.mdj").exists()
    assert [t["seq"] for t in follower.read()] == [12, 15]
    assert follower.path == directory / "2026-03-10.mdj"
    assert follower.stats.files == 2 and follower.stats.epochs == 2
    assert follower.stats.missed == 2 and follower.stats.torn_left == 0


def test_a_follower_started_from_the_end_reads_only_what_comes_next_and_never_an_old_day(
    tmp_path: Path,
) -> None:
    now = [china_ns("2026-03-10 10:00")]
    directory = tmp_path / "journal"
    old = Tape(directory, clock=lambda: china_ns("2026-03-09 10:00"))
    old.write([old.tick("rb2610.SHFE", china_ns("2026-03-09 10:00"), 1.0, 3000.0)])
    old.close()
    follower = TapeFollower(directory, ["tick."], start=END, clock=lambda: now[0], roll_check=0.0)
    assert follower.read() == [] and not follower.connected  # yesterday's file is not today's

    tape = Tape(directory, clock=lambda: now[0])
    tape.write([tape.tick("rb2610.SHFE", now[0] + i, 1.0 + i, 3000.0) for i in range(5)])
    assert follower.read() == [] and follower.connected  # from the end: these were there before
    tape.write([tape.tick("rb2610.SHFE", now[0] + 9, 9.0, 3000.0)])
    tape.close()
    assert [t["seq"] for t in follower.read()] == [6]


def test_a_service_process_reads_the_tape_of_a_running_hub_and_skips_its_own_records(
    tmp_path: Path, zmq_ctx: zmq.Context[Any]
) -> None:
    journal_dir = tmp_path / "journal"
    hub = JournalHub(journal_dir, tmp_path)
    bars = zmq_ctx.socket(zmq.SUB)
    bars.setsockopt(zmq.SUBSCRIBE, b"bar.1s.")
    bars.connect(hub.pub_addr)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "services.runner",
            "--service=bars",
            "--intervals=1s",
            "--grace-ms=200",
            "--calendar=sim",
            "--input=tape",
            f"--journal-dir={journal_dir}",
            f"--pub={hub.pub_addr}",
            f"--snapshot={hub.snap_addr}",
            f"--ingest={hub.ingest_addr}",
        ],
        cwd=PROJECT,
        stdout=(tmp_path / "service.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        sent = 0
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            hub.push(20)
            sent += 20
            time.sleep(0.05)
        hub.settle()

        def status() -> dict[str, Any]:
            return hub.hub.source(b"svc-bars").last_status

        done = wait_for(
            lambda: (s := status()).get("ticks", 0) >= sent and s.get("tape", {}).get("skipped") and s, 20
        )
        log = (tmp_path / "service.log").read_text(errors="replace")
        assert done["input"] == "tape" and done["connected"], (done, log)
        assert done["ticks"] == sent and done["missed"] == 0, done  # its own bars not among them
        assert done["lag_ms"] < 5000, done
        got = []
        while bars.poll(500):
            _, payload = bars.recv_multipart()
            got.append(msgpack.unpackb(payload))
        assert len({b["symbol"] for b in got}) >= 3, got[:3]
        assert all(b["source"] == "svc-bars" for b in got)
    finally:
        proc.terminate()
        proc.wait(10)
        bars.close(linger=0)
        hub.stop.set()
        hub.thread.join(5)
        hub.pusher.close(linger=0)
        hub.hub.close()
        if hub.journal is not None:
            hub.journal.close()
        hub.ctx.destroy(linger=0)


def test_the_input_is_the_tape_with_a_journal_and_the_stream_without() -> None:
    assert choose_input("auto", "/srv/run/journal") == "tape"
    assert choose_input("auto", "") == "hub"
    assert choose_input("hub", "/srv/run/journal") == "hub"
    with pytest.raises(ValueError, match="journal directory"):
        choose_input("tape", "")


def test_tape_without_a_journal_stops_the_runner_with_a_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDHUB_")}
    done = subprocess.run(
        [sys.executable, "-m", "services.runner", "--service=bars", "--calendar=sim", "--input=tape"],
        cwd=PROJECT,
        env={**env, "MDHUB_JOURNAL": "off"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "needs the hub's journal directory" in done.stderr


@pytest.mark.parametrize(
    ("overrides", "what"),
    [
        ({"MDHUB_SERVICES_INPUT": "file"}, "MDHUB_SERVICES_INPUT is 'file'"),
        ({"MDHUB_SERVICES_INPUT": "tape", "MDHUB_JOURNAL": False}, "MDHUB_JOURNAL is off"),
        ({"MDHUB_SERVICES_TAPE_FROM": "noon"}, "MDHUB_SERVICES_TAPE_FROM is 'noon'"),
    ],
)
def test_a_bad_services_input_is_a_system_check_error(overrides: dict[str, Any], what: str) -> None:
    from django.test import override_settings

    from mdhub_project import checks

    with override_settings(**overrides):
        errors = checks.check_services()
    assert [e.id for e in errors] == ["mdhub.E011"] and what in errors[0].msg


def test_runhub_gives_its_services_the_journal_directory_and_the_input() -> None:
    from django.conf import settings
    from django.test import override_settings

    from mdhub_project.engine_config import service_args

    args = set(service_args("bars"))
    assert {"--input=auto", "--tape-from=start", f"--journal-dir={settings.MDHUB_JOURNAL_DIR}"} <= args
    with override_settings(MDHUB_JOURNAL=False, MDHUB_SERVICES_INPUT="hub"):
        assert {"--input=hub", "--journal-dir="} <= set(service_args("greeks"))
