"""Types of the worker's compiled tick path (aggregation/_emit_core.pyx)."""

from typing import Any

MALFORMED_ERRORS: tuple[type[Exception], ...]

class ContractState:
    last_volume: Any
    last_time_ns: int
    open_from_ns: int
    open_until_ns: int
    auctions: tuple[tuple[int, int], ...]

class CleanseCore:
    cleanser: Any
    contracts: dict[str, ContractState]
    drops: Any
    passed: int
    def __init__(self, cleanser: Any) -> None: ...
    def configure(self) -> None: ...
    def rule(self, vt_symbol: str, numbers: list[Any], dt_ns: int) -> str | None: ...
    def check_values(self, vt_symbol: str, numbers: list[Any], dt_ns: int) -> str | None: ...

class EmitCore:
    received: int
    sent: int
    cleanse: CleanseCore
    def __init__(self, sender: Any, cleanse: CleanseCore, direct: bool) -> None: ...
    def emit_numbers(
        self, vt_symbol: str, topic: bytes, prefix: bytes, numbers: list[Any], dt_ns: int, recv_ns: int
    ) -> None: ...

class CtpDepthCore:
    def __init__(self, path: Any, emit: EmitCore, exchange_date: Any = None) -> None: ...
    def on_depth(self, data: dict[str, Any]) -> None: ...

class SimDeliverCore:
    def __init__(self, path: Any, emit: EmitCore) -> None: ...
    def deliver(self, snap: dict[str, Any]) -> bool: ...

def content_key_of(numbers: list[Any], dt_ns: int) -> bytes: ...
