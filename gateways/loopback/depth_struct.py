"""Depth records as the vendor's struct bytes: the payload of the loopback wire's ``B`` frame.

A broker's front sends the md library a binary record, which the library copies into
``CThostFtdcDepthMarketDataField``; the loopback front does the same (``front.depth_frame``)
so that a worker behind the loopback library pays what it pays behind the vendor's, not a
Key=Value parse. The layout is the pinned header's (``gateways.depthtee.layout``: ctp and
sopt differ), turned into one ``struct.Struct`` with the C compiler's padding spelled out, so
a record packs in one call. The bytes are the ones the text frame's parse would leave in the
struct: strings in GB18030 cut to the field less its terminator, the rest zero; doubles
exact (DBL_MAX included); integers truncated as ``strtol`` reads ``str(int)``.
No Django import.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from gateways.depthtee.layout import record_struct

# Native byte order and sizes, no implicit alignment: the pads are explicit ("x").
_INTEGER_CODES = {1: "b", 2: "h", 4: "i", 8: "q"}


@dataclass(frozen=True)
class Slot:
    """One field of the struct: where it is, how big, and what it holds."""

    name: str
    offset: int
    size: int
    kind: str  # "s" text (char array), "c" one char, "d" double, "i" integer
    code: str  # its struct code (native order, standard sizes)


class DepthPacker:
    """Packs ``depth_fields`` dicts into the flavour's ``CThostFtdcDepthMarketDataField``."""

    def __init__(self, flavour: str) -> None:
        cls = record_struct(flavour)
        self.flavour = flavour
        self.size = ctypes.sizeof(cls)
        self.slots: list[Slot] = []
        codes = ["="]
        at = 0
        for name, ctype in cls._fields_:  # type: ignore[misc]
            offset = getattr(cls, name).offset
            size = ctypes.sizeof(ctype)
            if offset > at:
                codes.append(f"{offset - at}x")
            if issubclass(ctype, ctypes.Array):
                kind, code = "s", f"{size}s"
            elif ctype is ctypes.c_char:
                kind, code = "c", "c"
            elif ctype in (ctypes.c_double, ctypes.c_float):
                kind, code = "d", "d" if size == 8 else "f"
            else:
                kind, code = "i", _INTEGER_CODES[size]
            codes.append(code)
            self.slots.append(Slot(name, offset, size, kind, code))
            at = offset + size
        if self.size > at:
            codes.append(f"{self.size - at}x")
        self.layout = struct.Struct("".join(codes))
        if self.layout.size != self.size:
            raise RuntimeError(f"{flavour} depth layout is {self.layout.size} bytes, the struct {self.size}")
        self.by_name = {slot.name: slot for slot in self.slots}

        # (name, convert, default) per field: one comprehension per record (the front packs
        # every record of a round in Python).
        self._plan: list[tuple[str, Callable[[Any], Any], Any]] = [
            (slot.name, _converter(slot), None if slot.kind in "sc" else 0) for slot in self.slots
        ]

    def values(self, record: dict[str, Any]) -> list[Any]:
        get = record.get
        return [convert(get(name, default)) for name, convert, default in self._plan]

    @staticmethod
    def value(slot: Slot, value: Any) -> Any:
        if slot.kind == "s":
            # As the library's assign(): at most size - 1 bytes, then the terminator.
            return b"" if value is None else str(value).encode("gb18030")[: slot.size - 1]
        if slot.kind == "c":
            text = b"" if value is None else str(value).encode("gb18030")
            return text[:1] or b"\0"
        if slot.kind == "d":
            return 0.0 if value is None else float(value)
        return 0 if value is None else int(value)

    def pack(self, record: dict[str, Any]) -> bytes:
        """The struct's bytes for a record; fields it does not name stay zero."""
        return self.layout.pack(*self.values(record))

    def patches(self, record: dict[str, Any]) -> list[tuple[int, bytes]]:
        """``(offset, bytes)`` that write ``record``'s fields over a packed struct: the time
        fields of a burst round (``gateways.loopback.burst``), the same for a whole exchange."""
        out = []
        for name, value in record.items():
            slot = self.by_name.get(name)
            if slot is None:
                continue
            out.append((slot.offset, struct.pack("=" + slot.code, self.value(slot, value))))
        return out


def _converter(slot: Slot) -> Callable[[Any], Any]:
    if slot.kind == "d":
        return float
    if slot.kind == "i":
        return int
    return lambda value: DepthPacker.value(slot, value)


def patched(template: bytes, patches: Iterable[tuple[int, bytes]]) -> bytes:
    record = bytearray(template)
    for offset, data in patches:
        record[offset : offset + len(data)] = data
    return bytes(record)


@cache
def packed_frame_head(flavour: str) -> bytes:
    """A ``B`` frame's length and type: the same for every record of a flavour."""
    return struct.pack(">I", packer(flavour).size + 1) + b"B"


@cache
def packer(flavour: str) -> DepthPacker:
    """The flavour's packer, made once (it reads the vendor header)."""
    return DepthPacker(flavour)
