"""How fast the data services compute, and what they cost the hub's tick path.

    .venv/bin/python -m bench.services --seconds 2                       # compute only
    .venv/bin/python -m bench.services --tick-path --rates 3000 --seconds 5 --repeat 2

Compute (in process, no sockets, one core): the services' own Python per tick, which bounds
how many contracts one service process can follow: bar ticks/s, Greeks (IV + 5 Greeks)/s.

``--tick-path``: the hub's tick p50/p99 and its ingress ceiling with the bar and Greeks
services attached vs none, in the same run, alternating, on fresh hubs (bench/latency.py's
phases, senders and client, unchanged). Both arms run the same hub: its journal on (the
tape), as by default under runhub. With services on, the two ``services.runner`` processes
read every tick (every contract; the stream's options priced by the Greeks service) from
that tape (``--input=tape``, the default with a journal; ``--input=hub`` for the hub's
stream, as before) and push their records into its ingest, as under runhub; they share the
machine's cores with the hub, as they do in production.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from aggregation.wire import datetime_ns
from bench.latency import PROJECT, HubSink, Sink, run_phase
from services.bars import BarService
from services.calendar import default_calendar
from services.greeks import GreeksService
from services.sections import CHINA_TZ, SessionClock


def bench_bars(seconds: float) -> float:
    service = BarService(SessionClock(default_calendar()))
    start = datetime(2026, 3, 9, 9, 0, tzinfo=CHINA_TZ)
    symbols = [f"lh26{m:02d}" for m in range(1, 13)]
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        at = start + timedelta(milliseconds=250 * (n // len(symbols)))
        tick = {
            "symbol": symbols[n % len(symbols)],
            "exchange": "DCE",
            "datetime": datetime_ns(at),
            "volume": float(n),
            "turnover": 0.0,
            "open_interest": 1.0,
            "last_price": 15000.0 + n % 7,
        }
        service.on_tick(tick, at)
        n += 1
    return n / (time.perf_counter() - t0)


def bench_greeks(seconds: float) -> float:
    service = GreeksService(default_calendar(), throttle=0)
    now = datetime.combine(date(2026, 3, 9), datetime.min.time(), CHINA_TZ)
    ns = datetime_ns(now)
    service.on_tick(
        {"symbol": "m2609", "exchange": "DCE", "datetime": ns, "bid_price_1": 3000.0, "ask_price_1": 3001.0},
        now,
    )
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        strike = 2500 + 50 * (n % 20)
        price = max(1.0, 3000.5 - strike) + 60.0
        service.on_tick(
            {
                "symbol": f"m2609-C-{strike}",
                "exchange": "DCE",
                "datetime": ns,
                "bid_price_1": price - 0.5,
                "ask_price_1": price + 0.5,
            },
            now,
        )
        n += 1
    return n / (time.perf_counter() - t0)


class ServicesHubSink(Sink):
    """The benchmark's hub (bench/latency.py ``HubSink``) with a bar and a Greeks service
    attached to it, started before the load and stopped after it."""

    # The services import vollib/scipy and take a snapshot (which times out on the held hub).
    STARTUP_SECONDS = 6.0

    def __init__(
        self, run_dir: str, flags: Sequence[str] = (), greeks_topics: str = "", service_input: str = "tape"
    ) -> None:
        journal = journal_dir(run_dir)
        self.hub = HubSink(run_dir, journal)
        self.pub, self.ingest = self.hub.pub, self.hub.ingest
        self.services = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "services.runner",
                    f"--service={name}",
                    "--calendar=sim",
                    f"--pub={self.hub.pub}",
                    f"--snapshot={self.hub.snap}",
                    f"--ingest={self.ingest}",
                    f"--input={service_input}",
                    f"--journal-dir={journal}",
                    *extra,
                    *flags,
                ],
                cwd=PROJECT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, extra in (
                ("bars", ["--intervals=5s,1m,5m,15m,30m,1h,d"]),
                ("greeks", [f"--topics={greeks_topics}"] if greeks_topics else []),
            )
        ]
        time.sleep(self.STARTUP_SECONDS)
        dead = [p.args for p in self.services if p.poll() is not None]
        if dead:
            raise RuntimeError(f"a service did not start: {dead}")

    def release(self) -> None:
        self.hub.release()

    def stop(self) -> dict[str, Any]:
        for proc in self.services:
            proc.terminate()
        for proc in self.services:
            proc.wait(10)
        return self.hub.stop()


def journal_dir(run_dir: str) -> str:
    return f"{run_dir}/journal"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def bench_tick_path(args: argparse.Namespace) -> None:
    phases = [*(f"3x{r:.0f}" for r in args.rates), "ceiling"]
    flags = shlex.split(args.service_flags)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.contracts} contracts; service flags: {' '.join(flags) or '(defaults)'}; "
        f"Greeks topics: {args.greeks_topics or 'all'}; services read: {args.input}; journal on in both "
        f"arms; load average before: {load_average()}",
        flush=True,
    )

    def with_services(run_dir: str) -> Sink:
        return ServicesHubSink(run_dir, flags, args.greeks_topics, args.input)

    def without(run_dir: str) -> Sink:
        # The same settling time as with services (their start-up): the arm before has just
        # ended (its processes exiting, its journal deleted), and an arm that starts its load
        # while that goes on measures it too.
        sink = HubSink(run_dir, journal_dir(run_dir))
        time.sleep(ServicesHubSink.STARTUP_SECONDS)
        return sink

    results: list[dict[str, Any]] = []
    for rep in range(args.repeat):
        for phase in phases:
            for path in ("hub", "hub+services"):
                make = with_services if path == "hub+services" else without
                r = run_phase(path, phase, args, make_sink=make)
                r["path"] = path
                results.append(r)
                print(f"run {rep + 1}: {path:<13} {_summary(r)}", flush=True)
    print(f"\nmedians over {args.repeat} run(s):")
    for phase in phases:
        rows = {
            p: [r for r in results if r["phase"] == phase and r["path"] == p] for p in ("hub", "hub+services")
        }
        for name in ("ingress_per_s",) if phase == "ceiling" else ("p50", "p99"):
            off = statistics.median(r[name] for r in rows["hub"])
            on = statistics.median(r[name] for r in rows["hub+services"])
            unit = "ticks/s" if phase == "ceiling" else "ms"
            print(
                f"{phase:<9} {name:<14} off {off:>12,.3f}  on {on:>12,.3f} {unit}"
                f"  ({(on / off - 1) * 100:+.1f} %)"
            )
        # The hub process's CPU per tick it took in (its loop and its ZeroMQ I/O threads).
        cpu = {
            p: statistics.median(r["hub"].get("proc_us", float("nan")) for r in rs) for p, rs in rows.items()
        }
        print(
            f"{phase:<9} {'hub cpu/tick':<14} off {cpu['hub']:>12.2f}  on {cpu['hub+services']:>12.2f} µs"
            f"  ({(cpu['hub+services'] / cpu['hub'] - 1) * 100:+.1f} %)"
        )
        lost = {p: max(r["expected"] - r["delivered"] for r in rs) for p, rs in rows.items()}
        print(f"{phase:<9} {'lost':<14} off {lost['hub']:>12}  on {lost['hub+services']:>12}")
    print(f"load average after: {load_average()}")


def _summary(r: dict[str, Any]) -> str:
    counts = f"{r['delivered']}/{r['expected']}"
    if r["phase"] == "ceiling":
        return f"{r['phase']:<9} {counts:>15}  ceiling {r['ingress_per_s']:,.0f} ticks/s"
    return f"{r['phase']:<9} {counts:>15}  p50 {r['p50']:.3f} ms  p99 {r['p99']:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.services")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--tick-path", action="store_true", help="the hub's tick path, services on vs off")
    parser.add_argument("--rates", type=float, nargs="+", default=[3_000.0], help="per sender (--tick-path)")
    parser.add_argument("--ceiling-ticks", type=int, default=50_000, help="per sender (--tick-path)")
    parser.add_argument("--contracts", type=int, default=50, help="(--tick-path)")
    parser.add_argument("--repeat", type=int, default=1, help="(--tick-path)")
    parser.add_argument("--quantum-us", type=float, default=250.0, help="(--tick-path)")
    parser.add_argument(
        "--service-flags",
        default="",
        help='extra services.runner flags (--tick-path), e.g. "--priority=normal --cadence-ms=0"',
    )
    parser.add_argument(
        "--greeks-topics",
        default="",
        help="what the Greeks service reads (--tick-path; default: the whole stream)",
    )
    parser.add_argument(
        "--input",
        choices=("tape", "hub"),
        default="tape",
        help="where the services read the ticks (--tick-path): the hub's journal file, or its stream",
    )
    args = parser.parse_args()
    if args.tick_path:
        args.burst_seconds = 0.5
        bench_tick_path(args)
        return
    print(f"bars (1m,5m,15m,30m,1h,d): {bench_bars(args.seconds):,.0f} ticks/s on one core")
    print(f"greeks (IV from mid + 5 Greeks): {bench_greeks(args.seconds):,.0f} options/s on one core")


if __name__ == "__main__":
    main()
