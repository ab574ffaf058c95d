"""``./dev run``'s programs: a private Redis, the web (Daphne), the hub and django-q2's
cluster, supervised by :mod:`devtools.supervise`.

    python -m devtools.devrun [--web-port 8000] [--redis-port 6390] [--broker-loopback] [--lan]

``--broker-loopback`` adds the broker path (docs/loopback.md): the loopback CTP/SOPT front,
fed by the hub's simulated exchange, and three more demo sources on it — two ``ctp``
accounts and one ``sopt`` account running the pinned vn.py gateways — beside the sim ones.
Without it, ``seed_demo`` leaves those accounts disabled.

``--lan`` serves the stream to other machines as a deployment does: the tick, snapshot,
recovery and conflation endpoints on every interface (``tcp://*:5555``–``5558``) with CURVE
and entitlements on (``MDHUB_CURVE``, docs/access.md); the web stays on loopback.

``--nats`` adds a local NATS JetStream server (``--nats-nodes 3`` for a cluster) and the
bridge from the hub into it; with ``MDHUB_NATS_URL`` set the bridge runs against that
cluster instead (:mod:`devtools.devnats`, docs/jetstream.md).

Started in that order; stopped hub first (it publishes into Redis to the end), then the
cluster, the web and Redis last, so nothing is left retrying a Redis that is already gone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import redis

from devtools.devnats import nats_programs
from devtools.supervise import Program, Supervisor

ROOT = Path(__file__).resolve().parent.parent


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.2, socket_timeout=0.2).ping())
    except (redis.RedisError, OSError):
        return False


def loopback_front(run_dir: Path, port: int) -> Program:
    """The loopback front on ``port``, fed by the simulated exchange the hub starts (its
    default address under the run directory: the hub's sim sources keep it running)."""
    argv = [sys.executable, "-m", "gateways.loopback.front", "serve", "--listen", f"tcp://127.0.0.1:{port}"]
    argv += ["--sim", f"ipc://{run_dir / 'sim.ipc'}", "--control", f"ipc://{run_dir / 'loopctl.ipc'}"]
    return Program("loopback-front", argv)


# What --lan sets (docs/access.md): every stream endpoint on every interface, CURVE on.
LAN_ENV = {
    "MDHUB_PUB_ADDR": "tcp://*:5555",
    "MDHUB_SNAPSHOT_ADDR": "tcp://*:5556",
    "MDHUB_RECOVERY_ADDR": "tcp://*:5557",
    "MDHUB_CONFLATE_ADDR": "tcp://*:5558",
    "MDHUB_CURVE": "true",
}


def lan_howto(web_port: int, run_dir: Path) -> str:
    """How to let a strategy on another machine in (printed by ``--lan``)."""
    return (
        "LAN profile: ticks on tcp://*:5555 (snapshots 5556, recovery 5557, conflation 5558) with CURVE on. "
        "Add a client: admin → Stream clients → Add (its secret key is shown once), or "
        f"curl -u <user> -X POST http://127.0.0.1:{web_port}/api/stream-clients "
        "-H 'Content-Type: application/json' "
        '-d \'{"name": "cta-desk", "prefixes": ["tick.rb"]}\'; '
        f"the hub's public key is the 'public =' line of {run_dir / 'curve' / 'server.key'} "
        "(runhub prints it too). docs/access.md shows the client side."
    )


def programs(
    web_port: int, redis_port: int, run_dir: Path, broker_loopback: int = 0, lan: bool = False
) -> tuple[list[Program], str]:
    python = sys.executable
    manage = str(ROOT / "manage.py")
    found: list[Program] = []
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        if redis_answers(redis_url):
            print(f"[dev] using the Redis already running on 127.0.0.1:{redis_port}", file=sys.stderr)
        else:
            (run_dir / "redis").mkdir(parents=True, exist_ok=True)
            server = shutil.which("redis-server") or "redis-server"
            argv = [server, "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", str(run_dir / "redis")]
            argv += ["--save", "", "--appendonly", "no", "--logfile", str(run_dir / "redis" / "redis.log")]
            found.append(Program("redis", argv, ready=lambda: redis_answers(redis_url)))
    env = {"REDIS_URL": redis_url}
    if lan:
        env.update(LAN_ENV)
    found.append(Program("migrate", [python, manage, "migrate", "--noinput"], env, oneshot=True))
    # The contract table in step with today's universe (expired rows out, listed ones in).
    found.append(Program("universe", [python, manage, "refresh_universe"], env, oneshot=True))
    seed = [python, manage, "seed_demo"]
    if broker_loopback:
        # The libraries are built by ./dev setup; this is a no-op then, and builds them if not.
        build = [python, "-m", "gateways.loopback.build"]
        found.append(Program("loopback-build", build, env, oneshot=True))
        seed += ["--broker-loopback", f"tcp://127.0.0.1:{broker_loopback}"]
        found.append(loopback_front(run_dir, broker_loopback))
    found.append(Program("seed", seed, env, oneshot=True))
    daphne = str(Path(python).with_name("daphne"))
    web = [daphne, "-b", "127.0.0.1", "-p", str(web_port), "mdhub_project.asgi:application"]
    found.append(Program("web", web, env))
    found.append(Program("hub", [python, manage, "runhub"], env, stop_timeout=15.0))
    found.append(Program("qcluster", [python, manage, "qcluster"], env))
    return found, redis_url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web-port", type=int, default=int(os.environ.get("MDHUB_WEB_PORT", "8000")))
    parser.add_argument("--redis-port", type=int, default=int(os.environ.get("MDHUB_REDIS_PORT", "6390")))
    parser.add_argument("--run-dir", type=Path, default=Path(os.environ.get("MDHUB_RUN_DIR", ROOT / "run")))
    parser.add_argument(
        "--broker-loopback",
        action="store_true",
        help="also run the loopback CTP/SOPT front and two ctp + one sopt demo accounts on it",
    )
    parser.add_argument(
        "--lan",
        action="store_true",
        help="serve the stream to the LAN: endpoints on tcp://*:5555-5558 with CURVE on (docs/access.md)",
    )
    parser.add_argument(
        "--loopback-port", type=int, default=int(os.environ.get("MDHUB_LOOPBACK_PORT", "41213"))
    )
    parser.add_argument(
        "--nats",
        action="store_true",
        help="also run a local NATS JetStream server and the bridge into it (docs/jetstream.md); "
        "with MDHUB_NATS_URL set, the bridge runs against that cluster without this",
    )
    parser.add_argument("--nats-nodes", type=int, default=1, help="servers in the local cluster (1 or 3)")
    parser.add_argument("--nats-port", type=int, default=int(os.environ.get("MDHUB_NATS_PORT", "4222")))
    args = parser.parse_args(argv)
    port = args.loopback_port if args.broker_loopback else 0
    found, _ = programs(args.web_port, args.redis_port, args.run_dir, port, lan=args.lan)
    if args.nats or os.environ.get("MDHUB_NATS_URL"):
        hub_env = LAN_ENV if args.lan else {}
        found += nats_programs(
            args.run_dir, local=args.nats, nodes=args.nats_nodes, port=args.nats_port, hub_env=hub_env
        )
    # The front outlives the hub's workers (they log out of it), then goes before Redis.
    # The bridge after the hub (it publishes what it still holds), NATS after the bridge.
    order = ["hub", "bridge", "nats", "loopback-front", "qcluster", "web", "redis"]
    supervisor = Supervisor(found, stop_order=order)
    if args.lan:
        supervisor.say(lan_howto(args.web_port, args.run_dir))
    supervisor.say(
        f"web on http://127.0.0.1:{args.web_port}/ (admin at /admin/, API docs at /api/docs); "
        "Ctrl-C stops everything"
    )
    sys.exit(0 if supervisor.run() else 1)


if __name__ == "__main__":
    main()
