"""The hub's goals beside their floors, in one run (issues 19 and 13): ingress ceiling, burst
latency, steady latency, for the bare relay, the hub, the hub with its journal on and (for
comparison) the hub on its Python loop.

    .venv/bin/python -m bench.hub_goals [--repeat 3] [--seconds 4] [--paths relay hub hub+journal hub-python]

Every phase is ``bench.latency``'s (same three sender processes, same client, each run on a
fresh process under test). The paths are interleaved: each repetition runs every phase on
every path, the paths' order rotated from one repetition to the next, so a noisy minute on
the shared machine falls on all of them alike. Medians over the repetitions are compared:

* ceiling (hub) ≥ 80 % of the relay's; burst p99 (hub) ≤ 2x the relay's (issue 19);
* with the journal on: ceiling within 5 % and p99 within 10 % of the hub without it (issue 13),
  at the steady rate and in the burst.

``hub-python`` is the hub with ``MDHUB_PURE_PYTHON=1`` (the Python loops instead of the
compiled tick path and journal framing): what the compiled core changes, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import zmq

from bench import latency
from bench.latency import PROJECT, free_port

PATHS = ("relay", "hub", "hub+journal", "hub-python")


class EngineSink(latency.HubSink):
    """``bench.engine_runner`` with the journal on or off and the compiled core or not."""

    def __init__(self, run_dir: str, journal: bool, pure_python: bool) -> None:
        self.pub = f"tcp://127.0.0.1:{free_port()}"
        snap = f"tcp://127.0.0.1:{free_port()}"
        self.ingest = f"ipc://{run_dir}/ingest.ipc"
        argv = [sys.executable, "-m", "bench.engine_runner", run_dir, self.pub, snap]
        if journal:
            argv.append(f"{run_dir}/journal")
        env = dict(os.environ)
        env.pop("MDHUB_PURE_PYTHON", None)
        if pure_python:
            env["MDHUB_PURE_PYTHON"] = "1"
        self.proc = subprocess.Popen(
            argv, cwd=PROJECT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the hub did not start")


def run(path: str, phase: str, args: argparse.Namespace) -> dict[str, Any]:
    if path == "relay":
        result = latency.run_phase("relay", phase, args)
    else:
        journal, pure = path == "hub+journal", path == "hub-python"
        result = latency.run_phase(
            "hub", phase, args, make_sink=lambda run_dir: EngineSink(run_dir, journal, pure)
        )
    result["path"] = path
    return result


def medians(results: list[dict[str, Any]], path: str, phase: str) -> dict[str, Any]:
    rows = [r for r in results if r["path"] == path and r["phase"] == phase]
    return latency._median(rows) if rows else {}


def verdicts(results: list[dict[str, Any]], steady: str) -> list[str]:
    def m(path: str, phase: str, name: str) -> float:
        return float(medians(results, path, phase).get(name, float("nan")))

    lines = []

    def check(label: str, value: float, goal: str, ok: bool) -> None:
        lines.append(f"{label:<52}{value:>10.3f}  goal {goal:<10}{'met' if ok else 'NOT met'}")

    ceiling = m("hub", "ceiling", "ingress_per_s") / m("relay", "ceiling", "ingress_per_s")
    check("hub ceiling / relay ceiling", ceiling, ">= 0.80", ceiling >= 0.80)
    burst = m("hub", "burst", "p99") / m("relay", "burst", "p99")
    check("hub burst p99 / relay burst p99", burst, "<= 2.0", burst <= 2.0)
    if any(r["path"] == "hub+journal" for r in results):
        jc = m("hub+journal", "ceiling", "ingress_per_s") / m("hub", "ceiling", "ingress_per_s")
        check("journal on / off: ceiling", jc, ">= 0.95", jc >= 0.95)
        for phase in (steady, "burst"):
            jp = m("hub+journal", phase, "p99") / m("hub", phase, "p99")
            check(f"journal on / off: p99 at {phase}", jp, "<= 1.10", jp <= 1.10)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hub_goals")
    parser.add_argument("--rate", type=float, default=10_000.0, help="per sender (3 senders), steady phase")
    parser.add_argument("--seconds", type=float, default=4.0, help="steady phase length")
    parser.add_argument("--burst-seconds", type=float, default=0.5)
    parser.add_argument("--ceiling-ticks", type=int, default=100_000, help="per sender")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    parser.add_argument("--phases", nargs="+", default=None, help="default: 3xRATE burst ceiling")
    parser.add_argument("--json", type=Path, default=None, help="also write every result here")
    args = parser.parse_args()
    # What bench.latency.run_phase reads besides these.
    args.rates, args.contracts, args.quantum_us = [args.rate], 50, 250.0
    steady = f"3x{args.rate:.0f}"
    phases = args.phases or [steady, "burst", "ceiling"]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"pyzmq {zmq.__version__}, libzmq {zmq.zmq_version()}; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    paths = list(args.paths)
    for rep in range(args.repeat):
        order = paths[rep % len(paths) :] + paths[: rep % len(paths)]
        for phase in phases:
            for path in order:
                r = run(path, phase, args)
                results.append(r)
                print(f"run {rep + 1}: {path:<12} {latency._line(r)[8:]}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(f"\nmedians over {args.repeat} run(s), load average now {os.getloadavg()[0]:.2f}:")
    for phase in phases:
        for path in paths:
            merged = medians(results, path, phase)
            if merged:
                runs = [
                    round(r.get("ingress_per_s", r.get("p99", float("nan"))), 3)
                    for r in results
                    if r["path"] == path and r["phase"] == phase
                ]
                print(f"{path:<12} {latency._line(merged)[8:]}  runs {runs}")
    written = [
        r["hub"]["journal"] for r in results if r["path"] == "hub+journal" and "journal" in r.get("hub", {})
    ]
    if written:
        per_tick = statistics.median(j["bytes"] / max(1, j["written"]) for j in written)
        print(f"\njournal: {per_tick:.0f} disk bytes per tick; overflow {[j['overflow'] for j in written]}")
    if {"relay", "hub"} <= set(paths) and {"burst", "ceiling"} <= set(phases):
        print("\ngoals (medians):")
        for line in verdicts(results, steady):
            print(line)


if __name__ == "__main__":
    main()
