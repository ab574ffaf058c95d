"""Gateway kinds, by ``MarketDataAccount.gateway_type``. Imported lazily: a sim worker
never loads the vendor libraries, a ctp worker never loads the simulator."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateways.kinds.base import GatewayKind

KINDS = {
    "ctp": ("gateways.kinds.ctp", "CtpKind"),
    "sopt": ("gateways.kinds.sopt", "SoptKind"),
    "sim": ("gateways.kinds.sim", "SimKind"),
}


def kind_class(gateway_type: str) -> type[GatewayKind]:
    try:
        module, name = KINDS[gateway_type]
    except KeyError:
        raise ValueError(f"unknown gateway type {gateway_type!r}; known: {', '.join(KINDS)}") from None
    cls: type[GatewayKind] = getattr(importlib.import_module(module), name)
    return cls
