"""CPU per depth record in the loopback md library, text (``D``: Key=Value lines parsed into
the struct) against binary (``B``: the vendor's struct bytes, memcpy'd), from the socket to
``OnRtnDepthMarketData``.

    .venv/bin/python -m bench.loopback_wire [--contracts 300] [--rounds 20] [--runs 3]

The records are the loopback front's (``depth_fields``, default quirks) for futures of every
exchange, encoded by the front's own functions before the clock. This process is the front:
it greets the library and writes every record at once; the library runs in a small C++
program (``bench/loopback_wire_spi.cpp``, built here under ``run/bench``) linked to the built
ctp library as the vn.py wrapper links the vendor's, with an SPI that only counts. The figure
is the library thread's CPU time from the first record to the last (the receive, framing,
parse or copy; no wrapper, no Python), median of the runs.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
from pathlib import Path

from bench.depth_records import depth_records, futures, size_arguments
from gateways.loopback.build import FLAVOURS, PROJECT_DIR
from gateways.loopback.build import main as build_loopback
from gateways.loopback.front import binary_frame, encode_frame

SOURCE = Path(__file__).with_name("loopback_wire_spi.cpp")
BINARY = PROJECT_DIR / "run" / "bench" / "loopback_wire_spi"


def build_harness() -> Path:
    ctp = next(f for f in FLAVOURS if f.name == "ctp")
    newest = max(SOURCE.stat().st_mtime, ctp.library.stat().st_mtime)
    if BINARY.exists() and BINARY.stat().st_mtime >= newest:
        return BINARY
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "g++",
            "-std=c++17",
            "-O2",
            "-pthread",
            f"-I{ctp.headers}",
            "-o",
            str(BINARY),
            str(SOURCE),
            f"-L{ctp.library.parent}",
            f"-l:{ctp.library.name}",
            f"-Wl,-rpath,{ctp.library.parent}",
        ],
        check=True,
    )
    return BINARY


def deliver(harness: Path, frames: list[bytes], records: int) -> list[str]:
    """Greet the library in ``harness``, write ``frames`` at once, and return what it prints
    once ``records`` depth records are in."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        proc = subprocess.Popen([str(harness), str(port), str(records)], stdout=subprocess.PIPE, text=True)
        server.settimeout(10)
        conn, _ = server.accept()
        with conn:
            greeting = {"HeartbeatTimeoutMs": 60000, "HeartbeatWarningMs": 30000, "ReconnectMs": 1000}
            conn.sendall(encode_frame(b"C", greeting))
            conn.sendall(b"".join(frames))
            out, _ = proc.communicate(timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"the harness did not see every record (exit {proc.returncode})")
    return out.split()


def run(harness: Path, frames: list[bytes]) -> tuple[float, float]:
    """(CPU µs, wall µs) per record in the library for one pass of ``frames``."""
    cpu_ns, wall_ns, counted, *_ = deliver(harness, frames, len(frames))
    return int(cpu_ns) / int(counted) / 1000, int(wall_ns) / int(counted) / 1000


def main() -> None:
    args = size_arguments(__doc__.split("\n")[0])
    build_loopback()
    harness = build_harness()
    batch = depth_records(futures(args.contracts), args.rounds)
    encodings = {
        "text": [encode_frame(b"D", r) for r in batch],
        "binary": [binary_frame(r, "ctp") for r in batch],
    }
    for name, frames in encodings.items():
        figures = [run(harness, frames) for _ in range(args.runs)]
        cpu = statistics.median(f[0] for f in figures)
        runs = ", ".join(f"{f[0]:.2f}" for f in figures)
        size = sum(map(len, frames)) / len(frames)
        print(
            f"loopback library, ctp, {name:>6}: {cpu:.2f} µs/record CPU (runs {runs}), "
            f"{size:.0f} bytes/record, {len(frames)} records; load {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
