"""Where each source's speed comes from: its copies per exchange, product and session.

The hub's tick path (``TickHub.pump``) does O(1) work per copy here: one dict lookup of the
copy's *cell* by its frame head (one account, one topic; the exchange and product are
worked out once per head, in ``SourceSpeed.cell``), then one list increment: the ``FIRST``
or ``TOO_LATE`` slot, or for a copy that came after the winner the histogram slot
``late_ns.bit_length()`` (powers of two of nanoseconds: slot 20 holds 0.52–1.05 ms). No
sorting, no allocation, no clock read beyond the one the hub already makes.

Cells are kept per session, day or night (Beijing wall clock: ``NIGHT_STARTS`` to
``NIGHT_ENDS`` is night): ``refresh`` swaps the current session's cell map, and the hub
picks the new one up at its next batch. Everything else (sums per product, quantiles, the
contracts' table) is worked out off the hub's batches, every ``SUMMARY_INTERVAL``, by
``summary``. The figures are cumulative since the hub started; the history of them over
time is ``monitoring.history``'s.

No Django import: the hub imports it.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import msgpack

from aggregation.exchange_time import CHINA_TZ
from aggregation.sessions import product_of

EXCHANGE_TZ = CHINA_TZ
DAY, NIGHT = "day", "night"
SESSIONS = (DAY, NIGHT)
# China's night sessions run 21:00–02:30 and the day's open at 08:55 (auction): anything
# between 18:00 and 06:00 Beijing time belongs to the night.
NIGHT_STARTS, NIGHT_ENDS = 18, 6

# A cell: slots 0..63 count late copies by ``late_ns.bit_length()`` (a negative late, after
# a wall clock step, lands by its magnitude), then the first and too-late counts.
HIST_SLOTS = 64
FIRST = 64
TOO_LATE = 65
CELL_SLOTS = 66

# The summary is rebuilt at most this often (seconds): summing every cell of a big
# contract list costs milliseconds of the hub's thread, once per interval.
SUMMARY_INTERVAL = 5.0
# The contracts' table keeps the most active ones (by seq): bounded whatever the list.
CONTRACTS_MAX = 500

_add = operator.add


def session_at(wall: float) -> str:
    """Day or night at epoch ``wall``, by the Beijing wall clock."""
    hour = datetime.fromtimestamp(wall, tz=UTC).astimezone(EXCHANGE_TZ).hour
    return NIGHT if hour >= NIGHT_STARTS or hour < NIGHT_ENDS else DAY


def new_cell() -> list[int]:
    return [0] * CELL_SLOTS


def quantile_ms(hist: list[int], q: float) -> float | None:
    """The ``q`` quantile (ms) of a late-copy histogram (``HIST_SLOTS`` counts by bit
    length), interpolated linearly within its power-of-two slot; None when it is empty."""
    total = sum(hist)
    if not total:
        return None
    rank = q * total
    seen = 0
    for bits, count in enumerate(hist):
        if count and seen + count >= rank:
            low = 0 if bits == 0 else 1 << (bits - 1)
            high = 0 if bits == 0 else 1 << bits
            within = (rank - seen) / count
            return round((low + (high - low) * within) / 1e6, 3)
        seen += count
    return None  # not reached: the last counted slot holds the rank


def sparse(hist: list[int]) -> list[list[int]]:
    """``[[bit_length, count], …]`` for the slots that hold something (a compact wire form)."""
    return [[bits, count] for bits, count in enumerate(hist) if count]


def dense(pairs: Iterable[Any]) -> list[int]:
    """The inverse of ``sparse``; malformed pairs are skipped (it reads what Redis holds)."""
    hist = [0] * HIST_SLOTS
    for pair in pairs:
        if (
            isinstance(pair, list | tuple)
            and len(pair) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
            and 0 <= pair[0] < HIST_SLOTS
            and pair[1] >= 0
        ):
            hist[pair[0]] += pair[1]
    return hist


@dataclass(frozen=True, slots=True)
class Head:
    """What a frame head stands for, worked out once per head."""

    source: str
    exchange: str
    product: str
    topic: bytes


@dataclass(frozen=True, slots=True)
class SpeedRow:
    """One source on one exchange/product in one session, since the hub started."""

    source: str
    exchange: str
    product: str
    session: str
    copies: int
    first: int
    late: int
    too_late: int
    first_share: float  # of the copies forwarded for that product and session
    late_p50_ms: float | None
    late_p99_ms: float | None
    late_hist: list[list[int]]  # sparse: [[bit_length of late ns, count], …]


@dataclass(frozen=True, slots=True)
class ContractSource:
    source: str
    first: int
    late: int
    late_p50_ms: float | None


@dataclass(frozen=True, slots=True)
class ContractRow:
    vt_symbol: str
    exchange: str
    product: str
    last_price: float | None
    exchange_time: float | None  # epoch seconds of the tick's exchange datetime
    received_at: float | None  # epoch seconds the winning worker received it
    seq: int
    winner: str  # the source of the last forwarded tick
    sources: list[ContractSource] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SpeedSummary:
    updated_at: float
    session: str
    rows: list[SpeedRow]
    contracts: list[ContractRow]
    contracts_total: int


class TopicSeq(Protocol):
    """What ``summary`` reads of the hub's per-topic state (``aggregation.dedup.TopicState``)."""

    seq: int


class SourceSpeed:
    """Bounded aggregates of every source's copies; fed by ``TickHub.pump``."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._by_session: dict[str, dict[bytes, list[int]]] = {s: {} for s in SESSIONS}
        self.session = session_at(clock())
        # The current session's cells by frame head; the hub reads this per batch.
        self.cells: dict[bytes, list[int]] = self._by_session[self.session]
        self.heads: dict[bytes, Head] = {}
        # Frames that are no source's tick (the data services' bar./greeks. records) count here.
        self._ignored = new_cell()
        self._summary: SpeedSummary | None = None
        self._summary_at = 0.0

    # -- the tick path --------------------------------------------------------------------

    def cell(self, head: bytes, topic: bytes, source: str) -> list[int]:
        """The cell for a frame head not seen in this session yet (then cached)."""
        info = self.heads.get(head)
        if info is None:
            info = self.heads[head] = self._describe(topic, source)
        # Cached too, so such frames cost one lookup; ``rows`` and ``contracts`` skip them.
        cell = self.cells[head] = new_cell() if info.exchange else self._ignored
        return cell

    @staticmethod
    def _describe(topic: bytes, source: str) -> Head:
        name = topic.decode(errors="replace")
        if not name.startswith("tick."):
            return Head(source, "", "", topic)
        symbol, _, exchange = name[len("tick.") :].rpartition(".")
        return Head(source, exchange, product_of(symbol) or symbol, topic)

    # -- off the tick path ------------------------------------------------------------------

    def refresh(self, wall: float) -> None:
        """Follow the Beijing clock into the day or night session."""
        session = session_at(wall)
        if session != self.session:
            self.session = session
            self.cells = self._by_session[session]

    def rows(self) -> list[SpeedRow]:
        """Per source, exchange, product and session; sorted by those."""
        sums: dict[tuple[str, str, str, str], list[int]] = {}
        for session, cells in self._by_session.items():
            for head, cell in list(cells.items()):
                info = self.heads[head]
                if not info.exchange:
                    continue
                key = (info.exchange, info.product, session, info.source)
                acc = sums.get(key)
                # map(add) runs in C: a few hundred ns per cell, not 66 bytecode additions.
                sums[key] = cell[:] if acc is None else list(map(_add, acc, cell))
        forwarded: dict[tuple[str, str, str], int] = {}
        for (exchange, product, session, _), acc in sums.items():
            group = (exchange, product, session)
            forwarded[group] = forwarded.get(group, 0) + acc[FIRST]
        rows = []
        for (exchange, product, session, source), acc in sorted(sums.items()):
            hist = acc[:HIST_SLOTS]
            late = sum(hist)
            total = forwarded[(exchange, product, session)]
            rows.append(
                SpeedRow(
                    source=source,
                    exchange=exchange,
                    product=product,
                    session=session,
                    copies=acc[FIRST] + acc[TOO_LATE] + late,
                    first=acc[FIRST],
                    late=late,
                    too_late=acc[TOO_LATE],
                    first_share=round(acc[FIRST] / total, 4) if total else 0.0,
                    late_p50_ms=quantile_ms(hist, 0.5),
                    late_p99_ms=quantile_ms(hist, 0.99),
                    late_hist=sparse(hist),
                )
            )
        return rows

    def contracts(
        self, topics: Mapping[bytes, TopicSeq], last_value: Mapping[bytes, bytes], limit: int = CONTRACTS_MAX
    ) -> tuple[list[ContractRow], int]:
        """The ``limit`` most active contracts (highest seq) of the current session, with
        their last forwarded tick and every source's share and lateness; and how many
        contracts there are in all."""
        by_topic: dict[bytes, list[tuple[str, list[int]]]] = {}
        for head, cell in list(self.cells.items()):
            info = self.heads[head]
            if not info.exchange:
                continue
            by_topic.setdefault(info.topic, []).append((info.source, cell))
        ticks = [t for t in list(topics) if t.startswith(b"tick.") and t in last_value]
        ticks.sort(key=lambda t: -topics[t].seq)
        rows = []
        for topic in ticks[:limit]:
            try:
                tick = msgpack.unpackb(last_value[topic])
            except Exception:  # noqa: BLE001 - msgpack raises several types; the hub wrote it
                continue
            if not isinstance(tick, dict):
                continue
            vt_symbol = topic[len(b"tick.") :].decode(errors="replace")
            symbol, _, exchange = vt_symbol.rpartition(".")
            sources = [
                ContractSource(name, cell[FIRST], sum(cell[:HIST_SLOTS]), quantile_ms(cell[:HIST_SLOTS], 0.5))
                for name, cell in sorted(by_topic.get(topic, []))
            ]
            rows.append(
                ContractRow(
                    vt_symbol=vt_symbol,
                    exchange=exchange,
                    product=product_of(symbol) or symbol,
                    last_price=_number(tick.get("last_price")),
                    exchange_time=_seconds(tick.get("datetime")),
                    received_at=_seconds(tick.get("recv_ns")),
                    seq=int(tick.get("seq") or topics[topic].seq),
                    winner=str(tick.get("source") or ""),
                    sources=sources,
                )
            )
        return rows, len(ticks)

    def summary(
        self, topics: Mapping[bytes, TopicSeq], last_value: Mapping[bytes, bytes], force: bool = False
    ) -> SpeedSummary | None:
        """The rows and the contracts' table, rebuilt every ``SUMMARY_INTERVAL`` (None in
        between: the last one stays where it was sent)."""
        wall = self.clock()
        self.refresh(wall)
        if not force and wall - self._summary_at < SUMMARY_INTERVAL:
            return None
        self._summary_at = wall
        contracts, total = self.contracts(topics, last_value)
        return SpeedSummary(wall, self.session, self.rows(), contracts, total)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _seconds(ns: Any) -> float | None:
    return round(ns / 1e9, 3) if isinstance(ns, int) and not isinstance(ns, bool) and ns > 0 else None
