"""The fast tick path (gateways.kinds.fast_record) makes byte for byte the frames the vn.py
path makes, for the same record: the real pinned CtpGateway/SoptGateway md API callback
(``onRtnDepthMarketData`` → ``TickData`` → ``TickEmitter.emit``) against the fast subclass,
on records the loopback front builds (``depth_fields``) with each of its quirks — DBL_MAX,
DCE and CZCE dates, empty book levels, the 5-level book rule, CZCE whole seconds — and then
on records hypothesis bends further (empty values, odd milliseconds, bad stamps). The
compiled path (aggregation/_emit_core.pyx: one C call from the record to the frame) and the
Python one (``MDHUB_PURE_PYTHON=1``) are both held to it; the compiled codec is compared with
its pure-Python twin in either mode.
"""

from __future__ import annotations

import contextlib
import math
import random
import sys
import time
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregation import emit_core, tick_codec_py
from aggregation.cleanse import Cleanser
from aggregation.wire import NUMBER_FIELDS
from bench.stream import CaptureSender
from gateways.kinds.base import TickEmitter
from gateways.loopback.front import Quirks, depth_fields
from gateways.simexchange import ContractSim, contract_universe

DBL_MAX = sys.float_info.max
FUTURES = [p for p in contract_universe(60) if p.exchange != "SSE"]
OPTIONS = [p for p in contract_universe(200) if p.exchange == "SSE"][:6]
CONTRACTS = [
    {"symbol": p.symbol, "exchange": p.exchange, "name": p.name, "product": "期权" if p.is_option else "期货"}
    for p in FUTURES + OPTIONS
]


class Pair:
    """The same kind built twice on capturing emitters: vn.py's tick path and the fast one."""

    def __init__(self, gateway_type: str, monkeypatch: pytest.MonkeyPatch) -> None:
        from gateways.kinds import kind_class

        spec = {"account": "alice-" + gateway_type, "settings": {}, "contracts": CONTRACTS}
        cls = kind_class(gateway_type)
        self.slow_sender, self.fast_sender = CaptureSender("alice"), CaptureSender("alice")
        self.slow_cleanser, self.fast_cleanser = Cleanser(), Cleanser()
        with monkeypatch.context() as m:
            m.setenv("MDHUB_VNPY_TICKS", "1")
            self.slow = cls(spec, TickEmitter(self.slow_sender, self.slow_cleanser))
        self.fast = cls(spec, TickEmitter(self.fast_sender, self.fast_cleanser))
        assert self.fast.fast_path is not None  # type: ignore[attr-defined]
        assert self.slow.fast_path is None  # type: ignore[attr-defined]
        # The path under test: the compiled one wherever it is built (CI builds it).
        compiled_path = self.fast.fast_path.on_depth != self.fast.fast_path.on_depth_py  # type: ignore[attr-defined]
        assert compiled_path == emit_core.COMPILED

    def reset(self) -> None:
        """Forget each contract's last volume and time (the rules' state), on both paths."""
        for cleanser in (self.slow_cleanser, self.fast_cleanser):
            cleanser._contracts.clear()

    def feed(self, record: dict[str, Any]) -> tuple[list[tuple[bytes, bytes, bytes]], ...]:
        slow_before, fast_before = len(self.slow_sender.frames), len(self.fast_sender.frames)
        # vn.py raises what it raises on a bad record; the fast path must then send nothing.
        with contextlib.suppress(Exception):
            self.slow.gateway.md_api.onRtnDepthMarketData(dict(record))  # type: ignore[attr-defined]
        self.fast.gateway.md_api.onRtnDepthMarketData(dict(record))  # type: ignore[attr-defined]
        return self.slow_sender.frames[slow_before:], self.fast_sender.frames[fast_before:]


def same_frames(slow: list[tuple[bytes, bytes, bytes]], fast: list[tuple[bytes, bytes, bytes]]) -> None:
    assert len(slow) == len(fast)
    for (s_topic, s_key, s_body), (f_topic, f_key, f_body) in zip(slow, fast, strict=True):
        assert f_topic == s_topic
        assert f_key == s_key
        # recv_ns, the body's last field (a uint64), is stamped at each path's own receive.
        assert s_body[-9] == f_body[-9] == 0xCF
        assert f_body[:-8] == s_body[:-8], (msgpack.unpackb(s_body), msgpack.unpackb(f_body))


@pytest.fixture(scope="module")
def pairs() -> Iterator[dict[str, Pair]]:
    monkeypatch = pytest.MonkeyPatch()
    yield {"ctp": Pair("ctp", monkeypatch), "sopt": Pair("sopt", monkeypatch)}
    monkeypatch.undo()


def records(products: list[Any], quirks: Quirks, rounds: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(11)
    sims = [ContractSim(p, rng) for p in products]
    out = []
    now = time.time_ns()
    for r in range(rounds):
        for sim in sims:
            out.append(depth_fields(sim.step(now + r * 500_000_000 - 2_000_000_000), quirks, 0.0))
    return out


QUIRKS = [
    Quirks(),
    Quirks(dbl_max=False),
    Quirks(empty_levels=1),
    Quirks(empty_levels=4),
    Quirks(empty_levels=5),
    Quirks(exchange_days=False),
    Quirks(czce_whole_seconds=False),
]


@pytest.mark.parametrize("quirks", QUIRKS, ids=repr)
def test_ctp_fast_path_frames_are_the_vnpy_paths_for_every_front_quirk(
    pairs: dict[str, Pair], quirks: Quirks
) -> None:
    pair = pairs["ctp"]
    pair.reset()
    batch = records(FUTURES, quirks)
    slow, fast = [], []
    for record in batch:
        s, f = pair.feed(record)
        slow += s
        fast += f
    assert len(fast) > len(batch) // 2  # real ticks, not an empty comparison
    same_frames(slow, fast)
    exchanges = {msgpack.unpackb(body)["exchange"] for _, _, body in fast}
    assert {"DCE", "CZCE", "SHFE"} <= exchanges


@pytest.mark.parametrize("quirks", QUIRKS, ids=repr)
def test_sopt_fast_path_frames_are_the_vnpy_paths_for_every_front_quirk(
    pairs: dict[str, Pair], quirks: Quirks
) -> None:
    pair = pairs["sopt"]
    pair.reset()
    batch = records(OPTIONS, quirks)
    slow, fast = [], []
    for record in batch:
        s, f = pair.feed(record)
        slow += s
        fast += f
    assert fast
    same_frames(slow, fast)


@pytest.mark.parametrize("update_time", ["10:00:01", "23:59:59", "00:00:00", "9:05:03", "12:00", "ab:cd:ef"])
def test_a_dce_tick_is_dated_and_leaves_current_date_as_on_the_vnpy_path(
    pairs: dict[str, Pair], update_time: str
) -> None:
    """DCE ticks (and any without ActionDay) take their date from ``ExchangeDate``: the
    compiled path reads the day's dates in C and asks Python only for a new day or a stamp
    that is not ``HH:MM:SS`` digits."""
    pair = pairs["ctp"]
    pair.reset()
    dce = [p for p in FUTURES if p.exchange == "DCE"][:1]
    assert dce
    for action_day in ("", "20250101"):
        record = records(dce, Quirks(), rounds=1)[0]
        record["UpdateTime"], record["ActionDay"] = update_time, action_day
        pair.slow.gateway.md_api.current_date = pair.fast.gateway.md_api.current_date = ""  # type: ignore[attr-defined]
        slow, fast = pair.feed(record)
        same_frames(slow, fast)
        assert pair.fast.gateway.md_api.current_date == pair.slow.gateway.md_api.current_date  # type: ignore[attr-defined]
        assert pair.fast.gateway.md_api.current_date == pair.fast.exchange_date.for_time(update_time)  # type: ignore[attr-defined]


def test_empty_levels_become_zero_and_the_deep_book_follows_the_five_level_rule(
    pairs: dict[str, Pair],
) -> None:
    pair = pairs["ctp"]
    pair.reset()
    record = records(FUTURES[:1], Quirks(empty_levels=4), rounds=1)[0]
    record["BidVolume2"] = record["AskVolume2"] = 0  # vn.py then leaves levels 2-5 at 0
    slow, fast = pair.feed(record)
    same_frames(slow, fast)
    body = msgpack.unpackb(fast[0][2])
    assert body["bid_price_2"] == 0 and type(body["bid_price_2"]) is int
    assert body["limit_up"] == record["UpperLimitPrice"]


EDGE_VALUES = st.sampled_from([DBL_MAX, 1e301, 0, 0.0, -1.0, math.nan, math.inf, 7, 2**40, -(2**40)])
PRICE_KEYS = [
    "LastPrice",
    "OpenPrice",
    "HighestPrice",
    "LowestPrice",
    "PreClosePrice",
    "UpperLimitPrice",
    "LowerLimitPrice",
    "Volume",
    "Turnover",
    "OpenInterest",
    *(f"{side}{what}{n}" for side in ("Bid", "Ask") for what in ("Price", "Volume") for n in range(1, 6)),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    index=st.integers(0, len(FUTURES) + len(OPTIONS) - 1),
    changes=st.dictionaries(st.sampled_from(PRICE_KEYS), EDGE_VALUES, max_size=4),
    millis=st.sampled_from([None, 0, 5, 99, 100, 999, 1000, -1, 12345]),
    update_time=st.sampled_from([None, "", "9:05:03", "25:00:00", "12:00:60", "12:00"]),
    action_day=st.sampled_from([None, "", "19900101", "2025"]),
    empty_levels=st.integers(0, 5),
)
def test_any_bent_record_gives_the_same_frame_or_none_on_both_paths(
    pairs: dict[str, Pair],
    index: int,
    changes: dict[str, Any],
    millis: int | None,
    update_time: str | None,
    action_day: str | None,
    empty_levels: int,
) -> None:
    products = FUTURES + OPTIONS
    pair = pairs["sopt" if products[index].exchange == "SSE" else "ctp"]
    pair.reset()
    record = records([products[index]], Quirks(empty_levels=empty_levels), rounds=1)[0]
    record.update(changes)
    if millis is not None:
        record["UpdateMillisec"] = millis
    if update_time is not None:
        record["UpdateTime"] = update_time
    if action_day is not None:
        record["ActionDay"] = action_day
    slow, fast = pair.feed(record)
    same_frames(slow, fast)


def compiled_codec() -> Any:
    """The compiled codec itself, also under ``MDHUB_PURE_PYTHON=1`` (which only stops the
    worker from using it)."""
    try:
        from aggregation import _tick_codec  # type: ignore[attr-defined]
    except ImportError:
        pytest.fail("the compiled codec is not built: python -m aggregation.build_ext")
    return _tick_codec


@pytest.mark.parametrize("seed", range(5))
def test_compiled_codec_and_its_python_twin_write_the_same_bytes(seed: int) -> None:
    codec = compiled_codec()
    rng = random.Random(seed)
    prefix = tick_codec_py.body_prefix("rb2601", "SHFE", "螺纹钢" * seed)
    pool: list[Any] = [
        0,
        0.0,
        -0.0,
        1,
        127,
        128,
        255,
        256,
        65535,
        65536,
        2**32 - 1,
        2**32,
        2**63,
        2**64 - 1,
        -1,
        -32,
        -33,
        -128,
        -129,
        -32768,
        -32769,
        -(2**31),
        -(2**31) - 1,
        -(2**63),
        True,
        False,
        None,
        DBL_MAX,
        math.nan,
        math.inf,
        -math.inf,
        3.14,
        "x",
    ]
    for _ in range(200):
        numbers = [rng.choice(pool) for _ in NUMBER_FIELDS]
        dt_ns, recv_ns = rng.choice([0, -5, 2**62, time.time_ns()]), time.time_ns()
        local = rng.choice([None, 5, time.time_ns()])
        compiled = codec.encode_body(prefix, numbers, dt_ns, local, recv_ns)
        assert compiled == tick_codec_py.encode_body(prefix, numbers, dt_ns, local, recv_ns)
    for value in (2**64, -(2**63) - 1):
        with pytest.raises(OverflowError):
            tick_codec_py.encode_body(prefix, [value] * len(NUMBER_FIELDS), 0, None, 0)
        with pytest.raises(OverflowError):
            codec.encode_body(prefix, [value] * len(NUMBER_FIELDS), 0, None, 0)


def test_compiled_ctp_numbers_match_the_python_twin() -> None:
    codec = compiled_codec()
    for quirks in QUIRKS:
        for record in records(FUTURES + OPTIONS, quirks, rounds=1):
            for sopt in (False, True):
                assert codec.ctp_numbers(record, sopt) == tick_codec_py.ctp_numbers(record, sopt)
                assert [type(v) for v in codec.ctp_numbers(record, sopt)] == [
                    type(v) for v in tick_codec_py.ctp_numbers(record, sopt)
                ]


def test_the_sim_kinds_fast_path_frames_are_the_tickdata_paths() -> None:
    from gateways.kinds.fast_record import SimRecordPath
    from gateways.kinds.sim import SimKind, _garble

    rng = random.Random(3)
    sims = [ContractSim(p, rng) for p in FUTURES + OPTIONS]
    slow_sender, fast_sender = CaptureSender("bob"), CaptureSender("bob")
    spec = {"account": "bob", "settings": {}, "sim_addr": "inproc://unused"}
    kind = SimKind(spec, TickEmitter(slow_sender, Cleanser()))
    kind.subscribe_all = True
    kind._fast = SimRecordPath(TickEmitter(CaptureSender("nobody"), Cleanser()), set())  # takes nothing
    fast = SimRecordPath(TickEmitter(fast_sender, Cleanser()), set(kind._exchanges))
    now = time.time_ns()
    for r in range(4):
        for sim in sims:
            snap = sim.step(now + r * 500_000_000 - 2_000_000_000)
            if r == 3:
                snap = _garble(snap, rng)
            kind._deliver(dict(snap))
            assert fast.deliver(dict(snap))
    assert len(fast_sender.frames) > len(sims)
    same_frames(slow_sender.frames, fast_sender.frames)


@settings(max_examples=500, deadline=None)
@given(
    changes=st.dictionaries(
        st.integers(0, len(NUMBER_FIELDS) - 1),
        st.one_of(EDGE_VALUES, st.sampled_from(["x", True, None, 2**60, 10**400]), st.floats()),
        max_size=6,
    )
)
def test_compiled_stateless_rules_match_the_python_twin(changes: dict[int, Any]) -> None:
    codec = compiled_codec()
    numbers: list[Any] = [float(100 + i) for i in range(len(NUMBER_FIELDS))]
    for index, value in changes.items():
        numbers[index] = value
    compiled_numbers, twin_numbers = list(numbers), list(numbers)

    def outcome(rule: Any, values: list[Any]) -> tuple[Any, ...]:
        try:
            return ("rule", rule(values), values)
        except Exception as exc:  # noqa: BLE001 - the same error type on both is the point
            return ("raised", type(exc))

    compiled = outcome(codec.stateless_rule, compiled_numbers)
    twin = outcome(tick_codec_py.stateless_rule, twin_numbers)
    if compiled[0] == "rule" and compiled[1] is None:
        assert [repr(v) for v in compiled_numbers] == [repr(v) for v in twin_numbers]
    assert compiled[:2] == twin[:2]
