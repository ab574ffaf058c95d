"""The bridge's settings, read from the environment (no Django: the bridge is a peer of the
gateways, not a part of the web side). Secrets as everywhere in mdhub: ``NAME`` or a file
named by ``NAME_FILE``; they are never logged (``BridgeConfig.__repr__`` leaves them out).
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aggregation.client import DEFAULT_PUB, DEFAULT_RECOVERY, DEFAULT_SNAPSHOT, HubAddress
from aggregation.curve import CurveKeys, internal_key_file_from_env, read_internal_keys

DEFAULT_STREAM = "MDHUB"
# A trading day with its night session is under 24 h; three days keep a weekend's Friday
# night and the Monday after in one stream (DESIGN §14: retention by setting).
DEFAULT_MAX_AGE_HOURS = 72.0
DEFAULT_MAX_GB = 20.0
# JetStream drops a second copy of a message id seen within this window. Two hubs of one
# exchange publish within milliseconds of each other; the window also covers a bridge
# catching up after a NATS outage shorter than it (longer ones: docs/jetstream.md).
DEFAULT_DUPLICATE_WINDOW = 120.0


class ConfigError(ValueError):
    """A bridge setting holds a value of the wrong kind."""


def _get(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, default).strip()


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _get(env, name, "")
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


def secret(env: Mapping[str, str], name: str) -> str:
    """``NAME``, or the first line of the file named by ``NAME_FILE``."""
    path = env.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={path!r} cannot be read: {exc.strerror}") from None
    return env.get(name, "")


def parse_servers(spec: str) -> list[str]:
    """``"nats://a:4222,nats://b:4222"`` → the list; ``ConfigError`` for anything not nats://."""
    servers = [s.strip() for s in spec.split(",") if s.strip()]
    for server in servers:
        if not server.startswith(("nats://", "tls://")):
            raise ConfigError(f"{server!r} is not a NATS server address: write it as nats://host:4222")
    return servers


@dataclass(frozen=True, slots=True)
class NatsConfig:
    """Where the NATS cluster is and who we are there."""

    servers: list[str]
    user: str = ""
    password: str = field(default="", repr=False)
    stream: str = DEFAULT_STREAM

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, role: str = "") -> NatsConfig:
        """``role`` "" reads ``MDHUB_NATS_USER``/``_PASSWORD`` (the hub's publisher);
        "READER" reads ``MDHUB_NATS_READER_USER``/``_PASSWORD`` (a consumer)."""
        env = os.environ if env is None else env
        infix = f"{role}_" if role else ""
        return cls(
            servers=parse_servers(_get(env, "MDHUB_NATS_URL", "")),
            user=_get(env, f"MDHUB_NATS_{infix}USER", ""),
            password=secret(env, f"MDHUB_NATS_{infix}PASSWORD"),
            stream=_get(env, "MDHUB_NATS_STREAM", DEFAULT_STREAM) or DEFAULT_STREAM,
        )


@dataclass(frozen=True, slots=True)
class StreamSettings:
    replicas: int = 3
    max_age_hours: float = DEFAULT_MAX_AGE_HOURS
    max_gb: float = DEFAULT_MAX_GB
    duplicate_window: float = DEFAULT_DUPLICATE_WINDOW

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StreamSettings:
        env = os.environ if env is None else env
        settings = cls(
            replicas=int(_number(env, "MDHUB_NATS_REPLICAS", 3)),
            max_age_hours=_number(env, "MDHUB_NATS_MAX_AGE_HOURS", DEFAULT_MAX_AGE_HOURS),
            max_gb=_number(env, "MDHUB_NATS_MAX_GB", DEFAULT_MAX_GB),
            duplicate_window=_number(env, "MDHUB_NATS_DUPLICATE_WINDOW", DEFAULT_DUPLICATE_WINDOW),
        )
        if settings.replicas not in (1, 3, 5):
            raise ConfigError(f"MDHUB_NATS_REPLICAS={settings.replicas}: use 1, 3 or 5 (an odd quorum)")
        if settings.duplicate_window <= 0 or settings.max_age_hours <= 0 or settings.max_gb <= 0:
            raise ConfigError("MDHUB_NATS_DUPLICATE_WINDOW, _MAX_AGE_HOURS and _MAX_GB must be above 0")
        return settings


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    nats: NatsConfig
    hub: HubAddress
    stream: StreamSettings = StreamSettings()
    # Names this bridge in headers, status and cursor files: one per hub.
    name: str = "hub"
    state_dir: Path = Path("run")
    # Ticks read from the hub and not yet sent to NATS, at most; past it the bridge lets
    # go of the hub and later resumes from the journal (docs/jetstream.md).
    buffer: int = 100_000
    # Publishes awaiting JetStream's acknowledgement, at most.
    inflight: int = 2_000
    ack_timeout: float = 3.0
    # Where a bridge without a cursor starts: "journal" (all the hub's journal holds today)
    # or "now" (the hub's live stream, with its last values).
    start: str = "journal"
    # A hub with CURVE on (MDHUB_CURVE): the hub's internal client keys, read from the file
    # the hub writes beside its server key (docs/access.md); None: a hub without CURVE.
    curve: CurveKeys | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BridgeConfig:
        env = os.environ if env is None else env
        hub = _get(env, "MDHUB_BRIDGE_HUB", f"{DEFAULT_PUB},{DEFAULT_SNAPSHOT},{DEFAULT_RECOVERY}")
        try:
            address = HubAddress.parse(hub)
        except ValueError as exc:
            raise ConfigError(f"MDHUB_BRIDGE_HUB: {exc}") from None
        curve = None
        key_file = internal_key_file_from_env(env)
        if key_file is not None:
            try:
                curve, server_key = read_internal_keys(key_file)
            except ValueError as exc:
                raise ConfigError(f"MDHUB_CURVE is on: {exc}") from None
            address = dataclasses.replace(address, server_key=server_key)
        return cls(
            nats=NatsConfig.from_env(env),
            hub=address,
            stream=StreamSettings.from_env(env),
            name=token_name(_get(env, "MDHUB_BRIDGE_NAME", "") or socket.gethostname()),
            state_dir=bridge_state_dir(env),
            buffer=int(_number(env, "MDHUB_BRIDGE_BUFFER", 100_000)),
            inflight=int(_number(env, "MDHUB_BRIDGE_INFLIGHT", 2_000)),
            ack_timeout=_number(env, "MDHUB_BRIDGE_ACK_TIMEOUT", 3.0),
            start=_start(_get(env, "MDHUB_BRIDGE_START", "journal")),
            curve=curve,
        )

    @property
    def status_path(self) -> Path:
        return self.state_dir / f"bridge-{self.name}.json"

    @property
    def cursor_path(self) -> Path:
        return self.state_dir / f"bridge-{self.name}.cursor"


def bridge_state_dir(env: Mapping[str, str] | None = None, run_dir: Path | str = "run") -> Path:
    """Where bridges write their status and cursor files: ``MDHUB_BRIDGE_STATE_DIR``, else the
    hub's ``MDHUB_RUN_DIR`` (``run_dir`` when unset), so the hub's publisher finds them."""
    env = os.environ if env is None else env
    return Path(_get(env, "MDHUB_BRIDGE_STATE_DIR", "") or _get(env, "MDHUB_RUN_DIR", "") or run_dir)


def _start(value: str) -> str:
    if value not in ("journal", "now"):
        raise ConfigError(f"MDHUB_BRIDGE_START={value!r}: use journal (the default) or now")
    return value


def token_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "hub"
