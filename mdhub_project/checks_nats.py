"""System checks for the NATS JetStream bridge (``mdhub.E020``–``E022``, docs/jetstream.md):
a bridge configured against a cluster that nothing answers for is said at start-up, not
found out from a lag graph."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

from django.core import checks

from bridge.config import ConfigError, NatsConfig

PROBE_TIMEOUT = 1.0


def nats_answers(server: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether a NATS server answers at ``server`` (it greets every connection with INFO)."""
    parts = urlsplit(server)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(5) == b"INFO "
    except OSError:
        return False


@checks.register("mdhub")
def check_nats(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        config = NatsConfig.from_env()
    except ConfigError as exc:
        return [
            checks.Error(
                f"The NATS bridge settings are wrong: {exc}",
                hint="MDHUB_NATS_URL is a comma-separated list such as nats://nats1:4222,nats://nats2:4222.",
                id="mdhub.E021",
            )
        ]
    if not config.servers:
        return []  # the bridge is off
    if not config.user or not config.password:
        return [
            checks.Error(
                "MDHUB_NATS_URL is set but MDHUB_NATS_USER or MDHUB_NATS_PASSWORD is not.",
                hint="The NATS cluster has no anonymous access: give the hub's user and its password "
                "(or MDHUB_NATS_PASSWORD_FILE), as in docs/jetstream.md.",
                id="mdhub.E022",
            )
        ]
    if not any(nats_answers(server) for server in config.servers):
        return [
            checks.Error(
                f"The NATS bridge is configured (MDHUB_NATS_URL={','.join(config.servers)}) but no NATS "
                "server answers there.",
                hint="Start the NATS cluster (docker compose --profile nats up -d, or python -m "
                "bridge.cluster), check host, port and firewall, or unset MDHUB_NATS_URL to turn "
                "the bridge off.",
                id="mdhub.E020",
            )
        ]
    return []
