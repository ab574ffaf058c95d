"""The vendor's depth record as ctypes sees it, laid out from the pinned header the tee is built
with (``CThostFtdcDepthMarketDataField`` of ``ctp`` or ``sopt``): to hand the compiled handler
the very bytes the md library passes (``DepthTee.feed``) in tests and ``bench.depth_tee``.
"""

from __future__ import annotations

import ctypes
import re
from typing import Any

from gateways.loopback.build import FLAVOURS

_TYPEDEF = re.compile(r"typedef\s+(char|double|int|short|long long)\s+(\w+)(?:\[(\d+)\])?\s*;")
_FIELD = re.compile(r"^\s*(\w+)\s+(\w+)\s*;", re.M)


def record_struct(flavour: str) -> type[ctypes.Structure]:
    """``CThostFtdcDepthMarketDataField`` of the flavour's header, as a ctypes struct."""
    spec = next(f for f in FLAVOURS if f.name == flavour)
    types_text = (spec.headers / "ThostFtdcUserApiDataType.h").read_text("gb18030", errors="replace")
    base: dict[str, Any] = {
        "char": ctypes.c_char,
        "double": ctypes.c_double,
        "int": ctypes.c_int,
        "short": ctypes.c_short,
        "long long": ctypes.c_longlong,
    }
    types: dict[str, Any] = {}
    for kind, name, size in _TYPEDEF.findall(types_text):
        types[name] = base[kind] * int(size) if size else base[kind]
    struct_text = (spec.headers / "ThostFtdcUserApiStruct.h").read_text("gb18030", errors="replace")
    body = struct_text.split("struct CThostFtdcDepthMarketDataField\n{", 1)[1].split("};", 1)[0]
    fields = [(name, types[kind]) for kind, name in _FIELD.findall(body)]
    return type(f"Depth_{flavour}", (ctypes.Structure,), {"_fields_": fields})


def to_struct(cls: type[ctypes.Structure], record: dict[str, Any]) -> ctypes.Structure:
    out = cls()
    for name, kind in cls._fields_:  # type: ignore[misc]
        if name not in record:
            continue
        value = record[name]
        if issubclass(kind, ctypes.Array):
            setattr(out, name, str(value).encode("gb18030")[: ctypes.sizeof(kind) - 1])
        elif kind is ctypes.c_double:
            setattr(out, name, float(value))
        else:
            setattr(out, name, int(value))
    return out
