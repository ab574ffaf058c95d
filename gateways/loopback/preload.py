"""Load the loopback market-data library into a worker in place of the vendor's.

Why not ``LD_LIBRARY_PATH``: it is read once, when the process starts, and the kind only
learns from the account's settings that it wants the loopback front after the worker is
running. Why not replace the vendor file: other workers on the machine use it.

How: the vn.py wrapper module (``vnctpmd….so``) names its vendor library by file name
(``NEEDED libthostmduserapi_se.so``, resolved through ``RUNPATH $ORIGIN`` after
``gateways.vnpy_repair``). Before it is imported, we ``dlopen`` the loopback library by its
full path, ``RTLD_GLOBAL``; its SONAME is the vendor's file name, and glibc's loader
satisfies a NEEDED entry with an object already loaded under that SONAME before it searches
any path. So the wrapper binds to the loopback library, and the vendor's market-data
library is never mapped in this process (the trading library still is, untouched).
This is ``LD_PRELOAD`` done from inside the process, for this worker only.

``preload_trader`` does the same for the trader library (``vnctptd….so`` links
``libthosttraderapi_se.so``): the instrument query (``gateways.instrument_query``) loads both,
so neither vendor library is mapped there.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

from gateways.loopback.build import library_path, trader_library_path

# The wrapper modules that link the vendor market-data libraries, by flavour.
WRAPPERS = {"ctp": "vnpy_ctp.api.vnctpmd", "sopt": "vnpy_sopt.api.vnsoptmd"}
# ... and the vendor trader libraries.
TRADER_WRAPPERS = {"ctp": "vnpy_ctp.api.vnctptd", "sopt": "vnpy_sopt.api.vnsopttd"}


def loopback_library(flavour: str, trader: bool = False) -> Path:
    """The library to load: under ``MDHUB_LOOPBACK_LIB`` (a directory with ``ctp/`` and
    ``sopt/``) when set, else the build's output under ``run/loopback``."""
    built = trader_library_path(flavour) if trader else library_path(flavour)
    root = os.environ.get("MDHUB_LOOPBACK_LIB")
    return Path(root) / flavour / built.name if root else built


def preload(flavour: str) -> ctypes.CDLL:
    return _preload(flavour, WRAPPERS[flavour], trader=False)


def preload_trader(flavour: str) -> ctypes.CDLL:
    return _preload(flavour, TRADER_WRAPPERS[flavour], trader=True)


def _preload(flavour: str, wrapper: str, trader: bool) -> ctypes.CDLL:
    path = loopback_library(flavour, trader)
    if wrapper in sys.modules:
        raise RuntimeError(
            f"the vendor {flavour} library is already loaded in this process: the loopback "
            "front must be chosen before the gateway module is imported"
        )
    if not path.exists():
        raise RuntimeError(
            f"loopback front library {path} not found: build it with "
            "`python -m gateways.loopback.build` (./dev setup runs it)"
        )
    return ctypes.CDLL(str(path), mode=os.RTLD_NOW | os.RTLD_GLOBAL)


def mapped_libraries(pid: int | str = "self") -> set[str]:
    """The shared objects mapped into process ``pid`` (to prove which library is in use)."""
    with open(f"/proc/{pid}/maps") as maps:
        return {line.split()[-1] for line in maps if ".so" in line}
