"""The worker's compiled tick path (aggregation/_emit_core.pyx) against the Python one it
replaces: the cleanser's rules and counts for any sequence of ticks, the frame it writes
straight to a real ZeroMQ socket, its per-thread sockets, a full queue counted as dropped,
and tests/test_cleanse.py run again on the Python rules (``MDHUB_PURE_PYTHON=1``).

tests/test_fast_path_equivalence.py holds the whole path (vendor record → frame) to vn.py's.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregation import emit_core, tick_codec_py
from aggregation.cleanse import Cleanser
from aggregation.sessions import CHINA_TZ, default_calendar
from aggregation.wire import NUMBER_FIELDS, content_hash_key, datetime_ns, tick_frame, topic_for
from gateways.kinds.base import Sender, TickEmitter

ROOT = Path(__file__).resolve().parent.parent
PURE = os.environ.get("MDHUB_PURE_PYTHON") == "1"
DBL_MAX = sys.float_info.max
# A Wednesday, 10:00 in Shanghai: the day session is open.
OPEN_NS = datetime_ns(datetime(2026, 11, 18, 10, 0, 0, tzinfo=CHINA_TZ))
SECOND = 1_000_000_000
_I = {name: i for i, name in enumerate(NUMBER_FIELDS)}


def normal_numbers(last: float = 3100.0, volume: Any = 1000) -> list[Any]:
    numbers: list[Any] = [0.0] * len(NUMBER_FIELDS)
    numbers[_I["volume"]] = volume
    numbers[_I["turnover"]] = 3.1e7
    numbers[_I["open_interest"]] = 2e5
    numbers[_I["last_price"]] = last
    numbers[_I["limit_up"]] = 3300.0
    numbers[_I["limit_down"]] = 2900.0
    for level in range(1, 6):
        numbers[_I[f"bid_price_{level}"]] = last - level
        numbers[_I[f"ask_price_{level}"]] = last + level
        numbers[_I[f"bid_volume_{level}"]] = 10
        numbers[_I[f"ask_volume_{level}"]] = 12
    return numbers


def test_the_compiled_path_is_the_one_under_test_unless_pure_python_is_asked() -> None:
    emitter = TickEmitter(Sender(zmq.Context.instance(), "inproc://unused", "alice"), Cleanser())
    if PURE:
        assert emitter.core is None and not emit_core.COMPILED
    else:
        assert emit_core.COMPILED, "the compiled tick path is not built: python -m aggregation.build_ext"
        assert emitter.core is not None and emitter.emit_numbers == emitter.core.emit_numbers


# -- the cleanser: compiled rules over C state against the Python rules -------------------

ODD = st.sampled_from([DBL_MAX, 1e301, 0, 0.0, -0.0, -1.0, math.nan, math.inf, 2**40, 2**60, "x", None, True])
TICK = st.fixed_dictionaries(
    {
        "contract": st.sampled_from(["rb2601.SHFE", "m2605.DCE", "10008888.SSE"]),
        "step_s": st.sampled_from([0, 1, 30, 3600, 4 * 3600, 13 * 3600, -5, -400]),
        "volume": st.one_of(st.integers(0, 3000), st.floats(0, 3000), st.sampled_from([-1, 2**60])),
        "last": st.sampled_from([3100.0, 3100.5, 0.0, 3400.0, 2800.0, 3100]),
        "crossed": st.sampled_from([0, 0, 1, 2]),
        # Mostly clean ticks, so the stateful rules get to speak.
        "changes": st.one_of(
            st.just({}), st.just({}), st.dictionaries(st.integers(0, len(NUMBER_FIELDS) - 1), ODD, max_size=2)
        ),
    }
)


@settings(max_examples=300, deadline=None)
@given(ticks=st.lists(TICK, min_size=1, max_size=25), calendar=st.booleans(), skew_s=st.sampled_from([0, 90]))
def test_the_compiled_cleanser_gives_the_python_rules_results_for_any_sequence(
    ticks: list[dict[str, Any]], calendar: bool, skew_s: int
) -> None:
    if PURE:
        assert Cleanser()._core is None
        return
    # The machine's clock follows the ticks (``skew_s`` ahead), so they pass after a gap.
    clock = [OPEN_NS]
    cal = default_calendar() if calendar else None
    compiled = Cleanser(calendar=cal, clock_ns=lambda: clock[0])
    python = Cleanser(calendar=cal, clock_ns=lambda: clock[0], compiled=False)
    assert compiled._core is not None and python._core is None
    dt_ns = OPEN_NS
    for tick in ticks:
        dt_ns += tick["step_s"] * SECOND
        clock[0] = dt_ns + skew_s * SECOND
        numbers = normal_numbers(tick["last"], tick["volume"])
        if tick["crossed"]:
            numbers[_I["bid_price_1"]] = numbers[_I["ask_price_1"]] + tick["crossed"] - 1  # 0: a locked book
        for index, value in tick["changes"].items():
            numbers[index] = value
        mine, theirs = list(numbers), list(numbers)
        assert compiled.check_values(tick["contract"], mine, dt_ns) == python.check_values(
            tick["contract"], theirs, dt_ns
        )
        assert [repr(v) for v in mine] == [repr(v) for v in theirs]
    assert compiled.counts() == python.counts()
    assert compiled.passed == python.passed


def test_a_setting_changed_after_the_start_reaches_the_compiled_rules() -> None:
    c = Cleanser(clock_ns=lambda: OPEN_NS)
    assert c.check_values("rb2601.SHFE", normal_numbers(), OPEN_NS) is None
    c.clock_ns = lambda: OPEN_NS + 3600 * SECOND
    assert c.check_values("rb2601.SHFE", normal_numbers(), OPEN_NS + SECOND) == "clock_skew"
    c.max_skew_ns = 7200 * SECOND
    assert c.check_values("rb2601.SHFE", normal_numbers(), OPEN_NS + 2 * SECOND) is None
    c.calendar = default_calendar()
    night = OPEN_NS + 6 * 3600 * SECOND  # 16:00: no session
    c.clock_ns = lambda: night
    assert c.check_values("rb2601.SHFE", normal_numbers(volume=2000), night) == "outside_session"
    assert c.passed == 2 and c.counts() == {"clock_skew": 1, "outside_session": 1}


def test_tests_test_cleanse_pass_on_the_python_rules_too() -> None:
    env = dict(os.environ, MDHUB_PURE_PYTHON="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_cleanse.py", "-q", "-x"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout


# -- the frame on a real socket -----------------------------------------------------------


@pytest.fixture
def ingest() -> Iterator[tuple[zmq.Context[Any], str, zmq.Socket[Any]]]:
    ctx: zmq.Context[Any] = zmq.Context()
    with tempfile.TemporaryDirectory(prefix="mdhub-emit-") as run_dir:
        address = f"ipc://{run_dir}/ingest.ipc"
        pull = ctx.socket(zmq.PULL)
        pull.setsockopt(zmq.RCVTIMEO, 2000)
        pull.bind(address)
        yield ctx, address, pull
        pull.close(linger=0)
    ctx.destroy(linger=0)


def expected_frame(
    account: str, vt_symbol: str, prefix: bytes, numbers: list[Any], dt: int, recv: int
) -> bytes:
    """The frame the Python path makes: the twin codec, wire's key and frame."""
    normalised = list(numbers)
    assert tick_codec_py.stateless_rule(normalised) is None
    body = tick_codec_py.encode_body(prefix, normalised, dt, None, recv)
    return tick_frame(account.encode(), topic_for(vt_symbol), content_hash_key(dt, normalised), body)


def test_a_real_sender_gets_byte_for_byte_the_python_paths_frame(
    ingest: tuple[zmq.Context[Any], str, zmq.Socket[Any]],
) -> None:
    ctx, address, pull = ingest
    emitter = TickEmitter(Sender(ctx, address, "alice"), Cleanser())
    prefix = tick_codec_py.body_prefix("rb2601", "SHFE", "螺纹钢")
    cases: list[list[Any]] = []
    for k in range(40):
        numbers = normal_numbers(3100.0 + k * 0.2, 1000 + k)
        if k % 3 == 0:
            numbers[_I["ask_price_5"]] = DBL_MAX  # CTP's empty level: 0.0 in the frame
        if k % 4 == 0:
            numbers[_I["open_interest"]] = 2**40 + k  # an int in a float's place
        if k % 5 == 0:
            numbers[_I["bid_volume_3"]] = 70_000  # uint32 width
        cases.append(numbers)
    dt = time.time_ns() // 1000 * 1000
    for k, numbers in enumerate(cases):
        emitter.emit_numbers("rb2601.SHFE", topic_for("rb2601.SHFE"), prefix, list(numbers), dt + k, 17 + k)
    for k, numbers in enumerate(cases):
        assert pull.recv() == expected_frame("alice", "rb2601.SHFE", prefix, numbers, dt + k, 17 + k)
    assert emitter.received == emitter.sent == len(cases)


def test_each_thread_sends_on_its_own_socket(ingest: tuple[zmq.Context[Any], str, zmq.Socket[Any]]) -> None:
    ctx, address, pull = ingest
    sender = Sender(ctx, address, "bob")
    emitter = TickEmitter(sender, Cleanser())
    prefix = tick_codec_py.body_prefix("m2605", "DCE", "豆粕")
    dt = time.time_ns()

    turn = threading.Lock()
    # Every thread stays alive to the end (a finished thread's id may be given to the next).
    done = threading.Barrier(3)

    def burst(first: int) -> None:
        with turn:  # one at a time: volumes rise from one burst to the next
            for k in range(first, first + 50):
                emitter.emit_numbers(
                    "m2605.DCE", topic_for("m2605.DCE"), prefix, normal_numbers(volume=k), dt + k, k
                )
        done.wait(timeout=10)

    threads = [threading.Thread(target=burst, args=(first,)) for first in (0, 1000)]
    threads[0].start()
    time.sleep(0.2)
    threads[1].start()
    time.sleep(0.2)
    with turn:
        pass
    burst(2000)
    for thread in threads:
        thread.join()
    frames = {pull.recv() for _ in range(150)}
    assert len(frames) == 150
    assert len(sender._by_thread) == 3  # two threads and this one
    assert emitter.sent == 150


def test_a_full_queue_is_dropped_and_counted_as_on_the_python_path() -> None:
    ctx: zmq.Context[Any] = zmq.Context()
    prefix = tick_codec_py.body_prefix("rb2601", "SHFE", "螺纹钢")
    counts = []
    try:
        for compiled in (True, False):
            # Nobody binds the address: with IMMEDIATE every send finds no peer (EAGAIN).
            sender = Sender(ctx, f"ipc://{tempfile.gettempdir()}/mdhub-nobody-{os.getpid()}.ipc", "carol")
            emitter = TickEmitter(sender, Cleanser(compiled=compiled))
            assert (emitter.core is not None) == (compiled and not PURE)
            now = time.time_ns()
            for k in range(5):
                emitter.emit_numbers(
                    "rb2601.SHFE", topic_for("rb2601.SHFE"), prefix, normal_numbers(), now + k, k
                )
            counts.append((emitter.received, emitter.sent, sender.dropped, emitter.cleanser.counts()))
    finally:
        ctx.destroy(linger=0)
    assert counts[0] == counts[1]
    assert counts[0][2] == 5
