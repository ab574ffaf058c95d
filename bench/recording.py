"""Recording benchmark: Parquet write rate, bytes per tick, contract-day query time, replay
rate to a real client (docs/recording.md has the figures).

    .venv/bin/python -m bench.recording [--ticks 200000] [--contracts 50]

A journal of ``--ticks`` snapshots (vn.py ``TickData`` encoded by the worker's encoder,
``--contracts`` contracts over SHFE, DCE, CZCE and CFFEX, one every 10 ms of exchange
time) is written by the journal's own writer under a tmp dir; then it is recorded, one
contract-day is queried (median of 5), and the day is replayed as fast as a
``HubClient`` on tcp loopback takes it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aggregation.client import HubAddress, HubClient
from aggregation.exchange_time import CHINA_TZ
from aggregation.journal import Journal
from aggregation.wire import datetime_from_ns, datetime_ns, encode_tick, extend_body, source_suffix
from recording.query import ticks
from recording.replay import ReplayServer
from recording.writer import record_day

EXCHANGES = ("SHFE", "DCE", "CZCE", "CFFEX")


def write_journal(directory: Path, count: int, contracts: int) -> date:
    from vnpy.trader.constant import Exchange
    from vnpy.trader.object import TickData

    start = datetime_ns(datetime(2026, 12, 1, 9, 0, tzinfo=CHINA_TZ))
    journal = Journal(directory, clock=lambda: start)
    names = [(f"c{i:03d}", EXCHANGES[i % len(EXCHANGES)]) for i in range(contracts)]
    seqs = [0] * contracts
    batch: list[tuple[bytes, bytes, int, bytes]] = []
    suffix = source_suffix("sim-a", journal.epoch)
    for n in range(count):
        i = n % contracts
        symbol, exchange = names[i]
        at = datetime_from_ns(start + n * 10_000_000, CHINA_TZ)
        price = 3000.0 + (n // contracts) % 97
        tick = TickData(
            gateway_name="sim",
            symbol=symbol,
            exchange=Exchange(exchange),
            datetime=at,
            name=symbol,
            volume=float(n),
            turnover=n * price,
            open_interest=10_000.0 + n % 500,
            last_price=price,
            last_volume=1.0,
            limit_up=3300.0,
            limit_down=2700.0,
            bid_price_1=price - 1,
            ask_price_1=price + 1,
            bid_volume_1=5.0,
            ask_volume_1=7.0,
            localtime=at,
        )
        topic, key, body = encode_tick(tick, recv_ns=start + n * 10_000_000 + 1_500_000)
        seqs[i] += 1
        batch.append((topic, key, seqs[i], extend_body(body, suffix, seqs[i])))
        if len(batch) == 4096:
            journal.write_batch(batch)
            batch = []
    if batch:
        journal.write_batch(batch)
    assert journal.day is not None
    day = journal.day.day
    journal.close()
    return day


def replay_rate(root: Path, day: date, expected: int) -> tuple[float, int]:
    from tests.zmq_helpers import free_port

    pub, snap = f"tcp://127.0.0.1:{free_port()}", f"tcp://127.0.0.1:{free_port()}"
    server = ReplayServer(root, day, pub, snap, speed=0)
    thread = threading.Thread(target=server.run, kwargs={"wait_timeout": 30.0}, daemon=True)
    thread.start()
    got = 0
    with HubClient(HubAddress(pub, snap), [""]) as client:
        first: float | None = None
        last = time.monotonic()
        while got < expected:
            tick: Any = client.recv(2.0)
            if tick is None:
                break
            if first is None:
                first = time.monotonic()
            got += 1
            last = time.monotonic()
    thread.join(30)
    server.close()
    seconds = last - (first or last)
    return (got / seconds if seconds > 0 else 0.0), got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ticks", type=int, default=200_000)
    parser.add_argument("--contracts", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mdhub-bench-recording-") as tmp:
        journal, root = Path(tmp) / "journal", Path(tmp) / "recording"
        day = write_journal(journal, args.ticks, args.contracts)
        started = time.perf_counter()
        result = record_day(journal, root, day)
        write_s = time.perf_counter() - started
        assert result.ticks == args.ticks, result
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            page = ticks(root, f"c001.{EXCHANGES[1]}", day)
            times.append(time.perf_counter() - t0)
        rate, got = replay_rate(root, day, args.ticks)
        print(f"ticks {args.ticks}, contracts {args.contracts}, journal {result.journal_bytes} bytes")
        print(f"parquet write: {args.ticks / write_s:,.0f} ticks/s ({write_s:.2f} s)")
        per_tick = result.parquet_bytes / args.ticks
        print(f"on disk: {per_tick:.1f} bytes/tick (journal {result.journal_bytes / args.ticks:.0f})")
        print(f"query one contract-day ({page.total} ticks): median {statistics.median(times) * 1000:.1f} ms")
        print(f"replay to a HubClient, as fast as it reads: {rate:,.0f} ticks/s ({got} received)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
