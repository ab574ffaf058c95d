"""The worker's tick codec in pure Python: the reference the compiled one (``_tick_codec.pyx``)
must match byte for byte, and the fallback where it is not built.

A tick body is what ``aggregation.wire.encode_tick`` makes of a vn.py ``TickData``: a msgpack
map16 of ``v``, ``symbol``, ``exchange``, ``name``, ``datetime``, ``NUMBER_FIELDS``,
``localtime``, ``recv_ns``, in that order. Here it is made from a list of the numbers in
``NUMBER_FIELDS`` order and a per-contract ``prefix`` (``body_prefix``), so the fast paths
(``gateways.kinds.fast_record``) never build a ``TickData``.

``ctp_numbers`` reads a CTP/SOPT depth record (the dict the vn.py wrapper passes to
``onRtnDepthMarketData``) into that list the way the pinned vn.py gateways fill a
``TickData``: the same values, the same Python types (msgpack encodes an int and a float
differently, so an ``int`` 0 where vn.py leaves a default must stay an ``int``).
"""

from __future__ import annotations

import math
import operator
import sys
from typing import Any

import msgpack

from aggregation.wire import NUMBER_FIELDS, SCHEMA_VERSION

MAX_FLOAT = sys.float_info.max
# Entries of a worker body (see the module docstring).
BODY_ENTRIES = 5 + len(NUMBER_FIELDS) + 2
_TAIL_LOCALTIME: bytes = msgpack.packb("localtime")
_TAIL_RECV: bytes = msgpack.packb("recv_ns")
_NUMBER_KEYS = tuple(msgpack.packb(name) for name in NUMBER_FIELDS)

# CTP record keys for NUMBER_FIELDS (None: no such field; vn.py leaves the default 0).
CTP_KEYS: tuple[str | None, ...] = (
    "Volume",
    "Turnover",
    "OpenInterest",
    "LastPrice",
    None,  # last_volume
    "UpperLimitPrice",
    "LowerLimitPrice",
    "OpenPrice",
    "HighestPrice",
    "LowestPrice",
    "PreClosePrice",
    *(f"BidPrice{n}" for n in range(1, 6)),
    *(f"BidVolume{n}" for n in range(1, 6)),
    *(f"AskPrice{n}" for n in range(1, 6)),
    *(f"AskVolume{n}" for n in range(1, 6)),
)
assert len(CTP_KEYS) == len(NUMBER_FIELDS)
_INDEX = {name: i for i, name in enumerate(NUMBER_FIELDS)}
# vnpy_ctp's adjust_price (DBL_MAX → int 0) applies to these.
CTP_ADJUSTED = tuple(
    _INDEX[name]
    for name in (
        "last_price",
        "open_price",
        "high_price",
        "low_price",
        "pre_close",
        "bid_price_1",
        "ask_price_1",
    )
)
# Book levels 2-5: vnpy_ctp fills them only when BidVolume2 or AskVolume2 is non-zero.
DEEP_PRICES = tuple(_INDEX[f"{side}_price_{n}"] for side in ("bid", "ask") for n in range(2, 6))
DEEP_VOLUMES = tuple(_INDEX[f"{side}_volume_{n}"] for side in ("bid", "ask") for n in range(2, 6))


def body_prefix(symbol: str, exchange: str, name: str) -> bytes:
    """A body's bytes up to the ``datetime`` value: the same for every tick of a contract."""
    head: bytes = msgpack.packb({"v": SCHEMA_VERSION, "symbol": symbol, "exchange": exchange, "name": name})
    # packb wrote a fixmap of 4; the whole body is a map16 of BODY_ENTRIES.
    datetime_key: bytes = msgpack.packb("datetime")
    return bytes((0xDE, BODY_ENTRIES >> 8, BODY_ENTRIES & 0xFF)) + head[1:] + datetime_key


def encode_body(
    prefix: bytes, numbers: list[Any], dt_ns: int, localtime_ns: int | None, recv_ns: int
) -> bytes:
    parts = [prefix, msgpack.packb(dt_ns)]
    for key, value in zip(_NUMBER_KEYS, numbers, strict=True):
        parts.append(key)
        parts.append(msgpack.packb(value))
    parts += (_TAIL_LOCALTIME, msgpack.packb(localtime_ns), _TAIL_RECV, msgpack.packb(recv_ns))
    body: bytes = b"".join(parts)
    return body


def ctp_numbers(data: dict[str, Any], sopt: bool) -> list[Any]:
    """``NUMBER_FIELDS`` of a depth record as vnpy_ctp (``sopt`` false) or vnpy_sopt fills them."""
    numbers: list[Any] = [0 if key is None else data[key] for key in CTP_KEYS]
    if sopt:
        return numbers  # vnpy_sopt copies every field as is, all five levels
    for i in CTP_ADJUSTED:
        if numbers[i] == MAX_FLOAT:
            numbers[i] = 0
    if data["BidVolume2"] or data["AskVolume2"]:
        for i in DEEP_PRICES:
            if numbers[i] == MAX_FLOAT:
                numbers[i] = 0
    else:
        for i in DEEP_PRICES + DEEP_VOLUMES:
            numbers[i] = 0
    return numbers


# -- the cleanser's rules that need no state (aggregation.cleanse) ------------------------

# CTP fills a price it has no value for with DBL_MAX (1.797e308); anything this large is
# "no value", not a price.
EMPTY_PRICE = 1e300
PRICE_INDEX = tuple(
    _INDEX[name]
    for name in ("last_price", "open_price", "high_price", "low_price", "pre_close", "limit_up", "limit_down")
) + tuple(i for i, name in enumerate(NUMBER_FIELDS) if "_price_" in name)
QUANTITY_INDEX = tuple(_INDEX[name] for name in ("volume", "turnover", "open_interest", "last_volume"))
_prices = operator.itemgetter(*PRICE_INDEX)
_quantities = operator.itemgetter(*QUANTITY_INDEX)
_LAST, _BID, _ASK = _INDEX["last_price"], _INDEX["bid_price_1"], _INDEX["ask_price_1"]


def stateless_rule(numbers: list[Any]) -> str | None:
    """``price_invalid``, ``no_price`` or ``quantity_negative`` of a tick's ``NUMBER_FIELDS``
    values, or None; CTP's empty prices become 0.0 in place."""
    # Fast path for the usual tick: all prices >= 0 and a finite sum below EMPTY_PRICE
    # mean every one is a finite, non-empty price (a NaN makes the sum NaN, and the
    # comparison false). Otherwise look at each one.
    prices = _prices(numbers)
    if not (min(prices) >= 0.0 and sum(prices) < EMPTY_PRICE):
        for i, value in zip(PRICE_INDEX, prices, strict=True):
            if not math.isfinite(value) or value < 0:
                return "price_invalid"
            if value >= EMPTY_PRICE:
                numbers[i] = 0.0
    # An option quote may carry only bid/ask and no trade yet (volume 0): that is a
    # tick worth keeping. A tick with no price at all is not.
    if numbers[_LAST] == 0 and numbers[_BID] == 0 and numbers[_ASK] == 0:
        return "no_price"
    quantities = _quantities(numbers)
    if not (min(quantities) >= 0.0 and math.isfinite(sum(quantities))):
        for value in quantities:
            if not math.isfinite(value) or value < 0:
                return "quantity_negative"
    return None
