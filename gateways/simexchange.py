"""The simulated exchange (DESIGN §10): realistic snapshots for demo, tests and benchmarks.

One process generates snapshots for a set of contracts and publishes each once on a ZMQ PUB
socket; every ``sim`` gateway worker subscribes and applies its own latency, jitter and
loss, so several sources deliver copies of the same exchange stream, as several broker
accounts do. Faults for a source are sent to the exchange's control socket and broadcast
to that source (``ctl.<account>``): disconnect, freeze, garbage, crash, hang, storm.

    python -m gateways.simexchange serve --pub ipc://run/sim.ipc --control ipc://run/simctl.ipc
    python -m gateways.simexchange fault --control ipc://run/simctl.ipc sim-b freeze --seconds 10

The simulated market is open around the clock (its stamps are the wall clock), so the
demo shows ticks at any hour; its sources skip the trading-session rule. Its contracts are
the ones the real exchanges list on the day it starts (exchange time; docs/contracts.md).
No Django import.
"""

from __future__ import annotations

import argparse
import math
import random
import signal
import sys
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgpack
import zmq

from aggregation.contract_codes import ListedContract, exchange_today, live_contracts, main_contract
from aggregation.exchange_time import CHINA_TZ
from aggregation.sessions import DEFAULT_HOLIDAYS
from gateways.parent_death import die_with_parent
from gateways.simoptions import ETF_TICK, OptionTerms, option_terms, theoretical

SNAP_TOPIC = b"snap"
CONTROL_PREFIX = b"ctl."
FAULTS = ("disconnect", "freeze", "garbage", "crash", "hang", "storm", "recover")


@dataclass(frozen=True)
class Product:
    """One listed contract as the exchange simulates it."""

    symbol: str
    exchange: str
    name: str
    tick: float
    price: float
    multiplier: int
    is_option: bool = False
    # An option's terms (underlying, strike, expiry, smile) and its underlying's price
    # level; its premium follows the underlying (gateways.simoptions).
    terms: OptionTerms | None = None
    underlying_price: float = 0.0


@dataclass(frozen=True)
class SimProduct:
    """A product the exchange trades: tick size, rough price level and multiplier of the
    real one. For options ``price`` is the underlying's level (premiums follow from it)."""

    code: str
    tick: float
    price: float
    multiplier: int


# One per exchange kind first (the demo's 13 contracts are the first 13 main contracts),
# then more products for bigger universes. Codes and listed months: aggregation.contract_codes.
PRODUCTS = (
    SimProduct("rb", 1.0, 3100.0, 10),
    SimProduct("cu", 10.0, 78000.0, 5),
    SimProduct("au", 0.02, 940.0, 1000),
    SimProduct("IF", 0.2, 4600.0, 300),
    SimProduct("IC", 0.2, 7000.0, 200),
    SimProduct("m", 1.0, 2950.0, 10),
    SimProduct("i", 0.5, 780.0, 100),
    SimProduct("SR", 1.0, 5500.0, 10),
    SimProduct("TA", 2.0, 4700.0, 5),
    SimProduct("MA", 1.0, 2400.0, 10),
    SimProduct("sc", 0.1, 480.0, 1000),
    SimProduct("si", 5.0, 9000.0, 5),
    SimProduct("510050", 0.0001, 3.0, 10000),
    SimProduct("hc", 1.0, 3250.0, 10),
    SimProduct("ag", 1.0, 7800.0, 15),
    SimProduct("IH", 0.2, 2900.0, 300),
    SimProduct("IM", 0.2, 7200.0, 200),
    SimProduct("a", 1.0, 4100.0, 10),
    SimProduct("IO", 0.2, 4600.0, 100),
    SimProduct("MO", 0.2, 7200.0, 100),
    SimProduct("510300", 0.0001, 4.6, 10000),
)
# Bigger universes widen the option chains by this many strikes each side at a time.
_STRIKE_WIDENING = 5


def _premium(terms: OptionTerms, underlying: float, tick: float, today: date) -> float:
    """The option's price on the smile at the start of ``today`` (its first pre_close), at
    least one tick."""
    start_ns = int(datetime.combine(today, datetime.min.time(), CHINA_TZ).timestamp()) * 1_000_000_000
    return max(theoretical(terms, underlying, start_ns)[0], tick)


def _simulated(listed: ListedContract, sim: SimProduct, today: date) -> Product:
    terms = option_terms(listed)
    price = sim.price if terms is None else _premium(terms, sim.price, sim.tick, today)
    return Product(
        listed.symbol,
        listed.exchange,
        listed.name,
        sim.tick,
        price,
        sim.multiplier,
        listed.strike is not None,
        terms,
        sim.price if terms is not None else 0.0,
    )


def underlying_sims(sims: list[ContractSim], rng: random.Random) -> list[ContractSim]:
    """Link every option's sim to its underlying's sim, and return the underlyings the
    universe does not list (an SSE ETF, an index future of a month not listed): the exchange
    walks them too, unpublished, so their options still follow a moving price."""
    by_symbol = {f"{s.product.symbol}.{s.product.exchange}": s for s in sims}
    hidden: dict[str, ContractSim] = {}
    for sim in sims:
        terms = sim.product.terms
        if terms is None:
            continue
        found = by_symbol.get(terms.underlying) or hidden.get(terms.underlying)
        if found is None:
            symbol, _, exchange = terms.underlying.rpartition(".")
            tick = ETF_TICK if terms.spot else sim.product.tick
            level = Product(symbol, exchange, symbol, tick, sim.product.underlying_price, 1)
            found = hidden[terms.underlying] = ContractSim(level, rng)
        sim.underlying = found
    return list(hidden.values())


def contract_universe(
    count: int, today: date | None = None, holidays: Collection[date] = DEFAULT_HOLIDAYS
) -> list[Product]:
    """``count`` contracts live on ``today`` (exchange time by default): every product's main
    contract first (``main_contract``), then its other listed contracts, nearest expiry
    first, round robin over the products; option chains widen when that is not enough."""
    today = today or exchange_today()
    by_code = {p.code: p for p in PRODUCTS}
    mains = [main_contract(p.code, today, holidays) for p in PRODUCTS]
    contracts = [_simulated(m, by_code[m.product], today) for m in mains[:count]]
    seen = {c.symbol for c in contracts}
    strikes = 0
    while len(contracts) < count:
        queues = [
            [c for c in live_contracts(p.code, today, holidays, strikes) if c.symbol not in seen]
            for p in PRODUCTS
        ]
        if not any(queues):
            raise ValueError(f"the simulated products list fewer than {count} contracts")
        for rank in range(max(map(len, queues))):
            for queue in queues:
                if rank < len(queue) and len(contracts) < count:
                    listed = queue[rank]
                    contracts.append(_simulated(listed, by_code[listed.product], today))
                    seen.add(listed.symbol)
        strikes += _STRIKE_WIDENING
    return contracts


@dataclass
class ContractSim:
    product: Product
    rng: random.Random
    pre_close: float = 0.0
    price: float = 0.0
    volume: int = 0
    turnover: float = 0.0
    open_interest: int = 0
    open_price: float = 0.0
    high: float = 0.0
    low: float = 0.0
    fields: dict[str, Any] = field(default_factory=dict)
    # An option's underlying (``underlying_sims``); without one an option walks on its own.
    underlying: ContractSim | None = None

    def __post_init__(self) -> None:
        tick = self.product.tick
        self.pre_close = round(self.product.price / tick) * tick
        self.price = self.open_price = self.high = self.low = self.pre_close
        self.open_interest = self.rng.randint(50_000, 500_000)
        self.limit_up = self._round(self.pre_close * 1.07)
        self.limit_down = self._round(self.pre_close * 0.93)
        terms = self.product.terms
        if terms is not None:
            # A premium moves by far more than 7 % a day: limits no price on the smile reaches
            # (a call is worth less than its underlying, a put less than its strike).
            self.limit_up = self._round(max(terms.strike, self.product.underlying_price) * 1.5)
            self.limit_down = tick

    def _round(self, price: float) -> float:
        tick = self.product.tick
        return round(round(price / tick) * tick, 6)

    def step(self, now_ns: int) -> dict[str, Any]:
        """The next snapshot: a random walk in whole ticks, within the price limits."""
        product, rng = self.product, self.rng
        theo: float | None = None
        if product.terms is not None and self.underlying is not None:
            theo = theoretical(product.terms, self.underlying.price, now_ns)[0]
            self.price = self._round(min(max(theo, product.tick), self.limit_up - product.tick))
        else:
            moved = self.price + rng.choice((-1, 0, 0, 0, 1)) * product.tick
            self.price = self._round(
                min(max(moved, self.limit_down + product.tick), self.limit_up - product.tick)
            )
        traded = rng.randint(0, 20)
        self.volume += traded
        self.turnover += traded * self.price * product.multiplier
        self.open_interest += rng.randint(-traded, traded)
        self.high = max(self.high, self.price)
        self.low = min(self.low, self.price)
        # CZCE stamps carry whole seconds only: several snapshots share one.
        resolution = 1_000_000_000 if product.exchange == "CZCE" else 1_000_000
        stamp = now_ns - now_ns % resolution
        snap: dict[str, Any] = {
            "symbol": product.symbol,
            "exchange": product.exchange,
            "name": product.name,
            "datetime": stamp,
            "volume": float(self.volume),
            "turnover": self.turnover,
            "open_interest": float(self.open_interest),
            "last_price": self.price,
            "last_volume": float(traded),
            "limit_up": self.limit_up,
            "limit_down": self.limit_down,
            "open_price": self.open_price,
            "high_price": self.high,
            "low_price": self.low,
            "pre_close": self.pre_close,
        }
        tick = product.tick
        if theo is not None:
            # A one-tick market around the smile's price: the mid is within half a tick of
            # it (what the Greeks test allows for); a level at or below zero is empty.
            bid = math.floor(theo / tick + 1e-9) * tick
            for level in range(1, 6):
                bid_level = self._round(bid - (level - 1) * tick)
                snap[f"bid_price_{level}"] = bid_level if bid_level > 0 else 0.0
                snap[f"ask_price_{level}"] = self._round(bid + level * tick)
                snap[f"bid_volume_{level}"] = float(rng.randint(1, 200)) if bid_level > 0 else 0.0
                snap[f"ask_volume_{level}"] = float(rng.randint(1, 200))
            return snap
        for level in range(1, 6):
            snap[f"bid_price_{level}"] = self._round(self.price - level * tick)
            snap[f"ask_price_{level}"] = self._round(self.price + level * tick)
            snap[f"bid_volume_{level}"] = float(rng.randint(1, 200))
            snap[f"ask_volume_{level}"] = float(rng.randint(1, 200))
        return snap


class SimExchange:
    """Generates ``rate`` snapshots per second per contract and publishes them."""

    def __init__(
        self,
        pub_addr: str,
        control_addr: str,
        contracts: int = 13,
        rate: float = 2.0,
        seed: int | None = None,
        clock_offset: float = 0.0,
    ) -> None:
        self.rng = random.Random(seed)
        # The exchange's clock is the wall clock plus this (seconds): tests move it across
        # session ends and midnight (``set_clock``) while pacing stays on the wall clock.
        self.clock_offset_ns = int(clock_offset * 1e9)
        self.sims = [ContractSim(p, self.rng) for p in contract_universe(contracts)]
        # Underlyings not in the universe: walked once a round, never published.
        self.hidden = underlying_sims(self.sims, self.rng)
        self.rate = rate
        self.ctx = zmq.Context.instance()
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.SNDHWM, 1_000_000)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.bind(pub_addr)
        self.control = self.ctx.socket(zmq.REP)
        self.control.setsockopt(zmq.LINGER, 0)
        self.control.bind(control_addr)
        self.shutdown = False
        self.published = 0

    def run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.control, zmq.POLLIN)
        interval_ns = int(1e9 / (self.rate * len(self.sims))) if self.rate > 0 else 0
        next_ns = time.time_ns()
        index = 0
        while not self.shutdown:
            now = time.time_ns()
            # Catch up in a burst when behind, but never more than one round of contracts.
            burst = 0
            while interval_ns and next_ns <= now and burst < len(self.sims):
                sim = self.sims[index]
                index = (index + 1) % len(self.sims)
                stamp = now + self.clock_offset_ns
                if index == 0:
                    for underlying in self.hidden:
                        underlying.step(stamp)
                self.pub.send_multipart((SNAP_TOPIC, msgpack.packb(sim.step(stamp))))
                self.published += 1
                next_ns += interval_ns
                burst += 1
            if next_ns < now - 1_000_000_000:
                next_ns = now  # fell far behind (machine busy): skip, do not flood
            wait_ms = max(0.0, (next_ns - time.time_ns()) / 1e6) if interval_ns else 100.0
            if poller.poll(int(min(wait_ms, 100.0))):
                self._handle_control()

    def _handle_control(self) -> None:
        try:
            request = msgpack.unpackb(self.control.recv())
            if "clock" in request:
                self.clock_offset_ns = int(float(request["clock"]) * 1e9)
                self.control.send(msgpack.packb({"ok": True}))
                return
            account = str(request["account"])
            fault = str(request["fault"])
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
            self.pub.send_multipart((CONTROL_PREFIX + account.encode(), msgpack.packb(request)))
            self.control.send(msgpack.packb({"ok": True}))
        except (KeyError, ValueError, TypeError, msgpack.UnpackException) as exc:
            self.control.send(msgpack.packb({"ok": False, "error": str(exc)}))

    def close(self) -> None:
        self.pub.close()
        self.control.close()


def send_fault(
    control_addr: str, account: str, fault: str, seconds: float = 0.0, timeout: float = 3.0, **extra: Any
) -> dict[str, Any]:
    """Ask the simulated exchange to inject ``fault`` into source ``account``."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, int(timeout * 1000))
    sock.connect(control_addr)
    try:
        sock.send(msgpack.packb({"account": account, "fault": fault, "seconds": seconds, **extra}))
        reply: dict[str, Any] = msgpack.unpackb(sock.recv())
        return reply
    except zmq.Again:
        return {"ok": False, "error": f"the simulated exchange at {control_addr} did not answer"}
    finally:
        sock.close()


def set_clock(control_addr: str, offset: float, timeout: float = 3.0) -> dict[str, Any]:
    """Set the simulated exchange's clock to the wall clock plus ``offset`` seconds."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, int(timeout * 1000))
    sock.connect(control_addr)
    try:
        sock.send(msgpack.packb({"clock": offset}))
        reply: dict[str, Any] = msgpack.unpackb(sock.recv())
        return reply
    except zmq.Again:
        return {"ok": False, "error": f"the simulated exchange at {control_addr} did not answer"}
    finally:
        sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateways.simexchange")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the simulated exchange")
    serve.add_argument("--pub", required=True)
    serve.add_argument("--control", required=True)
    serve.add_argument("--contracts", type=int, default=len(PRODUCTS))
    serve.add_argument("--rate", type=float, default=2.0, help="snapshots per second per contract")
    serve.add_argument("--seed", type=int, default=None)
    serve.add_argument(
        "--clock-offset", type=float, default=0.0, help="the exchange clock: wall clock plus this (seconds)"
    )
    serve.add_argument(
        "--parent-pid", type=int, default=None, help="die with this process (the hub that starts it)"
    )
    fault = sub.add_parser("fault", help="inject a fault into one sim source")
    fault.add_argument("--control", required=True)
    fault.add_argument("account")
    fault.add_argument("fault", choices=FAULTS)
    fault.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)

    if args.command == "fault":
        reply = send_fault(args.control, args.account, args.fault, args.seconds)
        print(reply.get("error") or f"{args.fault} sent to {args.account}")
        return 0 if reply.get("ok") else 1

    # Started by a hub: end with it, however it ends (gateways.parent_death).
    die_with_parent(args.parent_pid)
    exchange = SimExchange(args.pub, args.control, args.contracts, args.rate, args.seed, args.clock_offset)

    def stop(signum: int, frame: Any) -> None:
        exchange.shutdown = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        exchange.run()
    finally:
        exchange.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
