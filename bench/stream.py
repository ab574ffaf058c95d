"""The benchmark's load: one deterministic snapshot stream, fed through the workers' own code.

Every sender process builds the same stream (tick ``i`` has the same content in all of
them, so the three copies share one content key, as three accounts' copies of one exchange
snapshot do) and hands each tick to the real ``TickEmitter`` (cleanse, encode, PUSH through
the real ``Sender``). The only thing that stands in for a vendor API is how a ``TickData``
comes to exist: instead of vn.py building a new one in its callback, a preallocated one per
contract is updated in place. That happens before ``emit`` stamps ``recv_ns``, as vn.py's
construction does in a real worker, so it is outside the measured interval either way; it
just costs the 2-core machine far less CPU than constructing 90 000 ``TickData`` a second.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aggregation.cleanse import Cleanser
from aggregation.sessions import CHINA_TZ
from aggregation.wire import datetime_from_ns
from gateways.kinds.base import Sender, TickEmitter
from gateways.simexchange import ContractSim, contract_universe

if TYPE_CHECKING:
    import zmq
    from vnpy.trader.object import TickData


class TickStream:
    """Tick ``i`` of a stream: exchange-stamped at ``base_ns + offsets[i]`` (epoch ns)."""

    def __init__(self, contracts: int, base_ns: int, offsets: list[int], seed: int = 7) -> None:
        from vnpy.trader.constant import Exchange
        from vnpy.trader.object import TickData

        rng = random.Random(seed)
        self.sims = [ContractSim(p, rng) for p in contract_universe(contracts)]
        self.offsets = offsets
        self.base_dt = datetime_from_ns(base_ns - base_ns % 1_000_000_000, CHINA_TZ)
        # Offsets are counted from base_ns; stamps from the whole second before it.
        self.skew = base_ns % 1_000_000_000
        exchanges = {e.value: e for e in Exchange}
        self.ticks: list[TickData] = []
        self.czce: list[bool] = []
        for sim in self.sims:
            snap: dict[str, Any] = sim.step(base_ns)
            snap["exchange"] = exchanges[snap["exchange"]]
            snap["datetime"] = self.base_dt
            self.ticks.append(TickData(gateway_name="bench", **snap))
            self.czce.append(sim.product.exchange == "CZCE")

    def tick(self, i: int) -> TickData:
        """Tick ``i``, updated in place: its content depends on ``i`` only."""
        n = len(self.ticks)
        c = i % n
        tick, sim = self.ticks[c], self.sims[c]
        step = sim.product.tick
        round_ = i // n
        price = sim.pre_close + ((round_ % 7) - 3) * step
        stamp_ns = self.offsets[i] + self.skew
        # Millisecond stamps; CZCE whole seconds (several snapshots share one, DESIGN §3).
        if self.czce[c]:
            stamp_ns -= stamp_ns % 1_000_000_000
        else:
            stamp_ns -= stamp_ns % 1_000_000
        tick.datetime = self.base_dt + timedelta(microseconds=stamp_ns // 1_000)
        tick.volume = float(1000 + round_)
        tick.turnover = tick.volume * price * sim.product.multiplier
        tick.last_price = price
        tick.bid_price_1 = round(price - step, 6)
        tick.ask_price_1 = round(price + step, 6)
        tick.bid_volume_1 = float(round_ % 200 + 1)
        return tick


class CaptureSender(Sender):
    """A ``Sender`` that keeps the frames instead of sending them (for pre-encoding)."""

    def __init__(self, account: str) -> None:
        self.account = account.encode()
        self.dropped = 0
        self.frames: list[tuple[bytes, bytes, bytes]] = []

    def send_tick(self, topic: bytes, key: bytes, body: bytes) -> None:
        self.frames.append((topic, key, body))


def make_emitter(ctx: zmq.Context[Any], addr: str, account: str) -> TickEmitter:
    return TickEmitter(Sender(ctx, addr, account), Cleanser())


def pre_encode(stream: TickStream, indices: range, account: str) -> dict[int, tuple[bytes, bytes, bytes]]:
    """Ticks ``indices`` through the real cleanse and encode, kept as ``(topic, key, body)``."""
    capture = CaptureSender(account)
    emitter = TickEmitter(capture, Cleanser())
    for i in indices:
        emitter.emit(stream.tick(i))
    if len(capture.frames) != len(indices):
        raise RuntimeError(f"the cleanser dropped {len(indices) - len(capture.frames)} bench ticks")
    return dict(zip(indices, capture.frames, strict=True))


_UINT64 = 0xCF


def restamp(body: bytes, recv_ns: int) -> bytes:
    """``body`` with ``recv_ns`` (its last field, a msgpack uint64) replaced."""
    if body[-9] != _UINT64:
        raise ValueError("recv_ns is not the body's last field")
    return body[:-8] + recv_ns.to_bytes(8, "big")
