"""Runs the real engine with three sim sources for the benchmark, without Django."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

from gateways.simexchange import contract_universe
from mdhub_project.engine import AccountConfig, Engine, EngineConfig


def main() -> None:
    run_dir, pub, snap, rate, contracts = sys.argv[1:6]
    universe = contract_universe(int(contracts))
    config = EngineConfig(
        run_dir=Path(run_dir),
        pub_addr=pub,
        snapshot_addr=snap,
        accounts=[AccountConfig(f"sim-{x}", "sim", {}, i) for i, x in enumerate("abc")],
        subscriptions=[f"{p.symbol}.{p.exchange}" for p in universe],
        contracts=[],
        calendar=None,
        sim_contracts=int(contracts),
        sim_rate=float(rate),
        log_level="WARNING",
    )
    engine = Engine(config)

    def stop(signum: int, frame: Any) -> None:
        engine.shutdown = True

    signal.signal(signal.SIGTERM, stop)
    engine.run()


if __name__ == "__main__":
    main()
