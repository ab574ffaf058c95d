"""Gateway kinds, by ``MarketDataAccount.gateway_type``. Imported lazily: a sim worker
never loads the vendor libraries, a ctp worker never loads the simulator."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateways.kinds.base import GatewayKind


@dataclass(frozen=True)
class KindEntry:
    module: str
    cls: str
    # Reads the simulated exchange (which the process manager then starts), whose market
    # is open around the clock: no trading-session rule applies to its ticks or canaries.
    simulated: bool = False


KINDS = {
    "ctp": KindEntry("gateways.kinds.ctp", "CtpKind"),
    "sopt": KindEntry("gateways.kinds.sopt", "SoptKind"),
    "sim": KindEntry("gateways.kinds.sim", "SimKind", simulated=True),
}


def _entry(gateway_type: str) -> KindEntry:
    try:
        return KINDS[gateway_type]
    except KeyError:
        raise ValueError(f"unknown gateway type {gateway_type!r}; known: {', '.join(KINDS)}") from None


def kind_class(gateway_type: str) -> type[GatewayKind]:
    entry = _entry(gateway_type)
    cls: type[GatewayKind] = getattr(importlib.import_module(entry.module), entry.cls)
    return cls


def is_simulated(gateway_type: str) -> bool:
    """Whether the kind reads the simulated exchange (an unknown kind does not)."""
    entry = KINDS.get(gateway_type)
    return entry is not None and entry.simulated
