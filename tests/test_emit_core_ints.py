"""The compiled tick path at the edges of the ints it takes in C (aggregation/_emit_core.pyx
``classify``: below 2**53, exact as a double) and of the msgpack formats it writes them in
(aggregation/_msgpack_write.pxd): the frame is the Python path's, byte for byte, on either
side of each edge."""

from __future__ import annotations

import time
from typing import Any

import pytest

from aggregation import emit_core
from aggregation.cleanse import Cleanser
from aggregation.tick_codec_py import body_prefix
from aggregation.wire import NUMBER_FIELDS, content_hash_key, topic_for
from bench.stream import CaptureSender
from gateways.kinds.base import TickEmitter

EXACT = 2**53
# Either side of 2**53 and of each msgpack int format (uint 8/16/32/64).
EDGES = [0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, EXACT - 1, EXACT, EXACT + 1, 2**63, 2**64 - 1]
_I = {name: i for i, name in enumerate(NUMBER_FIELDS)}


def numbers_with(volume: int, open_interest: int) -> list[Any]:
    numbers: list[Any] = [0.0] * len(NUMBER_FIELDS)
    numbers[_I["volume"]] = volume
    numbers[_I["open_interest"]] = open_interest
    numbers[_I["last_price"]] = 3100.0
    numbers[_I["bid_price_1"]], numbers[_I["ask_price_1"]] = 3099.0, 3101.0
    return numbers


def compiled_core() -> Any:
    if not emit_core.COMPILED:
        pytest.fail("the compiled tick path is not built: python -m aggregation.build_ext")
    return emit_core.core_module


def test_ints_either_side_of_each_edge_make_the_python_paths_frame() -> None:
    compiled_core()
    fast_sender, slow_sender = CaptureSender("alice"), CaptureSender("alice")
    fast = TickEmitter(fast_sender, Cleanser())
    slow = TickEmitter(slow_sender, Cleanser(compiled=False))
    assert fast.core is not None and slow.core is None
    now = time.time_ns()
    for n, volume in enumerate(EDGES):
        vt_symbol = f"rb{2601 + n}.SHFE"  # a contract each: no volume_backwards
        prefix = body_prefix(vt_symbol.split(".")[0], "SHFE", "螺纹钢")
        for emitter in (fast, slow):
            emitter.emit_numbers(
                vt_symbol, topic_for(vt_symbol), prefix, numbers_with(volume, volume), now, now + 7
            )
    assert len(fast_sender.frames) == len(EDGES)
    assert fast_sender.frames == slow_sender.frames


@pytest.mark.parametrize("value", [0, 1, -1, -33, -(2**31) - 1, 2**32, EXACT - 1, -EXACT + 1, 3.5])
def test_the_c_key_is_the_python_key_for_ints_below_2_53(value: int | float) -> None:
    core = compiled_core()
    numbers = numbers_with(0, 0)
    numbers[_I["turnover"]] = value
    dt_ns = time.time_ns()
    assert core.content_key_of(numbers, dt_ns) == content_hash_key(dt_ns, numbers)


@pytest.mark.parametrize("value", [EXACT, -EXACT, EXACT + 1, 2**63, 2**64 - 1, -(2**63)])
def test_an_int_from_2_53_up_is_not_read_in_c(value: int) -> None:
    # As a double it would no longer be exact: the tick takes the Python path.
    core = compiled_core()
    numbers = numbers_with(0, 0)
    numbers[_I["turnover"]] = value
    with pytest.raises(ValueError, match="floats and small ints only"):
        core.content_key_of(numbers, time.time_ns())
