"""Put the depth tee (``depth_tee.cpp``) under a broker kind's pinned md wrapper.

Order matters, as for the loopback front (``gateways.loopback.preload``): ``preload`` loads
the tee library ``RTLD_GLOBAL`` before the wrapper module is imported, so the wrapper's
``NEEDED libthostmduserapi_se.so`` (or the SOPT one) is satisfied by the tee, whose SONAME it
is; the tee then opens the real library (the vendor's file in the package, or the loopback
one) by path, ``RTLD_LOCAL | RTLD_DEEPBIND``. ``attach`` sets the compiled handler
(``_depth_tee_<flavour>.DepthTee`` over the kind's dict fast path) once the kind exists.

``MDHUB_DEPTH_TEE=0`` leaves the tee out (the dict fast path, ``gateways.kinds.fast_record``);
``MDHUB_VNPY_TICKS=1`` does too (vn.py's own path). Otherwise it is on whenever it is built
(``python -m gateways.depthtee.build``). One handler per process: a worker runs one kind; a
second broker kind in the same process keeps the dict path.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib
import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import Any

from gateways.depthtee.build import tee_library_path
from gateways.loopback.build import FLAVOURS
from gateways.loopback.preload import WRAPPERS, loopback_library

log = logging.getLogger("mdhub.worker.depthtee")

# flavour → the loaded tee library (this process).
_loaded: dict[str, ctypes.CDLL] = {}
_attached: list[Any] = []  # the DepthTee the C handler points at: kept alive here


def handler_module(flavour: str) -> Any:
    return importlib.import_module(f"gateways.depthtee._depth_tee_{flavour}")


def built(flavour: str) -> bool:
    return (
        tee_library_path(flavour).exists()
        and importlib.util.find_spec(f"gateways.depthtee._depth_tee_{flavour}") is not None
    )


def wanted(flavour: str) -> bool:
    """Whether a new kind of ``flavour`` in this process should take the tee."""
    if os.environ.get("MDHUB_DEPTH_TEE") == "0" or os.environ.get("MDHUB_VNPY_TICKS") == "1":
        return False
    if not built(flavour):
        if os.environ.get("MDHUB_DEPTH_TEE") == "1":
            log.warning("MDHUB_DEPTH_TEE=1 but the depth tee is not built: python -m gateways.depthtee.build")
        return False
    return True


def vendor_library(flavour: str) -> Path:
    """The vendor's market-data library inside the pinned package, found without importing
    the package (its import loads the wrapper)."""
    spec = next(f for f in FLAVOURS if f.name == flavour)
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise RuntimeError(f"{spec.package} is not installed")
    return Path(next(iter(found.submodule_search_locations))) / "api" / spec.soname


def preload(flavour: str, loopback: bool) -> ctypes.CDLL | None:
    """Load the tee in front of the real library (the loopback one when ``loopback``);
    None when the wrapper is already loaded without it (the kind keeps the dict path)."""
    if flavour in _loaded:
        return _loaded[flavour]
    if WRAPPERS[flavour] in sys.modules:
        return None
    target = loopback_library(flavour) if loopback else vendor_library(flavour)
    if not target.exists():
        raise RuntimeError(f"the depth tee's real library {target} is not there")
    lib = ctypes.CDLL(str(tee_library_path(flavour)), mode=os.RTLD_NOW | os.RTLD_GLOBAL)
    lib.mdhub_depth_tee_error.restype = ctypes.c_char_p
    lib.mdhub_depth_tee_open.argtypes = [ctypes.c_char_p]
    lib.mdhub_depth_tee_set_handler.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.mdhub_depth_tee_handled.restype = ctypes.c_long
    lib.mdhub_depth_tee_forwarded.restype = ctypes.c_long
    if lib.mdhub_depth_tee_open(str(target).encode()) != 0:
        raise RuntimeError(f"depth tee: {lib.mdhub_depth_tee_error().decode(errors='replace')}")
    _loaded[flavour] = lib
    return lib


def real_library(flavour: str, loopback: bool) -> ctypes.CDLL:
    """The real library the tee opened, as ctypes sees it (RTLD_LOCAL: the same object,
    not promoted into the global scope the wrapper's symbols resolve from)."""
    target = loopback_library(flavour) if loopback else vendor_library(flavour)
    return ctypes.CDLL(str(target), mode=os.RTLD_NOW | os.RTLD_LOCAL | os.RTLD_DEEPBIND)


def attach(flavour: str, lib: ctypes.CDLL, path: Any) -> Any:
    """Send the tee's depth records to a compiled handler over ``path`` (the kind's
    ``CtpRecordPath``); None when this process's tee already has one."""
    if _attached:
        log.warning("depth tee: a handler is already set in this process; this kind keeps the dict path")
        return None
    tee = handler_module(flavour).DepthTee(path)
    _attached.append(tee)
    lib.mdhub_depth_tee_set_handler(handler_module(flavour).handler_address(), id(tee))
    # No Python callback may start while the interpreter finalizes: the records go back to
    # the wrapper (whose own path copes with that) before it does.
    atexit.register(lib.mdhub_depth_tee_set_handler, None, None)
    return tee


def counts(flavour: str) -> tuple[int, int]:
    """(records the handler took, records it gave back to the wrapper) in this process."""
    lib = _loaded.get(flavour)
    if lib is None:
        return 0, 0
    return int(lib.mdhub_depth_tee_handled()), int(lib.mdhub_depth_tee_forwarded())
