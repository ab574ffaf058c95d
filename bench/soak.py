"""Soak: the real hub with three sim sources for a long run; memory and latency over time.

    python -m bench.soak --minutes 30 --contracts 50 --rate 10 --fault-every 120

Runs ``manage.py runhub`` (fresh SQLite database and run directory, the three demo sim
sources) and a client on its stream. Every ``--interval`` seconds it prints one row: ticks
received, end-to-end latency (worker receive ``recv_ns`` → client receive) p50/p99/p99.9/max,
``seq`` gaps seen by the client, the hub's and the workers' resident memory, and the states
of the sources. With ``--fault-every`` it injects a random fault (kill -9, freeze, hang,
disconnect, garbage) into a random source at that period, so the restart path is soaked too.
The rows go to stdout as a Markdown table, the whole run to ``--json`` if given.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgpack
import redis
import zmq

PROJECT = Path(__file__).resolve().parent.parent
FAULTS = ("kill -9", "freeze", "hang", "disconnect", "garbage")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def quantile(ordered: list[int], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds per row")
    parser.add_argument("--contracts", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10.0, help="snapshots/s per contract")
    parser.add_argument("--fault-every", type=float, default=0.0, help="seconds between faults (0: none)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--json", type=Path, help="write every row here")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="mdhub-soak-"))
    pub = f"tcp://127.0.0.1:{free_port()}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{work}/soak.sqlite3",
        MDHUB_RUN_DIR=str(work / "run"),
        MDHUB_PUB_ADDR=pub,
        MDHUB_SNAPSHOT_ADDR=f"tcp://127.0.0.1:{free_port()}",
        MDHUB_SIM_CONTRACTS=str(args.contracts),
        MDHUB_SIM_RATE=str(args.rate),
        REDIS_URL=args.redis_url,
        LOG_LEVEL="WARNING",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=PROJECT, env=env, check=True, capture_output=True)
    subprocess.run([*manage, "seed_demo"], cwd=PROJECT, env=env, check=True, capture_output=True)
    state_client = redis.Redis.from_url(args.redis_url)
    state_client.delete("mdhub:state")
    hub = subprocess.Popen(
        [*manage, "runhub"],
        cwd=PROJECT,
        env=env,
        stdout=(work / "hub.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    ctx: zmq.Context[Any] = zmq.Context()
    client = ctx.socket(zmq.SUB)
    client.setsockopt(zmq.RCVHWM, 0)
    client.setsockopt(zmq.SUBSCRIBE, b"tick.")
    client.connect(pub)
    rng = random.Random(args.seed)
    rows: list[dict[str, Any]] = []
    columns = "minute ticks p50_ms p99_ms p99.9_ms max_ms seq_gaps hub_RSS_MiB workers_RSS_MiB states fault"
    print("| " + " | ".join(columns.split()) + " |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    started = time.monotonic()
    end = started + args.minutes * 60
    next_fault = started + args.fault_every if args.fault_every else float("inf")
    last_seq: dict[bytes, int] = {}
    try:
        while time.monotonic() < end and hub.poll() is None:
            row_end = min(end, time.monotonic() + args.interval)
            latencies: list[int] = []
            gaps = 0
            fault_note = ""
            while time.monotonic() < row_end:
                if client.poll(50):
                    while True:
                        try:
                            topic, body = client.recv_multipart(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        now = time.time_ns()
                        fields = msgpack.unpackb(body)
                        latencies.append(now - fields["recv_ns"])
                        seq = fields["seq"]
                        previous = last_seq.get(topic)
                        if previous is not None and seq != previous + 1:
                            gaps += 1
                        last_seq[topic] = seq
                if time.monotonic() >= next_fault:
                    next_fault += args.fault_every
                    fault_note = inject(rng, state_client, work)
            state = json.loads(state_client.get("mdhub:state") or "{}")
            gateways = state.get("gateways", [])
            worker_rss = sum(rss_kib(g["pid"]) for g in gateways if g.get("pid"))
            latencies.sort()
            row = {
                "minute": round((time.monotonic() - started) / 60, 1),
                "ticks": len(latencies),
                "p50_ms": quantile(latencies, 0.5),
                "p99_ms": quantile(latencies, 0.99),
                "p999_ms": quantile(latencies, 0.999),
                "max_ms": latencies[-1] / 1e6 if latencies else float("nan"),
                "seq_gaps": gaps,
                "hub_rss_mib": rss_kib(hub.pid) / 1024,
                "workers_rss_mib": worker_rss / 1024,
                "states": ",".join(f"{g['id']}={g['state']}" for g in gateways),
                "fault": fault_note,
            }
            rows.append(row)
            print(
                f"| {row['minute']} | {row['ticks']} | {row['p50_ms']:.3f} | {row['p99_ms']:.3f} | "
                f"{row['p999_ms']:.3f} | {row['max_ms']:.1f} | {gaps} | {row['hub_rss_mib']:.1f} | "
                f"{row['workers_rss_mib']:.1f} | {row['states']} | {fault_note} |",
                flush=True,
            )
    finally:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(15)
        except subprocess.TimeoutExpired:
            hub.kill()
        client.close()
        ctx.term()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if hub.returncode not in (0, -signal.SIGTERM):
        print(f"hub exited with {hub.returncode}; log in {work / 'hub.log'}", file=sys.stderr)
        return 1
    return 0


def inject(rng: random.Random, state_client: redis.Redis, work: Path) -> str:
    from gateways.simexchange import send_fault

    state = json.loads(state_client.get("mdhub:state") or "{}")
    healthy = [g for g in state.get("gateways", []) if g.get("state") == "healthy"]
    if len(healthy) < 2:
        return "skipped (fewer than two healthy)"
    target = rng.choice(healthy)
    fault = rng.choice(FAULTS)
    if fault == "kill -9":
        os.kill(target["pid"], signal.SIGKILL)
    else:
        send_fault(f"ipc://{work / 'run' / 'simctl.ipc'}", target["id"], fault, 60.0)
    return f"{fault} → {target['id']}"


if __name__ == "__main__":
    raise SystemExit(main())
