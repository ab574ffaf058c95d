"""The depth tee's compiled handler on records bent past what the loopback front sends: the
vendor's struct (laid out from the pinned header, as the tee library receives it) goes to
``DepthTee.feed``; a record it declines takes the dict fast path, as the tee forwards it to
the wrapper. The frames must be vn.py's own path's (the pinned gateway's callback fed the
dict the wrapper would build from that struct), or nothing when vn.py sends nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateways.depthtee import build
from gateways.depthtee.layout import record_struct, to_struct
from gateways.depthtee.tee import handler_module
from gateways.loopback.front import Quirks
from tests.test_fast_path_equivalence import FUTURES, OPTIONS, Pair, records, same_frames

DBL_MAX = sys.float_info.max


def wrapper_dict(struct: ctypes.Structure) -> dict[str, Any]:
    """What vnctpmd / vnsoptmd build from the struct (``toUtf`` for text, as is for numbers)."""
    out: dict[str, Any] = {}
    for name, kind in struct._fields_:  # type: ignore[misc]
        value = getattr(struct, name)
        out[name] = value.decode("gb18030") if issubclass(kind, ctypes.Array) else value
    return out


@pytest.fixture(scope="module")
def setup() -> dict[str, Any]:
    build.main()
    monkeypatch = pytest.MonkeyPatch()
    pairs = {"ctp": Pair("ctp", monkeypatch), "sopt": Pair("sopt", monkeypatch)}
    monkeypatch.undo()
    out: dict[str, Any] = {}
    for flavour, pair in pairs.items():
        cls = record_struct(flavour)
        module = handler_module(flavour)
        assert ctypes.sizeof(cls) == module.record_size()  # the layout the handler was built with
        out[flavour] = (pair, cls, module.DepthTee(pair.fast.fast_path))  # type: ignore[attr-defined]
    return out


def feed_both(
    setup: dict[str, Any], flavour: str, record: dict[str, Any]
) -> tuple[list[Any], list[Any], int]:
    pair, cls, tee = setup[flavour]
    struct = to_struct(cls, record)
    data = wrapper_dict(struct)
    slow_before, fast_before = len(pair.slow_sender.frames), len(pair.fast_sender.frames)
    # vn.py raises on some bent records: it sends nothing then.
    with contextlib.suppress(Exception):
        pair.slow.gateway.md_api.onRtnDepthMarketData(dict(data))
    taken = tee.feed(ctypes.string_at(ctypes.addressof(struct), ctypes.sizeof(struct)))
    if not taken:
        pair.fast.gateway.md_api.onRtnDepthMarketData(dict(data))  # what the tee forwards
    return pair.slow_sender.frames[slow_before:], pair.fast_sender.frames[fast_before:], taken


QUIRKS = [
    Quirks(),
    Quirks(empty_levels=4),
    Quirks(empty_levels=5, dbl_max=False),
    Quirks(exchange_days=False, czce_whole_seconds=False),
]


@pytest.mark.parametrize("quirks", QUIRKS, ids=repr)
def test_the_front_s_records_are_taken_and_give_vnpys_frames(setup: dict[str, Any], quirks: Quirks) -> None:
    for flavour, products in (("ctp", FUTURES), ("sopt", OPTIONS)):
        pair = setup[flavour][0]
        pair.reset()
        taken_count = 0
        slow: list[Any] = []
        fast: list[Any] = []
        for record in records(products, quirks):
            s, f, taken = feed_both(setup, flavour, record)
            slow += s
            fast += f
            taken_count += taken
        assert fast and taken_count == len(records(products, quirks))  # every one compiled
        same_frames(slow, fast)


DOUBLES = st.sampled_from([DBL_MAX, 1e301, 0.0, -1.0, math.nan, math.inf, 7.5])
INTS = st.sampled_from([0, 1, 7, -1, 2**31 - 1])
DOUBLE_KEYS = ["LastPrice", "OpenPrice", "HighestPrice", "LowestPrice", "PreClosePrice", "UpperLimitPrice"]
DOUBLE_KEYS += ["Turnover", "OpenInterest", *(f"{s}Price{n}" for s in ("Bid", "Ask") for n in range(1, 6))]
INT_KEYS = ["Volume", *(f"{s}Volume{n}" for s in ("Bid", "Ask") for n in range(1, 6))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    index=st.integers(0, len(FUTURES) + len(OPTIONS) - 1),
    doubles=st.dictionaries(st.sampled_from(DOUBLE_KEYS), DOUBLES, max_size=4),
    ints=st.dictionaries(st.sampled_from(INT_KEYS), INTS, max_size=3),
    millis=st.sampled_from([None, 0, 5, 99, 100, 999, 1000, -1, 12345]),
    update_time=st.sampled_from([None, "", "9:05:03", "25:00:00", "12:00:60", "12:00"]),
    action_day=st.sampled_from([None, "", "19900101", "2025", "２０２５"]),
    symbol_suffix=st.sampled_from(["", "x", "合约"]),
    empty_levels=st.integers(0, 5),
)
def test_any_bent_record_gives_vnpys_frame_or_none_through_the_tee(
    setup: dict[str, Any],
    index: int,
    doubles: dict[str, float],
    ints: dict[str, int],
    millis: int | None,
    update_time: str | None,
    action_day: str | None,
    symbol_suffix: str,
    empty_levels: int,
) -> None:
    products = FUTURES + OPTIONS
    flavour = "sopt" if products[index].exchange == "SSE" else "ctp"
    setup[flavour][0].reset()
    record = records([products[index]], Quirks(empty_levels=empty_levels), rounds=1)[0]
    record.update(doubles)
    record.update(ints)
    record["InstrumentID"] += symbol_suffix
    for key, value in (("UpdateMillisec", millis), ("UpdateTime", update_time), ("ActionDay", action_day)):
        if value is not None:
            record[key] = value
    slow, fast, _ = feed_both(setup, flavour, record)
    same_frames(slow, fast)
