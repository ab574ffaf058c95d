"""The ``ctp`` kind: futures market data through the pinned ``vnpy_ctp`` gateway."""

from __future__ import annotations

from gateways.kinds.broker import BrokerKind


class CtpKind(BrokerKind):
    module_name = "vnpy_ctp.gateway.ctp_gateway"
    gateway_class = "CtpGateway"
