"""``./dev run --nats`` (or ``MDHUB_NATS_URL`` set): the JetStream bridge beside the hub, and
with ``--nats`` a local NATS cluster for it (docs/jetstream.md).

Why the supervisor of ``./dev run`` and not the hub's ProcessManager: the bridge is a client
of the hub like any strategy, with a cursor of its own; it must outlive a hub restart (it
publishes what it holds and resumes from the journal when the hub is back), and NATS is a
server of its own that the hub must not depend on. In production the same two processes are
services of their own (the compose ``nats`` profile), never children of ``runhub``. Here
both die with ``./dev run`` (the supervisor's parent-death signal; the cluster runner passes
it on to its nats-server processes).

No import of ``bridge``: devtools and bridge are peers (the import contract); they meet on
the command line and in the env file the cluster runner writes.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from devtools.supervise import Program

# NATS's own default ports: clients 4222 (+1, +2 for a cluster), routes 6222, monitoring 8222.
DEFAULT_PORT = 4222


def hub_address(env: Mapping[str, str]) -> str:
    """The hub's pub, snapshot and recovery addresses as runhub binds them (its settings'
    defaults), as a local client connects to them (``*`` → loopback)."""
    bound = [
        env.get("MDHUB_PUB_ADDR", "tcp://127.0.0.1:5555"),
        env.get("MDHUB_SNAPSHOT_ADDR", "tcp://127.0.0.1:5556"),
        env.get("MDHUB_RECOVERY_ADDR", "tcp://127.0.0.1:5557"),
    ]
    return ",".join(
        a.replace("://*:", "://127.0.0.1:").replace("://0.0.0.0:", "://127.0.0.1:") for a in bound
    )


def env_file(run_dir: Path) -> Path:
    return run_dir / "nats.env"


def nats_programs(
    run_dir: Path,
    *,
    local: bool,
    nodes: int = 1,
    port: int = DEFAULT_PORT,
    name: str = "dev",
    hub_env: Mapping[str, str] | None = None,
) -> list[Program]:
    """``local``: a ``nodes``-node cluster under ``run_dir/nats`` and a bridge reading its env
    file; otherwise a bridge only, configured by the environment (``MDHUB_NATS_URL``, users).
    ``hub_env``: what ./dev run gives the hub beyond the environment (``--lan``: its addresses
    and ``MDHUB_CURVE``, so the bridge reads it with the hub's internal key)."""
    python = sys.executable
    found: list[Program] = []
    bridge = [python, "-m", "bridge.run"]
    # The hub's publisher finds the bridge's status in the run directory (dashboard, /metrics).
    hub = {**os.environ, **(hub_env or {})}
    env = {**(hub_env or {}), "MDHUB_BRIDGE_STATE_DIR": str(run_dir), "MDHUB_BRIDGE_NAME": name}
    env["MDHUB_RUN_DIR"] = hub.get("MDHUB_RUN_DIR") or str(run_dir)  # where the hub's keys are
    if not hub.get("MDHUB_BRIDGE_HUB"):
        env["MDHUB_BRIDGE_HUB"] = hub_address(hub)
    if local:
        settings = env_file(run_dir)
        argv = [python, "-m", "bridge.cluster", str(run_dir / "nats"), "--nodes", str(nodes)]
        argv += ["--port", str(port), "--env-file", str(settings)]
        # The runner writes the file once every node answers: ready when it is newer than
        # this run (a file left by an earlier run says nothing about this one).
        since = time.time()

        def ready() -> bool:
            try:
                return settings.stat().st_mtime >= since
            except FileNotFoundError:
                return False

        found.append(Program("nats", argv, ready=ready, ready_timeout=30.0))
        bridge += ["--env-file", str(settings)]
    found.append(Program("bridge", bridge, env, stop_timeout=10.0))
    return found
