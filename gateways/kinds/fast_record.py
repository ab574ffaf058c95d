"""The worker's fast tick path: from the vendor's record straight to the ingest frame.

vn.py turns each CTP/SOPT depth record into a ``TickData`` (``strptime`` of a date string,
a dataclass with 40 fields) and our ``TickEmitter.emit`` then reads every field back out of
it to cleanse and encode: some 27 µs of CPU per tick, 135 ms for one source's round of
5 000 contracts. Here the md API's own callback (a subclass of the pinned gateway's md API,
the package unchanged on disk) reads the record's numbers into a list the way vn.py fills a
``TickData`` (``aggregation.tick_codec.ctp_numbers``), dates it from a per-second cache, and
hands it to ``TickEmitter.emit_numbers`` (cleanse, the compiled encoder, send). The frame is
byte for byte the one the vn.py path makes (tests/test_fast_path_equivalence.py, across the
loopback front's quirks).

With the compiled tick path built (``aggregation/_emit_core.pyx``), ``on_depth`` and
``deliver`` are one C call each from the record to the frame on the socket; the Python
methods here (``on_depth_py``, ``deliver_py``) take the records the C code does not (and
every record under ``MDHUB_PURE_PYTHON=1``), and make the same frames.

Where the record is not the usual one (a time stamp that is not ``HH:MM:SS``, milliseconds
outside 0-999), the exact vn.py computation runs instead; where vn.py would raise, the tick
is counted as ``malformed`` and dropped (vn.py lost it in the callback, uncounted).
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aggregation import emit_core
from aggregation.exchange_time import CHINA_TZ
from aggregation.tick_codec import body_prefix, ctp_numbers
from aggregation.wire import NUMBER_FIELDS, datetime_ns, topic_for
from gateways.exchange_date import ExchangeDate
from gateways.kinds.base import TickEmitter

# (date, time) → epoch ns: CTP sends one UpdateTime for a whole round of contracts, so one
# strptime per second serves thousands of ticks. Bounded: cleared when it grows past this.
STAMP_CACHE = 50_000
_time_ns = time.time_ns


class Stamps:
    """Exchange time in epoch ns of ``date`` (YYYYMMDD) + ``update_time`` + a fraction, exactly
    as ``datetime.strptime(f"{date} {update_time}.{fraction}", "%Y%m%d %H:%M:%S.%f")`` with
    Asia/Shanghai would give it."""

    def __init__(self) -> None:
        self._seconds: dict[tuple[str, str], int] = {}

    def second(self, date: str, update_time: str) -> int:
        key = (date, update_time)
        ns = self._seconds.get(key)
        if ns is None:
            # Raises ValueError as vn.py's own strptime would (counted as malformed).
            dt = datetime.strptime(f"{date} {update_time}", "%Y%m%d %H:%M:%S").replace(tzinfo=CHINA_TZ)
            if len(self._seconds) >= STAMP_CACHE:
                self._seconds.clear()
            ns = self._seconds[key] = datetime_ns(dt)
        return ns


def exact_ns(date: str, update_time: str, fraction: str) -> int:
    """vn.py's own parse, for the records the cache does not take."""
    text = f"{date} {update_time}.{fraction}"
    return datetime_ns(datetime.strptime(text, "%Y%m%d %H:%M:%S.%f").replace(tzinfo=CHINA_TZ))


class CtpRecordPath:
    """``onRtnDepthMarketData`` of vnpy_ctp (``sopt`` false, with our kind's DCE date and
    millisecond fixes, gateways/kinds/broker.py) or vnpy_sopt (``sopt`` true), minus the
    ``TickData``."""

    def __init__(
        self,
        emitter: TickEmitter,
        contract_map: dict[str, Any],
        date_for: Callable[[str], str],
        sopt: bool,
        md_api: Any = None,
    ) -> None:
        self.emitter = emitter
        self.contract_map = contract_map
        self.date_for = date_for
        self.sopt = sopt
        self.md_api = md_api
        self.stamps = Stamps()
        # symbol → (contract, vt_symbol, topic, body prefix, is DCE)
        self._meta: dict[str, tuple[Any, str, bytes, bytes, bool]] = {}
        self.on_depth: Callable[[dict[str, Any]], None] = self.on_depth_py
        if emitter.core is not None:
            # The kind's ExchangeDate: its day's dates are then read in C (see its for_time).
            owner = getattr(date_for, "__self__", None)
            exchange_date = owner if getattr(date_for, "__func__", None) is ExchangeDate.for_time else None
            self.on_depth = emit_core.core_module.CtpDepthCore(self, emitter.core, exchange_date).on_depth

    def on_depth_py(self, data: dict[str, Any]) -> None:
        recv_ns = _time_ns()
        emitter = self.emitter
        try:
            update_time = data["UpdateTime"]
            if not update_time:
                return  # vn.py: a record without a time stamp is no tick
            symbol = data["InstrumentID"]
            contract = self.contract_map.get(symbol)
            if contract is None:
                return  # vn.py: nothing before the contract is known
            meta = self._meta.get(symbol)
            if meta is None or meta[0] is not contract:
                meta = self._contract_meta(symbol, contract)
            _, vt_symbol, topic, prefix, dce = meta
            millis = data["UpdateMillisec"]
            if self.sopt:
                date = data["TradingDay"]
                if type(millis) is int and 0 <= millis <= 999:
                    dt_ns = self.stamps.second(date, update_time) + millis // 100 * 100_000_000
                else:
                    dt_ns = exact_ns(date, update_time, str(int(millis / 100)))
            else:
                action_day = data["ActionDay"]
                if not action_day or dce:
                    date = self.date_for(update_time)
                    if self.md_api is not None:
                        self.md_api.current_date = date  # as the vn.py path leaves it
                else:
                    date = action_day
                if type(millis) is int and 0 <= millis <= 999:
                    dt_ns = self.stamps.second(date, update_time) + millis * 1_000_000
                else:
                    text = f"{millis:03d}" if isinstance(millis, int) else str(millis)
                    dt_ns = exact_ns(date, update_time, text)
            numbers = ctp_numbers(data, self.sopt)
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError):
            emitter.received += 1
            emitter.cleanser.drops["malformed"] += 1
            return
        emitter.emit_numbers(vt_symbol, topic, prefix, numbers, dt_ns, recv_ns)

    def _contract_meta(self, symbol: str, contract: Any) -> tuple[Any, str, bytes, bytes, bool]:
        exchange = contract.exchange.value
        vt_symbol = f"{symbol}.{exchange}"
        meta = (
            contract,
            vt_symbol,
            topic_for(vt_symbol),
            body_prefix(symbol, exchange, contract.name),
            exchange == "DCE",
        )
        self._meta[symbol] = meta
        return meta


_sim_numbers = operator.itemgetter(*NUMBER_FIELDS)


class SimRecordPath:
    """The sim kind's snapshot (a dict of ``TickData`` field names, ``datetime`` in epoch ns)
    to the ingest frame, as ``SimKind._deliver`` + ``emit`` make it through a ``TickData``.
    ``deliver`` returns False for a snapshot it does not take (the caller then takes vn.py's way)."""

    def __init__(self, emitter: TickEmitter, exchanges: set[str]) -> None:
        self.emitter = emitter
        self.exchanges = exchanges
        self._meta: dict[tuple[str, str, str], tuple[str, bytes, bytes]] = {}
        self.deliver: Callable[[dict[str, Any]], bool] = self.deliver_py
        if emitter.core is not None:
            self.deliver = emit_core.core_module.SimDeliverCore(self, emitter.core).deliver

    def deliver_py(self, snap: dict[str, Any]) -> bool:
        recv_ns = _time_ns()
        try:
            stamp = snap["datetime"]
            if type(stamp) is not int or "localtime" in snap:
                return False
            ident = (snap["symbol"], snap["exchange"], snap["name"])
            numbers = list(_sim_numbers(snap))
        except KeyError:
            return False
        meta = self._meta.get(ident)
        if meta is None:
            symbol, exchange, name = ident
            if exchange not in self.exchanges or type(symbol) is not str or type(name) is not str:
                return False
            vt_symbol = f"{symbol}.{exchange}"
            meta = self._meta[ident] = (vt_symbol, topic_for(vt_symbol), body_prefix(symbol, exchange, name))
        # vn.py's datetime keeps microseconds: the stamp as datetime_from_ns → datetime_ns gives it.
        self.emitter.emit_numbers(meta[0], meta[1], meta[2], numbers, stamp - stamp % 1_000, recv_ns)
        return True


def install(kind: Any, md_api: Any) -> CtpRecordPath | None:
    """Put the fast path under a broker kind's md API (``gateways.kinds.broker``): a subclass
    of its current class (pybind11 looks callbacks up on the type) whose
    ``onRtnDepthMarketData`` is ``CtpRecordPath.on_depth``. ``MDHUB_VNPY_TICKS=1`` leaves
    vn.py's own path in place (to compare the two)."""
    import os

    if os.environ.get("MDHUB_VNPY_TICKS") == "1":
        return None
    sopt = not hasattr(md_api, "current_date")  # vnpy_sopt dates ticks with TradingDay
    path = CtpRecordPath(
        kind.emitter, kind.module.symbol_contract_map, kind.exchange_date.for_time, sopt, md_api
    )
    on_depth = path.on_depth

    class FastMdApi(type(md_api)):  # type: ignore[misc]
        def onRtnDepthMarketData(self, data: dict[str, Any]) -> None:
            on_depth(data)

    md_api.__class__ = FastMdApi
    return path
