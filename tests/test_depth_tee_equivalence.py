"""The depth tee (gateways/depthtee) gives byte for byte the frames of the dict fast path and
of vn.py's own path, for the same records: the pinned CtpGateway and SoptGateway in real
worker processes, logged in to one real loopback front (the simulated exchange behind it)
over TCP, each pushing to a real ZeroMQ socket here. One worker per path and flavour:
``MDHUB_DEPTH_TEE=1`` (the tee), ``MDHUB_DEPTH_TEE=0`` (the dict fast path),
``MDHUB_VNPY_TICKS=1`` (vn.py's ``TickData`` path). The front's quirks are switched for every
connection at once, phase by phase: DBL_MAX, empty book levels (the 5-level rule), DCE and
CZCE dates as each exchange fills them or not, CZCE whole seconds or not.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest

from gateways.depthtee.build import main as build_tee
from gateways.depthtee.build import tee_library_path
from gateways.loopback.preload import mapped_libraries
from tests.loopback_helpers import PROJECT, LoopbackWorkers, LoopbackWorld, Tick, workers_on_loopback

PATHS = {
    "tee": {"MDHUB_DEPTH_TEE": "1"},
    "dict": {"MDHUB_DEPTH_TEE": "0"},
    "vnpy": {"MDHUB_VNPY_TICKS": "1"},
}
PHASES = [
    {},
    {"empty_levels": 4},
    {"empty_levels": 5, "dbl_max": False},
    {"exchange_days": False, "czce_whole_seconds": False, "empty_levels": 1},
]
PHASE_S = 2.6
SETTLE_S = 0.7  # after a quirk switch: records built before it are still on their way


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LoopbackWorld, LoopbackWorkers]]:
    accounts = {
        f"{flavour}-{path}": (flavour, env) for flavour in ("ctp", "sopt") for path, env in PATHS.items()
    }
    with workers_on_loopback(tmp_path_factory.mktemp("tee"), accounts, "pw-tee-test") as world_and_workers:
        yield world_and_workers


def by_record(ticks: list[Tick], account: str) -> dict[tuple[bytes, bytes], Any]:
    """One account's frames by (topic, exchange time): the same record on every path."""
    return {(topic, key[:8]): (key, body) for _, who, topic, key, body in ticks if who == account}


def assert_same(ticks: list[Any], flavour: str, phase: dict[str, Any]) -> int:
    frames = {path: by_record(ticks, f"{flavour}-{path}") for path in PATHS}
    common = set.intersection(*(set(f) for f in frames.values()))
    for path, got in frames.items():
        # Each path's records are almost all the others' too: a wrong date or time stamp
        # would make a record of its own, and the share would fall.
        assert len(common) >= 0.8 * len(got) > 0, (flavour, path, phase, len(common), len(got))
    for record in sorted(common):
        tee_key, tee_body = frames["tee"][record]
        for path in ("dict", "vnpy"):
            key, body = frames[path][record]
            assert tee_key == key, (flavour, path, phase, record)
            # recv_ns, the body's last field (a uint64), is stamped at each path's own receive.
            assert tee_body[-9] == body[-9] == 0xCF
            assert tee_body[:-8] == body[:-8], (path, phase, msgpack.unpackb(tee_body), msgpack.unpackb(body))
    return len(common)


def test_tee_frames_are_the_dict_paths_and_vnpys_for_every_front_quirk(
    running: tuple[LoopbackWorld, LoopbackWorkers],
) -> None:
    world, workers = running
    counts: dict[str, int] = defaultdict(int)
    exchanges: set[str] = set()
    for phase in PHASES:
        assert world.control(
            cmd="quirks",
            set={
                "replay": False,
                "dbl_max": True,
                "empty_levels": 0,
                "exchange_days": True,
                "czce_whole_seconds": True,
            }
            | phase,
        )["ok"]
        workers.read(SETTLE_S)
        ticks = workers.read(PHASE_S)
        for flavour in ("ctp", "sopt"):
            counts[flavour] += assert_same(ticks, flavour, phase)
        exchanges |= {msgpack.unpackb(body)["exchange"] for _, who, _, _, body in ticks if who == "ctp-tee"}
        bodies = [msgpack.unpackb(b) for _, who, _, _, b in ticks if who == "ctp-tee"]
        if phase.get("empty_levels") == 5:
            # No level 2 at all: vn.py's rule leaves levels 2-5 at int 0.
            assert all(b["bid_price_2"] == 0 and type(b["bid_price_2"]) is int for b in bodies)
    assert counts["ctp"] > 100 and counts["sopt"] > 10, counts
    assert {"DCE", "CZCE", "SHFE"} <= exchanges


def test_the_tee_took_the_records_and_the_other_paths_did_not_load_it(
    running: tuple[LoopbackWorld, LoopbackWorkers],
) -> None:
    _, workers = running
    for account in workers.procs:
        workers.command(account, cmd="depth_tee")
    deadline = time.monotonic() + 10
    pattern = re.compile(r"depth tee (off|handled=(\d+) declined=(\d+) errors=(\d+))")
    found: dict[str, re.Match[str]] = {}
    while time.monotonic() < deadline and len(found) < len(workers.procs):
        workers.read(0.3)
        for account, lines in workers.logs.items():
            for line in lines:
                if match := pattern.search(line):
                    found[account] = match
    for flavour in ("ctp", "sopt"):
        tee = found[f"{flavour}-tee"]
        assert tee.group(1) != "off" and int(tee.group(2)) > 0 and int(tee.group(4)) == 0, tee.group(0)
        assert found[f"{flavour}-dict"].group(1) == "off"
        assert found[f"{flavour}-vnpy"].group(1) == "off"
        maps = {Path(p).name for p in mapped_libraries(workers.procs[f"{flavour}-tee"].pid)}
        assert tee_library_path(flavour).name in maps
        assert tee_library_path(flavour).name not in {
            Path(p).name for p in mapped_libraries(workers.procs[f"{flavour}-dict"].pid)
        }


def test_the_tee_opens_the_vendors_own_library_behind_the_wrapper(tmp_path: Path) -> None:
    """The other real library the tee sits in front of: the vendor's file in the pinned package
    (no broker to reach here; the API object is made and its version read through the tee)."""
    build_tee()
    script = (
        "import ctypes, os\n"
        "from gateways.depthtee import tee\n"
        "lib = tee.preload('ctp', loopback=False)\n"
        "from vnpy_ctp.api import MdApi\n"
        "api = MdApi()\n"
        f"api.createFtdcMdApi({str(tmp_path) + '/'!r})\n"
        "version = lib['_ZN15CThostFtdcMdApi13GetApiVersionEv']\n"
        "version.restype = ctypes.c_char_p\n"
        "print(version().decode(), type(api.getTradingDay()).__name__, sep='|')\n"
        "os._exit(0)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MDHUB_DEPTH_TEE"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    version, trading_day = result.stdout.strip().split("|")
    assert version.startswith("v6.7.7"), version  # the vendor's own version string
    assert trading_day == "str"  # a call through our API object to the vendor's
