"""Which ``settings`` keys each gateway type takes, and how they are checked.

The keys are the English names of DESIGN §7; ``gateways.kinds`` maps them onto the
Chinese keys vn.py's gateways expect. Errors are keyed by setting name and say why, so the
API and the admin can put each one at its field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

ADDRESS_RE = re.compile(r"^(tcp|ssl|socks5)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(\d{1,5})$")
VT_SYMBOL_RE = re.compile(r"^[A-Za-z0-9\-_]+\.[A-Z]+$")
EXCHANGES = frozenset({"SHFE", "INE", "DCE", "CZCE", "CFFEX", "GFEX", "SSE", "SZSE"})

SECRET_KEYS = frozenset({"password", "authCode"})


class SettingKind(StrEnum):
    """How a setting is checked here and shown in forms (the dashboard gets these from
    ``GET /api/gateway-types``: this module is the one source of the specs)."""

    TEXT = "text"
    SECRET = "secret"  # write-only: never returned, masked in the admin
    ADDRESS = "address"  # tcp://host:port
    NUMBER = "number"  # >= 0
    FRACTION = "fraction"  # 0..1


@dataclass(frozen=True)
class SettingSpec:
    name: str
    label: str
    kind: SettingKind
    required: bool
    help: str


BROKER_SPECS = (
    SettingSpec("userID", "User ID", SettingKind.TEXT, True, "Investor (user) id given by the broker."),
    SettingSpec("password", "Password", SettingKind.SECRET, True, "Password of that user."),
    SettingSpec("brokerID", "Broker ID", SettingKind.TEXT, True, "Broker id, e.g. 9999."),
    SettingSpec(
        "mdAddress", "Market-data front", SettingKind.ADDRESS, True, "Market-data front, tcp://host:port."
    ),
    SettingSpec(
        "tdAddress",
        "Trading front",
        SettingKind.ADDRESS,
        False,
        "Trading front, tcp://host:port. Optional: a trading login fills the contract map; "
        "without it the contract list of the hub is used.",
    ),
    SettingSpec(
        "appID", "App ID", SettingKind.TEXT, False, "App id for terminal authentication (trading login)."
    ),
    SettingSpec(
        "authCode",
        "Auth code",
        SettingKind.SECRET,
        False,
        "Auth code for terminal authentication (trading login).",
    ),
)

SIM_SPECS = (
    SettingSpec(
        "latency_ms",
        "Latency (ms)",
        SettingKind.NUMBER,
        False,
        "Fixed delay this source adds to each snapshot.",
    ),
    SettingSpec("jitter_ms", "Jitter (ms)", SettingKind.NUMBER, False, "Random extra delay, 0..jitter_ms."),
    SettingSpec(
        "loss", "Loss (0..1)", SettingKind.FRACTION, False, "Share of snapshots this source drops, 0..1."
    ),
    SettingSpec(
        "exchange",
        "Exchange address",
        SettingKind.ADDRESS,
        False,
        "Simulated exchange to read from (default: the hub's).",
    ),
)

SPECS: dict[str, tuple[SettingSpec, ...]] = {
    "ctp": BROKER_SPECS,
    "sopt": BROKER_SPECS,
    "sim": SIM_SPECS,
}


def specs_for(gateway_type: str) -> tuple[SettingSpec, ...]:
    return SPECS.get(gateway_type, ())


def validate_settings(gateway_type: str, settings: Any) -> dict[str, str]:
    """Return ``{setting name: reason}`` for every problem; empty when the settings are good."""
    if not isinstance(settings, dict):
        return {"settings": "must be a JSON object of setting name to value"}
    specs = {spec.name: spec for spec in specs_for(gateway_type)}
    errors: dict[str, str] = {}
    for name in settings:
        if name not in specs:
            allowed = ", ".join(specs) or "none"
            errors[name] = f"unknown setting for {gateway_type} accounts (allowed: {allowed})"
    for spec in specs.values():
        value = settings.get(spec.name)
        if value is None or value == "":
            if spec.required:
                errors[spec.name] = f"required for {gateway_type} accounts"
            continue
        problem = _check_value(spec, value)
        if problem:
            errors[spec.name] = problem
    return errors


def _check_value(spec: SettingSpec, value: Any) -> str | None:
    if spec.kind in (SettingKind.TEXT, SettingKind.SECRET, SettingKind.ADDRESS):
        if not isinstance(value, str):
            return "must be a string"
        if spec.kind is SettingKind.ADDRESS and not ADDRESS_RE.match(value):
            return f"{value!r} is not an address like tcp://host:port"
        if spec.kind is SettingKind.ADDRESS:
            port = int(value.rsplit(":", 1)[1])
            if not 0 < port < 65536:
                return f"port {port} is out of range 1..65535"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "must be a number"
    if value < 0:
        return "must not be negative"
    if spec.kind is SettingKind.FRACTION and value > 1:
        return "must be between 0 and 1"
    return None


def known_products() -> set[str]:
    """Product codes a canary name may use: those of the listing rules and of the contract
    table (the broker's universe lands there), which the engine resolves each day."""
    from aggregation.contract_codes import PRODUCT_RULES
    from aggregation.models import Contract

    codes = Contract.objects.exclude(product_code="").values_list("product_code", flat=True)
    return set(PRODUCT_RULES) | set(codes.distinct())


def validate_canaries(canaries: Any) -> str | None:
    """Contracts (``rb2501.SHFE``), or the names the engine resolves each day
    (``engine.universe_roll.resolve_canaries``): a product (``rb``: its nearest contract) or
    its main contract (``rb.main``), for a product it knows."""
    from aggregation.universe import NameKind, parse_name

    if not isinstance(canaries, list):
        return "must be a list of vt_symbols such as rb2501.SHFE, or product names such as rb.main"
    products: set[str] | None = None
    for item in canaries:
        name = parse_name(item) if isinstance(item, str) else None
        if name is not None and name.kind is not NameKind.CONTRACT:
            products = known_products() if products is None else products
            if name.value in products:
                continue
        if name is None or name.kind is not NameKind.CONTRACT or not VT_SYMBOL_RE.match(item):
            return (
                f"{item!r} is not a vt_symbol such as rb2501.SHFE, a known product (rb) or its "
                "main contract (rb.main)"
            )
        exchange = item.rsplit(".", 1)[1]
        if exchange not in EXCHANGES:
            return f"{item!r}: unknown exchange {exchange} (known: {', '.join(sorted(EXCHANGES))})"
    return None


def public_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings with every secret removed: what may leave the server."""
    return {key: value for key, value in settings.items() if key not in SECRET_KEYS}


def secrets_state(gateway_type: str, settings: dict[str, Any]) -> dict[str, bool]:
    """Which secrets this account has set, for display as set / not set."""
    return {
        spec.name: bool(settings.get(spec.name))
        for spec in specs_for(gateway_type)
        if spec.kind is SettingKind.SECRET
    }


def merge_secrets(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """Keep a stored secret when an update leaves it out or blank: clients never see it."""
    merged = dict(new)
    for key in SECRET_KEYS:
        if not merged.get(key) and old.get(key):
            merged[key] = old[key]
    return merged
