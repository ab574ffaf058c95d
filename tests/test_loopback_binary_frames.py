"""The loopback wire's binary depth record (``B``: the vendor's struct bytes, memcpy'd by the
loopback md library) gives byte for byte the ingest frames of the text record (``D``:
Key=Value lines the library parses), for the same snapshots: the pinned CtpGateway and
SoptGateway in real worker processes (depth tee on, as workers run), logged in to one real
loopback front over TCP, one connection per flavour set to each frame (the ``depth_frame``
setting per user), every front quirk switched phase by phase. Beside it: the struct the
front packs is the one ctypes lays out from the vendor header, and a burst round's binary
records are the front's own for the same snapshot.
"""

from __future__ import annotations

import ctypes
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import msgpack
import pytest

from aggregation.exchange_time import CHINA_TZ
from bench.loopback_wire import build_harness, deliver
from gateways.depthtee.build import main as build_tee
from gateways.depthtee.layout import record_struct, to_struct
from gateways.loopback.burst import MarketContent, build_binary_round, depth_template, market_products
from gateways.loopback.depth_struct import packer
from gateways.loopback.front import DEPTH_FRAME_ENV, Quirks, binary_frame, depth_fields
from gateways.simexchange import PRODUCTS, ContractSim, contract_universe
from tests.loopback_helpers import PROJECT, LoopbackWorkers, LoopbackWorld, workers_on_loopback
from tests.test_depth_tee_equivalence import PHASES, SETTLE_S, by_record

FRAMES = ("text", "binary")
# One worker per flavour and frame, on the default depth path (the tee, as workers run).
ACCOUNTS: dict[str, tuple[str, dict[str, str]]] = {
    f"{flavour}-{frame}": (flavour, {}) for flavour in ("ctp", "sopt") for frame in FRAMES
}
PHASE_S = 2.2
QUIRK_SETS = [
    Quirks(),
    Quirks(empty_levels=4),
    Quirks(empty_levels=5, dbl_max=False),
    Quirks(exchange_days=False, czce_whole_seconds=False, empty_levels=1),
]


def struct_bytes(flavour: str, record: dict[str, Any]) -> bytes:
    cls = record_struct(flavour)
    out = to_struct(cls, record)
    return ctypes.string_at(ctypes.addressof(out), ctypes.sizeof(out))


@pytest.mark.parametrize("flavour", ["ctp", "sopt"])
@pytest.mark.parametrize("quirks", QUIRK_SETS, ids=repr)
def test_the_packed_record_is_the_struct_ctypes_lays_out_from_the_vendor_header(
    flavour: str, quirks: Quirks
) -> None:
    products = [p for p in contract_universe(120) if (p.exchange == "SSE") == (flavour == "sopt")]
    rng = random.Random(5)
    sims = [ContractSim(p, rng) for p in products]
    packed = packer(flavour)
    for sim in sims:
        record = depth_fields(sim.step(time.time_ns()), quirks, 0.0)
        assert packed.pack(record) == struct_bytes(flavour, record), sim.product.symbol
    # The frame: length (type byte included), type, the struct.
    frame = binary_frame(record, flavour)
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4 == packed.size + 1 and frame[4:5] == b"B"


def test_a_name_longer_than_its_field_is_cut_as_the_text_parse_cuts_it() -> None:
    record = {"InstrumentID": "x" * 200, "ExchangeID": "交易所很长的名字", "Volume": 7.9, "LastPrice": 1}
    raw = packer("ctp").pack(record)
    assert raw == struct_bytes("ctp", record)
    cls = record_struct("ctp")
    back = cls.from_buffer_copy(raw)
    assert back.InstrumentID == b"x" * 80 and back.Volume == 7 and back.LastPrice == 1.0


def stamp(text: str) -> int:
    local = datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)
    return int(local.timestamp()) * 1_000_000_000 + local.microsecond * 1_000


@pytest.mark.parametrize("when", ["2026-12-01 10:14:59.500", "2026-12-04 23:59:59.500"])
@pytest.mark.parametrize("quirks", [Quirks(), Quirks(empty_levels=2, exchange_days=False, dbl_max=False)])
def test_a_binary_burst_record_is_the_front_s_binary_record_for_the_same_snapshot(
    when: str, quirks: Quirks
) -> None:
    by_exchange = {p.exchange: p for p in reversed(market_products(len(PRODUCTS) + 20))}
    products = list(by_exchange.values())
    assert {"CZCE", "DCE", "SHFE", "CFFEX"} <= set(by_exchange)
    snaps = MarketContent(products, lambda snap: snap).rounds(len(products), 1)[0]
    at = stamp(when)
    batch = build_binary_round(
        at, [p.exchange for p in products], [depth_template(s, quirks) for s in snaps], quirks
    )
    for i, snap in enumerate(snaps):
        frame = batch.data[batch.offsets[i] : batch.offsets[i + 1]]
        exact = at - at % 1_000_000_000 if snap["exchange"] == "CZCE" else at
        assert frame == binary_frame(depth_fields(dict(snap, datetime=exact), quirks, 0.0), "ctp"), snap[
            "exchange"
        ]
    assert batch.offsets[-1] == len(batch.data)


def set_frames(world: LoopbackWorld) -> None:
    for account in ACCOUNTS:
        assert world.control(cmd="quirks", user=account, set={"depth_frame": frame_of(account)})["ok"]


def frame_of(account: str) -> str:
    return account.split("-")[1]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LoopbackWorld, LoopbackWorkers]]:
    tmp = tmp_path_factory.mktemp("wire")
    with workers_on_loopback(tmp, ACCOUNTS, "pw-wire-test", prepare=set_frames) as world_and_workers:
        yield world_and_workers


def test_binary_and_text_records_give_the_same_ingest_frames_for_every_front_quirk(
    running: tuple[LoopbackWorld, LoopbackWorkers],
) -> None:
    world, workers = running
    # Each connection gets the frame it was set to (the libraries read both).
    frames = {c["user"]: c["depth_frame"] for c in world.control(cmd="status")["connections"]}
    assert frames == {account: frame_of(account) for account in workers.procs}, frames
    counts: dict[str, int] = defaultdict(int)
    exchanges: set[str] = set()
    for phase in PHASES:
        base = {"replay": False, "dbl_max": True, "empty_levels": 0, "exchange_days": True}
        assert world.control(cmd="quirks", set=base | {"czce_whole_seconds": True} | phase)["ok"]
        workers.read(SETTLE_S)
        ticks = workers.read(PHASE_S)
        for flavour in ("ctp", "sopt"):
            text = by_record(ticks, f"{flavour}-text")
            binary = by_record(ticks, f"{flavour}-binary")
            common = set(text) & set(binary)
            # A wrong date or time on one side would make records of its own: the share falls.
            assert len(common) >= 0.8 * max(len(text), len(binary)) > 0, (
                flavour,
                phase,
                len(text),
                len(binary),
            )
            for record in sorted(common):
                (tkey, tbody), (bkey, bbody) = text[record], binary[record]
                assert tkey == bkey, (flavour, phase, record)
                # recv_ns, the body's last field (a uint64), is each worker's own receive stamp.
                assert tbody[-9] == bbody[-9] == 0xCF
                assert tbody[:-8] == bbody[:-8], (phase, msgpack.unpackb(tbody), msgpack.unpackb(bbody))
            counts[flavour] += len(common)
        exchanges |= {msgpack.unpackb(b)["exchange"] for _, who, _, _, b in ticks if who == "ctp-binary"}
    assert counts["ctp"] > 100 and counts["sopt"] > 10, counts
    assert {"DCE", "CZCE", "SHFE"} <= exchanges
    assert world.control(cmd="status")["bad_frames"] == 0


def test_the_front_s_default_frame_is_binary_unless_the_environment_says_text() -> None:
    env = os.environ | {DEPTH_FRAME_ENV: "morse"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateways.loopback.front",
            "serve",
            "--listen",
            "tcp://127.0.0.1:1",
            "--sim",
            "x",
            "--control",
            "y",
        ],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "one of binary, text" in result.stderr
    assert Quirks().depth_frame == "binary"
    with pytest.raises(ValueError, match="depth_frame"):
        Quirks().updated({"depth_frame": "morse"})


def test_the_library_counts_and_drops_a_binary_record_of_another_size_and_terminates_every_string() -> None:
    """The built ctp library in a small C++ program (``bench/loopback_wire_spi.cpp``) with an
    SPI that counts records, fed bent frames between good ones over a real socket."""
    build_tee()
    size = packer("ctp").size
    good = binary_frame(
        depth_fields(
            ContractSim(market_products(1)[0], random.Random(2)).step(time.time_ns()), Quirks(), 0.0
        ),
        "ctp",
    )

    def frame(kind: bytes, payload: bytes) -> bytes:
        return (len(payload) + 1).to_bytes(4, "big") + kind + payload

    frames = [
        good,
        frame(b"B", b"\x01" * 10),  # too short for the struct
        frame(b"B", b"\x01" * (size + 1)),  # another header's size
        frame(b"B", b"A" * size),  # the right size, no terminator anywhere
        frame(b"Z", b"X=1\n"),  # a frame type the library does not know
        good,
        good,
    ]
    *_, bad, longest = deliver(build_harness(), frames, records=4)
    assert int(bad) == 3
    # InstrumentID is char[81]: the unterminated record reads as 80 characters, not past it.
    assert int(longest) == 80
