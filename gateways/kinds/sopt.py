"""The ``sopt`` kind: stock-option market data through the pinned ``vnpy_sopt`` gateway."""

from __future__ import annotations

from gateways.kinds.broker import BrokerKind


class SoptKind(BrokerKind):
    module_name = "vnpy_sopt.gateway.sopt_gateway"
    gateway_class = "SoptGateway"
