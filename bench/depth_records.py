"""The depth records the per-record CPU benches (``bench.loopback_wire``, ``bench.depth_tee``)
time: the loopback front's (``depth_fields``, default quirks) for the first ``--contracts`` ctp
contracts of the universe, one a contract per round, ``--rounds`` rounds half a second apart
and ending now; the same products and seed in both, so that their figures are for like records.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from gateways.loopback.front import Quirks, depth_fields
from gateways.simexchange import ContractSim, Product, contract_universe

ROUND_NS = 500_000_000


def size_arguments(description: str) -> argparse.Namespace:
    """``--contracts``, ``--rounds`` and ``--runs`` (how many times the whole batch is timed)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--contracts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args()


def futures(contracts: int) -> list[Product]:
    """The first ``contracts`` of the universe off the SSE (its options are sopt's)."""
    return [p for p in contract_universe(contracts * 2 + 40) if p.exchange != "SSE"][:contracts]


def depth_records(products: list[Product], rounds: int) -> list[dict[str, Any]]:
    """Round by round, one record a product in ``products``' order."""
    rng = random.Random(1)
    sims = [ContractSim(p, rng) for p in products]
    start = time.time_ns() - rounds * ROUND_NS
    return [
        depth_fields(sim.step(start + r * ROUND_NS), Quirks(), 0.0) for r in range(rounds) for sim in sims
    ]
