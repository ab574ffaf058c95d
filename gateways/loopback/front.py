"""The loopback CTP/SOPT front: what the loopback market-data library connects to.

    python -m gateways.loopback.front serve --listen tcp://127.0.0.1:41213 \\
        --sim ipc://run/sim.ipc --control ipc://run/loopctl.ipc [--clock-offset S]
    python -m gateways.loopback.front control --control ipc://run/loopctl.ipc \\
        '{"cmd": "disconnect", "user": "0001"}'

It reads the simulated exchange's snapshots (``gateways.simexchange``) and serves them to
each logged-in connection that subscribed, as ``CThostFtdcDepthMarketDataField`` records in
the frame format of ``loopback_md.cpp``: a depth record as the vendor's struct bytes (``B``,
``depth_struct``) as a broker's front sends it, or as ``Key=Value`` text (``D``), chosen by the
``depth_frame`` setting (``--depth-frame``, per run or per user). It reproduces what real
fronts do (each switchable per run, or per user through the control socket, see ``Quirks``):
DBL_MAX in empty price fields, the snapshot replayed at subscription (stale right after
login), ActionDay and TradingDay as each exchange fills them, CZCE stamps in whole seconds,
disconnects, an error answer for an unknown instrument, a stall with the connection open.

The same port serves the loopback trader library (``loopback_td.cpp``): authenticate
(``auth_code``: the AuthCode the front requires, empty = any), login, settlement confirm and
the instrument query, answered from the simulated exchange's listing on the front's exchange
date (``listing``) as ``CThostFtdcInstrumentField`` records (``instrument_fields``).

The front's clock is the wall clock plus ``clock_offset`` seconds: snapshots are re-stamped
with it, so a test can put the market just before midnight. No Django import.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import struct
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgpack
import zmq

from aggregation.universe import Instrument, universe_from_rules
from gateways.loopback.depth_struct import packer
from gateways.simexchange import PRODUCTS, SNAP_TOPIC, contract_universe

log = logging.getLogger("mdhub.loopback.front")

CHINA_TZ = ZoneInfo("Asia/Shanghai")  # exchange time
DBL_MAX = sys.float_info.max
_LENGTH = struct.Struct(">I")
MAX_FRAME = 1 << 20
# The vendor's error for a subscription of an instrument the front does not know.
INSTRUMENT_NOT_FOUND = (16, "CTP:找不到合约")
# The vendor's errors of the trading side.
AUTHENTICATION_FAILED = (63, "CTP:客户端认证失败")
NOT_LOGGED_IN = (7, "CTP:还没有登录")
# ProductClass / OptionsType of the vendor headers (THOST_FTDC_PC_*, THOST_FTDC_CP_*).
PC_FUTURES, PC_OPTIONS, PC_ETF_OPTION = "1", "2", "7"
OPTIONS_TYPE = {"C": "1", "P": "2"}
# InstrumentName's size in bytes, terminator included (TThostFtdcInstrumentNameType).
NAME_BYTES = {"ctp": 21, "sopt": 41}
DEPTH_FRAMES = ("binary", "text")
# The front's default depth frame where --depth-frame is not given (tests run both ways).
DEPTH_FRAME_ENV = "MDHUB_LOOPBACK_DEPTH_FRAME"


@dataclass(frozen=True)
class Quirks:
    """What this front does the way real fronts do. Defaults: as real fronts."""

    dbl_max: bool = True  # ClosePrice, SettlementPrice, deltas (and empty levels) = DBL_MAX
    empty_levels: int = 0  # the deepest N book levels of each side empty (DBL_MAX, volume 0)
    replay: bool = True  # the latest snapshot is replayed at subscription
    stale_login: float = 0.0  # seconds: the replay right after a login is that old (0 = as is)
    exchange_days: bool = True  # ActionDay/TradingDay as each exchange fills them
    czce_whole_seconds: bool = True  # CZCE UpdateMillisec is always 0
    unknown_error: bool = True  # ErrorID 16 for an instrument the front does not know
    auth_code: str = ""  # the AuthCode ReqAuthenticate must carry (ErrorID 63 otherwise); "" = any
    # How depth records travel: "binary" (``B``, the vendor's struct bytes, to a library that
    # says it reads them; as a broker's front) or "text" (``D``, Key=Value lines).
    depth_frame: str = "binary"
    heartbeat_timeout_ms: int = 3000
    heartbeat_warning_ms: int = 1500
    reconnect_ms: int = 500

    def updated(self, changes: dict[str, Any]) -> Quirks:
        known = {f.name: f.type for f in fields(self)}
        unknown = set(changes) - set(known)
        if unknown:
            raise ValueError(f"unknown quirk(s) {sorted(unknown)}; known: {sorted(known)}")
        frame = changes.get("depth_frame", self.depth_frame)
        if frame not in DEPTH_FRAMES:
            raise ValueError(f"depth_frame {frame!r}: one of {', '.join(DEPTH_FRAMES)}")
        return replace(self, **changes)


def trading_day(local: datetime) -> date:
    """The trading day a snapshot at ``local`` (exchange time) belongs to: from 18:00 the
    next one; weekends skipped (holidays are not known to the front)."""
    day = local.date() + (timedelta(days=1) if local.hour >= 18 else timedelta())
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def exchange_days(exchange: str, local: datetime, as_exchanges: bool) -> tuple[str, str]:
    """``(TradingDay, ActionDay)`` as the exchange's front fills them: DCE sets ActionDay to
    the trading day (a night snapshot carries the next trading day); CZCE sets TradingDay to
    the calendar day; SSE options have no night; the others are right."""
    natural = local.strftime("%Y%m%d")
    trading = trading_day(local).strftime("%Y%m%d")
    if not as_exchanges:
        return trading, natural
    if exchange == "DCE":
        return trading, trading
    if exchange in ("CZCE", "SSE"):
        return natural, natural
    return trading, natural


def depth_fields(snap: dict[str, Any], quirks: Quirks, offset_s: float, age_s: float = 0.0) -> dict[str, Any]:
    """A simulated-exchange snapshot as a ``CThostFtdcDepthMarketDataField``'s fields."""
    # Integer nanoseconds: an epoch in ns is past a float's 53 bits of precision.
    stamp_ns = int(snap["datetime"]) + round((offset_s - age_s) * 1e9)
    local = datetime.fromtimestamp(stamp_ns // 1_000_000_000, CHINA_TZ)
    millis = (stamp_ns // 1_000_000) % 1000
    exchange = snap["exchange"]
    if exchange == "CZCE" and not quirks.czce_whole_seconds:
        millis = (time.time_ns() // 1_000_000) % 1000  # a front that stamps sub-seconds
    day, action = exchange_days(exchange, local, quirks.exchange_days)
    empty = DBL_MAX if quirks.dbl_max else 0.0
    volume = int(snap["volume"])
    out: dict[str, Any] = {
        "TradingDay": day,
        "ActionDay": action,
        "InstrumentID": snap["symbol"],
        "ExchangeID": exchange,
        "ExchangeInstID": snap["symbol"],
        "LastPrice": snap["last_price"],
        "PreSettlementPrice": snap["pre_close"],
        "PreClosePrice": snap["pre_close"],
        "PreOpenInterest": snap["open_interest"],
        "OpenPrice": snap["open_price"],
        "HighestPrice": snap["high_price"],
        "LowestPrice": snap["low_price"],
        "Volume": volume,
        "Turnover": snap["turnover"],
        "OpenInterest": snap["open_interest"],
        "ClosePrice": empty,
        "SettlementPrice": empty,
        "UpperLimitPrice": snap["limit_up"],
        "LowerLimitPrice": snap["limit_down"],
        "PreDelta": empty,
        "CurrDelta": empty,
        "UpdateTime": local.strftime("%H:%M:%S"),
        "UpdateMillisec": millis,
        "AveragePrice": snap["turnover"] / volume if volume else empty,
        "SendingTime": local.strftime("%H:%M:%S"),
        "BigVolume": volume,
    }
    for level in range(1, 6):
        blank = level > 5 - quirks.empty_levels
        for side, name in (("bid", "Bid"), ("ask", "Ask")):
            out[f"{name}Price{level}"] = empty if blank else snap[f"{side}_price_{level}"]
            out[f"{name}Volume{level}"] = 0 if blank else int(snap[f"{side}_volume_{level}"])
    return out


def listing(day: date, flavour: str) -> list[Instrument]:
    """What the front's instrument query answers on ``day`` (exchange date): every contract
    the simulated exchange's products list that day, by the listing rules (all months, option
    chains); a CTP front the futures exchanges' (CFFEX index options included), a SOPT front
    the SSE options."""
    sizes = {p.code: (float(p.multiplier), p.tick) for p in PRODUCTS}
    universe = universe_from_rules(day, sizes)
    return [i for i in universe.instruments.values() if (i.exchange == "SSE") == (flavour == "sopt")]


def fit_name(name: str, size: int) -> str:
    """``name`` cut to what a ``char[size]`` holds in GB18030, on a character boundary (a
    half character would not decode)."""
    while len(name.encode("gb18030")) > size - 1:
        name = name[:-1]
    return name


def instrument_fields(instrument: Instrument, flavour: str) -> dict[str, Any]:
    """One ``CThostFtdcInstrumentField`` as a broker's front fills it."""
    expiry = instrument.expiry or date.max
    listed = expiry - timedelta(days=365)
    option = instrument.is_option
    product_class = PC_FUTURES
    if option:
        product_class = PC_ETF_OPTION if flavour == "sopt" else PC_OPTIONS
    out: dict[str, Any] = {
        "InstrumentID": instrument.symbol,
        "ExchangeID": instrument.exchange,
        "InstrumentName": fit_name(instrument.name or instrument.symbol, NAME_BYTES[flavour]),
        "ExchangeInstID": instrument.symbol,
        "ProductID": instrument.product,
        "ProductClass": product_class,
        "DeliveryYear": expiry.year,
        "DeliveryMonth": expiry.month,
        "MaxMarketOrderVolume": 200,
        "MinMarketOrderVolume": 1,
        "MaxLimitOrderVolume": 1000,
        "MinLimitOrderVolume": 1,
        "VolumeMultiple": int(instrument.size),
        "PriceTick": instrument.pricetick,
        "CreateDate": listed.strftime("%Y%m%d"),
        "OpenDate": listed.strftime("%Y%m%d"),
        "ExpireDate": expiry.strftime("%Y%m%d"),
        "StartDelivDate": expiry.strftime("%Y%m%d"),
        "EndDelivDate": expiry.strftime("%Y%m%d"),
        "InstLifePhase": "1",  # started
        "IsTrading": 1,
        "PositionType": "2",  # gross
        "PositionDateType": "1" if instrument.exchange in ("SHFE", "INE") else "2",
        "LongMarginRatio": 0.1,
        "ShortMarginRatio": 0.1,
        "MaxMarginSideAlgorithm": "1",
        "UnderlyingMultiple": 1.0,
        "CombinationType": "0",
    }
    if option:
        strike = instrument.option_strike or 0.0
        out |= {
            "UnderlyingInstrID": instrument.option_underlying,
            "StrikePrice": strike,
            "OptionsType": OPTIONS_TYPE.get(instrument.option_type, ""),
        }
        if flavour == "sopt":
            # As SSE codes it: underlying, C/P, YYMM, M (standard), strike × 1000.
            out["InstrumentCode"] = (
                f"{instrument.option_underlying}{instrument.option_type}"
                f"{expiry:%y%m}M{round(strike * 1000):05d}"
            )
    return out


def encode_frame(kind: bytes, values: dict[str, Any] | list[tuple[str, Any]]) -> bytes:
    items = values.items() if isinstance(values, dict) else values
    lines = []
    for key, value in items:
        text = repr(value) if isinstance(value, float) else str(value)
        lines.append(f"{key}={text}\n")
    # GB18030, as the vendor's fronts send Chinese text (error messages).
    payload = kind + "".join(lines).encode("gb18030")
    return _LENGTH.pack(len(payload)) + payload


def binary_frame(fields: dict[str, Any], flavour: str) -> bytes:
    """A depth record as a ``B`` frame: the flavour's ``CThostFtdcDepthMarketDataField``."""
    record = packer(flavour).pack(fields)
    return _LENGTH.pack(len(record) + 1) + b"B" + record


def decode_payload(payload: bytes) -> list[tuple[str, str]]:
    out = []
    for line in payload.decode("gb18030", errors="replace").split("\n"):
        key, sep, value = line.partition("=")
        if sep:
            out.append((key, value))
    return out


@dataclass
class Connection:
    sock: socket.socket
    peer: str
    number: int
    user: str = ""
    flavour: str = "ctp"
    api: str = "md"  # "md" or "trader": which loopback library is on the other end
    reads_binary: bool = False  # the md library said at login that it reads ``B`` frames
    authenticated: bool = False
    logged_in: bool = False
    subscribed: set[str] = field(default_factory=set)
    stalled_until: float = 0.0
    replayed_since_login: set[str] = field(default_factory=set)
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def send(self, frame: bytes) -> bool:
        if self.closed or time.monotonic() < self.stalled_until:
            return False  # a stalled front sends nothing, heartbeats included
        with self.lock:
            try:
                self.sock.sendall(frame)
            except OSError:
                self.close()
                return False
        self.sent += 1
        return True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()


class LoopbackFront:
    def __init__(
        self,
        listen: str,
        sim_addr: str,
        control_addr: str,
        clock_offset: float = 0.0,
        quirks: Quirks | None = None,
        contracts: int = len(PRODUCTS),
    ) -> None:
        host, _, port = listen.removeprefix("tcp://").rpartition(":")
        self.server = socket.create_server((host, int(port)), reuse_port=False)
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.sim_addr = sim_addr
        self.control_addr = control_addr
        self.clock_offset = clock_offset
        self.quirks = quirks or Quirks()
        self.user_quirks: dict[str, dict[str, Any]] = {}
        self.known = {p.symbol: p.exchange for p in contract_universe(contracts)}
        self.latest: dict[str, dict[str, Any]] = {}
        self.connections: list[Connection] = []
        self.lock = threading.Lock()
        # Held while a snapshot becomes the latest and goes out, and while a subscription
        # replays the latest: otherwise a replay read just before a newer snapshot is sent
        # could go out after it, and the client would see the market step back.
        self.market_lock = threading.Lock()
        self.shutdown = threading.Event()
        self.bad_frames = 0
        self.numbers = 0
        self.no_layout: set[str] = set()  # flavours whose header could not be read: text frames

    def quirks_for(self, conn: Connection) -> Quirks:
        changes = self.user_quirks.get(conn.user)
        return self.quirks.updated(changes) if changes else self.quirks

    def frame_kind(self, conn: Connection, quirks: Quirks) -> str:
        """``binary`` when the setting asks for it, the library reads it and the flavour's
        layout is known; else ``text`` (a library built before the binary frame, or headers
        gone: the records still flow, the log says why once)."""
        if quirks.depth_frame != "binary" or not conn.reads_binary or conn.flavour in self.no_layout:
            return "text"
        try:
            packer(conn.flavour)
        except (OSError, StopIteration, RuntimeError, KeyError, IndexError) as exc:
            self.no_layout.add(conn.flavour)
            log.warning("no %r depth layout (%s): text frames for it", conn.flavour, exc)
            return "text"
        return "binary"

    def depth_frame(self, conn: Connection, fields: dict[str, Any], kind: str) -> bytes:
        return binary_frame(fields, conn.flavour) if kind == "binary" else encode_frame(b"D", fields)

    # -- threads ---------------------------------------------------------------------------

    def run(self) -> None:
        threads = [
            threading.Thread(target=self._accept_loop, name="accept", daemon=True),
            threading.Thread(target=self._feed_loop, name="feed", daemon=True),
            threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True),
        ]
        for thread in threads:
            thread.start()
        self._control_loop()
        for conn in list(self.connections):
            conn.close()
        self.server.close()

    def _accept_loop(self) -> None:
        while not self.shutdown.is_set():
            try:
                sock, peer = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.numbers += 1
            conn = Connection(sock, f"{peer[0]}:{peer[1]}", self.numbers)
            with self.lock:
                self.connections.append(conn)
            threading.Thread(
                target=self._serve, args=(conn,), name=f"conn-{conn.number}", daemon=True
            ).start()

    def _serve(self, conn: Connection) -> None:
        q = self.quirks
        conn.send(
            encode_frame(
                b"C",
                {
                    "HeartbeatTimeoutMs": q.heartbeat_timeout_ms,
                    "HeartbeatWarningMs": q.heartbeat_warning_ms,
                    "ReconnectMs": q.reconnect_ms,
                },
            )
        )
        buffer = b""
        try:
            while not conn.closed and not self.shutdown.is_set():
                try:
                    chunk = conn.sock.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                buffer += chunk
                while len(buffer) >= 4:
                    (length,) = _LENGTH.unpack_from(buffer)
                    if not 0 < length <= MAX_FRAME:
                        self.bad_frames += 1
                        conn.close()  # a stream out of step cannot be resynchronised
                        return
                    if len(buffer) < 4 + length:
                        break
                    payload, buffer = buffer[4 : 4 + length], buffer[4 + length :]
                    self._request(conn, payload[:1], decode_payload(payload[1:]))
        finally:
            conn.close()
            with self.lock:
                if conn in self.connections:
                    self.connections.remove(conn)

    def _request(self, conn: Connection, kind: bytes, values: list[tuple[str, str]]) -> None:
        first = dict(values)
        request_id = first.get("RequestID", "0")
        if kind == b"H":
            return
        if kind == b"A":
            conn.user = first.get("UserID", "")
            required = self.quirks_for(conn).auth_code
            # The AuthCode is compared, never logged.
            conn.authenticated = not required or first.get("AuthCode", "") == required
            error_id, error_msg = (0, "正确") if conn.authenticated else AUTHENTICATION_FAILED
            fields = {"RequestID": request_id, "IsLast": 1, "ErrorID": error_id, "ErrorMsg": error_msg}
            conn.send(
                encode_frame(b"A", fields | {"BrokerID": first.get("BrokerID", ""), "UserID": conn.user})
            )
            return
        if kind == b"L":
            conn.user = first.get("UserID", "")
            conn.flavour = first.get("Flavour", "ctp")
            conn.api = first.get("Api", "md")
            conn.reads_binary = first.get("DepthFrame") == "binary"
            if conn.api == "trader" and self.quirks_for(conn).auth_code and not conn.authenticated:
                error_id, error_msg = AUTHENTICATION_FAILED
                conn.send(
                    encode_frame(
                        b"L",
                        {"RequestID": request_id, "IsLast": 1, "ErrorID": error_id, "ErrorMsg": error_msg},
                    )
                )
                return
            conn.logged_in = True
            conn.replayed_since_login.clear()
            now = self.now()
            conn.send(
                encode_frame(
                    b"L",
                    {
                        "RequestID": request_id,
                        "IsLast": 1,
                        "ErrorID": 0,
                        "ErrorMsg": "正确",
                        "TradingDay": trading_day(now).strftime("%Y%m%d"),
                        "LoginTime": now.strftime("%H:%M:%S"),
                        "BrokerID": first.get("BrokerID", ""),
                        "UserID": conn.user,
                        "SystemName": "mdhub loopback",
                        "FrontID": 1,
                        "SessionID": conn.number,
                        "MaxOrderRef": "1",
                    },
                )
            )
            log.info("connection %d logged in as %s (exchange time %s)", conn.number, conn.user, now)
            return
        if kind in (b"S", b"U"):
            symbols = [value for key, value in values if key == "InstrumentID"]
            quirks = self.quirks_for(conn)
            for symbol in symbols:
                unknown = not self._serves(conn, symbol)
                error_id, error_msg = INSTRUMENT_NOT_FOUND if unknown and quirks.unknown_error else (0, "")
                conn.send(
                    encode_frame(
                        kind,
                        {
                            "RequestID": request_id,
                            "IsLast": 1,
                            "ErrorID": error_id,
                            "ErrorMsg": error_msg,
                            "InstrumentID": symbol,
                        },
                    )
                )
                if kind == b"U":
                    conn.subscribed.discard(symbol)
                elif not error_id:
                    with self.market_lock:
                        conn.subscribed.add(symbol)
                        self._replay(conn, symbol, quirks)
            return
        if kind == b"F":
            now = self.now()
            confirm = {
                "RequestID": request_id,
                "IsLast": 1,
                "ErrorID": 0,
                "ErrorMsg": "正确",
                "BrokerID": first.get("BrokerID", ""),
                "InvestorID": first.get("InvestorID", ""),
                "ConfirmDate": now.strftime("%Y%m%d"),
                "ConfirmTime": now.strftime("%H:%M:%S"),
            }
            conn.send(encode_frame(b"F", confirm))
            return
        if kind == b"Q":
            self._answer_instruments(conn, request_id, first)
            return
        if kind == b"O":
            conn.logged_in = False
            conn.send(encode_frame(b"O", {"RequestID": request_id, "ErrorID": 0, "UserID": conn.user}))
            return
        self.bad_frames += 1

    def _answer_instruments(self, conn: Connection, request_id: str, query: dict[str, str]) -> None:
        """ReqQryInstrument: one ``I`` frame per instrument, IsLast on the last; filters by
        InstrumentID, ExchangeID, ProductID as a broker's front does (empty = any)."""
        if not conn.logged_in:
            error_id, error_msg = NOT_LOGGED_IN
            conn.send(
                encode_frame(
                    b"I", {"RequestID": request_id, "IsLast": 1, "ErrorID": error_id, "ErrorMsg": error_msg}
                )
            )
            return
        wanted = {key: query.get(key, "") for key in ("InstrumentID", "ExchangeID", "ProductID")}
        records = (instrument_fields(i, conn.flavour) for i in listing(self.now().date(), conn.flavour))
        found = [r for r in records if all(not value or r[key] == value for key, value in wanted.items())]
        if not found:
            conn.send(
                encode_frame(b"I", {"RequestID": request_id, "IsLast": 1, "ErrorID": 0, "ErrorMsg": ""})
            )
            return
        for n, record in enumerate(found, 1):
            header = {"RequestID": request_id, "IsLast": int(n == len(found)), "ErrorID": 0, "ErrorMsg": ""}
            conn.send(encode_frame(b"I", header | record))
        log.info("connection %d (%s): %d instruments answered", conn.number, conn.user, len(found))

    def _serves(self, conn: Connection, symbol: str) -> bool:
        """A CTP front knows futures, a SOPT front stock options (SSE)."""
        exchange = self.known.get(symbol)
        return exchange is not None and (exchange == "SSE") == (conn.flavour == "sopt")

    def _replay(self, conn: Connection, symbol: str, quirks: Quirks) -> None:
        snap = self.latest.get(symbol)
        if snap is None or not quirks.replay:
            return
        # Right after a login a real front replays the last snapshot it holds, which may be
        # from the previous session: stale by hours.
        age = quirks.stale_login if symbol not in conn.replayed_since_login else 0.0
        conn.replayed_since_login.add(symbol)
        fields = depth_fields(snap, quirks, self.clock_offset, age)
        conn.send(self.depth_frame(conn, fields, self.frame_kind(conn, quirks)))

    def _feed_loop(self) -> None:
        ctx = zmq.Context.instance()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVHWM, 1_000_000)
        sub.setsockopt(zmq.SUBSCRIBE, SNAP_TOPIC)
        sub.connect(self.sim_addr)
        frames: dict[tuple[str, Quirks, str, str], bytes] = {}
        while not self.shutdown.is_set():
            if not sub.poll(200):
                continue
            _, data = sub.recv_multipart()
            snap = msgpack.unpackb(data)
            with self.market_lock:
                self._publish(snap, frames)
        sub.close()

    def _publish(self, snap: dict[str, Any], frames: dict[tuple[str, Quirks, str, str], bytes]) -> None:
        symbol = snap["symbol"]
        self.latest[symbol] = snap
        self.known.setdefault(symbol, snap["exchange"])
        frames.clear()
        with self.lock:
            targets = [c for c in self.connections if c.logged_in and symbol in c.subscribed]
        for conn in targets:
            # Encoded once per round for every connection of the same quirks, frame and
            # flavour (the struct layouts of ctp and sopt differ).
            quirks = self.quirks_for(conn)
            kind = self.frame_kind(conn, quirks)
            key = (symbol, quirks, kind, conn.flavour if kind == "binary" else "")
            frame = frames.get(key)
            if frame is None:
                frame = frames[key] = self.depth_frame(
                    conn, depth_fields(snap, quirks, self.clock_offset), kind
                )
            conn.send(frame)

    def _heartbeat_loop(self) -> None:
        beat = encode_frame(b"H", {})
        while not self.shutdown.wait(0.5):
            with self.lock:
                targets = list(self.connections)
            for conn in targets:
                conn.send(beat)

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.clock_offset, CHINA_TZ)

    # -- control ---------------------------------------------------------------------------

    def _control_loop(self) -> None:
        ctx = zmq.Context.instance()
        rep = ctx.socket(zmq.REP)
        rep.setsockopt(zmq.LINGER, 0)
        rep.bind(self.control_addr)
        while not self.shutdown.is_set():
            if not rep.poll(200):
                continue
            try:
                request = msgpack.unpackb(rep.recv())
                reply = self.control(request)
            except (ValueError, TypeError, KeyError, msgpack.UnpackException) as exc:
                reply = {"ok": False, "error": str(exc)}
            rep.send(msgpack.packb(reply))
        rep.close()

    def _matching(self, user: str | None) -> list[Connection]:
        with self.lock:
            return [c for c in self.connections if user is None or c.user == user]

    def control(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request.get("cmd")
        user = request.get("user")
        if cmd == "status":
            return {
                "ok": True,
                "port": self.port,
                "bad_frames": self.bad_frames,
                "quirks": asdict(self.quirks),
                "connections": [
                    {
                        "number": c.number,
                        "user": c.user,
                        "api": c.api,
                        "flavour": c.flavour,
                        "depth_frame": self.frame_kind(c, self.quirks_for(c)) if c.api == "md" else "",
                        "logged_in": c.logged_in,
                        "subscribed": sorted(c.subscribed),
                        "sent": c.sent,
                    }
                    for c in self._matching(None)
                ],
            }
        if cmd == "quirks":
            changes = dict(request.get("set") or {})
            self.quirks.updated(changes)  # validates
            if user is None:
                self.quirks = self.quirks.updated(changes)
            else:
                self.user_quirks.setdefault(user, {}).update(changes)
            return {"ok": True}
        if cmd == "disconnect":
            conns = self._matching(user)
            for conn in conns:
                conn.close()
            log.warning("disconnected %d connection(s) of %s", len(conns), user or "every user")
            return {"ok": True, "connections": len(conns)}
        if cmd == "stall":
            until = time.monotonic() + float(request.get("seconds") or 0)
            conns = self._matching(user)
            for conn in conns:
                conn.stalled_until = until
            return {"ok": True, "connections": len(conns)}
        if cmd == "clock":
            self.clock_offset = float(request["offset"])
            return {"ok": True}
        raise ValueError(f"unknown command {cmd!r}; known: status, quirks, disconnect, stall, clock")


def send_control(control_addr: str, timeout: float = 3.0, **request: Any) -> dict[str, Any]:
    """One request to a running front's control socket."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, int(timeout * 1000))
    sock.connect(control_addr)
    try:
        sock.send(msgpack.packb(request))
        reply: dict[str, Any] = msgpack.unpackb(sock.recv())
        return reply
    except zmq.Again:
        return {"ok": False, "error": f"the loopback front at {control_addr} did not answer"}
    finally:
        sock.close()


def add_depth_frame_option(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get(DEPTH_FRAME_ENV) or "binary"
    if default not in DEPTH_FRAMES:
        parser.error(f"${DEPTH_FRAME_ENV}={default!r}: one of {', '.join(DEPTH_FRAMES)}")
    parser.add_argument(
        "--depth-frame",
        choices=DEPTH_FRAMES,
        default=default,
        help=f"how depth records travel (default binary, or ${DEPTH_FRAME_ENV})",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateways.loopback.front")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the loopback front")
    serve.add_argument("--listen", required=True, help="tcp://127.0.0.1:PORT")
    serve.add_argument("--sim", required=True, help="the simulated exchange's PUB address")
    serve.add_argument("--control", required=True)
    serve.add_argument("--clock-offset", type=float, default=0.0, help="seconds added to the wall clock")
    serve.add_argument("--quirks", default="{}", help='JSON, e.g. {"stale_login": 3600}')
    add_depth_frame_option(serve)
    serve.add_argument("--contracts", type=int, default=len(PRODUCTS))
    control = sub.add_parser("control", help="send a command to a running front")
    control.add_argument("--control", required=True)
    control.add_argument("request", help='JSON, e.g. {"cmd": "stall", "seconds": 5}')
    args = parser.parse_args(argv)

    if args.command == "control":
        reply = send_control(args.control, **json.loads(args.request))
        print(json.dumps(reply, ensure_ascii=False))
        return 0 if reply.get("ok") else 1

    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(message)s")
    front = LoopbackFront(
        args.listen,
        args.sim,
        args.control,
        args.clock_offset,
        Quirks(depth_frame=args.depth_frame).updated(json.loads(args.quirks)),
        args.contracts,
    )

    def stop(signum: int, frame: Any) -> None:
        front.shutdown.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("loopback front on port %d, fed by %s", front.port, args.sim)
    front.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
