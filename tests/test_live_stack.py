"""The whole live stack: the real hub, Daphne, a private Redis, a WebSocket client.

* a restart posted to the API changes the worker's PID, and the WebSocket shows the
  transitions;
* an account disabled in the API stops its worker, enabled again starts it;
* killing Redis does not stop the ticks, and the hub catches up when Redis returns;
* anonymous API and WebSocket access is refused on the live server.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
import zmq

from aggregation.curve import CurveKeys, make_client, read_internal_keys
from tests.hub_process import PROJECT, HubProcess
from tests.zmq_helpers import free_port

USER, PASSWORD = "operator", "live-stack-pw-1"
# The stack runs as on a LAN (docs/access.md): CURVE on, one entitled stream client.
READER = CurveKeys.generate()


class PrivateRedis:
    """A Redis of the test's own, so the test can kill it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        import redis

        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis.from_url(self.url).ping():
                    return
            time.sleep(0.05)
        raise RuntimeError("private redis did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None


class Web:
    """Daphne serving the project, and an HTTP client logged in by session."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "mdhub_project.asgi:application",
            ],
            cwd=PROJECT,
            env=env,
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.base}/api/health", timeout=1)
            except urllib.error.HTTPError:
                return  # it answers (health needs login)
            except OSError:
                pass
            else:
                return
            time.sleep(0.2)
        raise RuntimeError(f"daphne did not start: {log_path.read_text()}")

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, auth: bool = True
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        csrf = next((c.value for c in self.jar if c.name == "csrftoken"), None)
        if csrf:
            headers["X-CSRFToken"] = csrf
            headers["Referer"] = self.base + "/"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        opener = self.opener if auth else urllib.request.build_opener()
        try:
            with opener.open(request, timeout=10) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw.decode(errors="replace")

    def login(self) -> None:
        self.call("GET", "/api/auth/session")
        status, body = self.call("POST", "/api/auth/session", {"username": USER, "password": PASSWORD})
        assert status == 200, body

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[HubProcess, Web, PrivateRedis]]:
    redis_server = PrivateRedis()
    redis_server.start()
    hub = HubProcess(
        tmp_path,
        REDIS_URL=redis_server.url,
        MDHUB_SIM_RATE="4",
        MDHUB_RESTART_COOLDOWN="0.5",
        MDHUB_RESTART_GRACE="1",
        MDHUB_CURVE="true",
    )
    hub.manage("migrate", "--noinput")
    hub.manage("seed_demo")
    hub.manage(
        "shell",
        "-c",
        "from clients_access.models import StreamClient; "
        f"StreamClient.objects.create(name='live-reader', public_key={READER.public!r}, prefixes=['tick.'])",
    )
    hub.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        f"User.objects.create_user({USER!r}, password={PASSWORD!r}, is_staff=True)",
    )
    hub.start()
    web: Web | None = None
    try:
        web = Web(hub.env, tmp_path / "daphne.log")
        web.login()
        for account in ("sim-a", "sim-b", "sim-c"):
            hub.wait_state(account, {"healthy"}, 40)
        yield hub, web, redis_server
    finally:
        if web is not None:
            web.stop()
        hub.stop()
        redis_server.kill()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def collect_frames(
    url: str, cookie: str, origin: str, until: Any, timeout: float
) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    async with websockets.connect(url, additional_headers={"Cookie": cookie}, origin=origin) as ws:  # type: ignore[arg-type]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                break
            frames.append(json.loads(raw))
            if until(frames):
                break
    return frames


def sim_b_states(frames: list[dict[str, Any]]) -> list[str]:
    return [
        f["event"]["state_to"]
        for f in frames
        if f.get("type") == "hub.event"
        and f["event"].get("account") == "sim-b"
        and f["event"].get("kind") == "state"
    ]


def test_a_restart_posted_to_the_api_changes_the_pid_and_the_websocket_shows_it(
    stack: tuple[HubProcess, Web, PrivateRedis],
) -> None:
    hub, web, _ = stack
    old_pid = hub.gateway("sim-b")["pid"]
    ws_url = f"ws://127.0.0.1:{web.port}/ws/"

    async def scenario() -> list[dict[str, Any]]:
        async def post_restart() -> None:
            await asyncio.sleep(1.0)  # the socket is joined to the live group by now
            status, body = await asyncio.to_thread(web.call, "POST", "/api/accounts/sim-b/restart")
            assert status == 202, body
            assert body == {"accepted": True, "command": "restart", "account": "sim-b"}

        poster = asyncio.create_task(post_restart())
        frames = await collect_frames(
            ws_url,
            web.cookie_header,
            web.base,
            until=lambda fs: "healthy" in sim_b_states(fs)[1:],
            timeout=30,
        )
        await poster
        return frames

    frames = asyncio.run(scenario())
    states = sim_b_states(frames)
    assert states[:2] == ["restarting", "starting"], states
    assert states[-1] == "healthy", states
    assert any(f.get("type") == "gateway.status" for f in frames)
    new_pid = hub.wait_state("sim-b", {"healthy"})["pid"]
    assert new_pid != old_pid
    assert not pid_alive(old_pid)
    kinds = [(e["kind"], e["reason"]) for e in hub.events("sim-b")]
    assert ("command", "operator: restart") in kinds, kinds


def test_disabling_an_account_in_the_api_stops_its_worker_and_enabling_starts_it(
    stack: tuple[HubProcess, Web, PrivateRedis],
) -> None:
    hub, web, _ = stack
    old_pid = hub.gateway("sim-c")["pid"]
    status, body = web.call("PATCH", "/api/accounts/sim-c", {"is_enabled": False})
    assert status == 200, body
    stopped = hub.wait_state("sim-c", {"stopped"}, 15)
    assert stopped["pid"] is None and not stopped["is_enabled"]
    deadline = time.monotonic() + 10
    while pid_alive(old_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(old_pid)
    status, gateways = web.call("GET", "/api/gateways")
    assert status == 200 and gateways["engine"] == "online"
    assert {g["id"]: g["state"] for g in gateways["gateways"]}["sim-c"] == "stopped"

    # A priority change re-ranks without a restart.
    pid_b = hub.gateway("sim-b")["pid"]
    status, body = web.call("PATCH", "/api/accounts/sim-b", {"priority": 0})
    assert status == 200, body
    deadline = time.monotonic() + 10
    while hub.state().get("primary") != "sim-b" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert hub.state()["primary"] == "sim-b"
    assert hub.gateway("sim-b")["pid"] == pid_b

    status, body = web.call("PATCH", "/api/accounts/sim-c", {"is_enabled": True})
    assert status == 200, body
    assert hub.wait_state("sim-c", {"healthy"}, 30)["pid"] not in (None, old_pid)


def test_killing_redis_does_not_stop_the_ticks_and_the_hub_catches_up(
    stack: tuple[HubProcess, Web, PrivateRedis], zmq_ctx: zmq.Context[Any]
) -> None:
    hub, web, redis_server = stack
    ctx = zmq_ctx
    client = ctx.socket(zmq.SUB)
    _, server_key = read_internal_keys(hub.run_dir / "curve" / "internal.key")
    make_client(client, READER, server_key)
    client.setsockopt(zmq.SUBSCRIBE, b"tick.")
    client.connect(hub.pub_addr)
    anonymous = ctx.socket(zmq.SUB)
    anonymous.setsockopt(zmq.SUBSCRIBE, b"tick.")
    anonymous.connect(hub.pub_addr)

    def count_ticks(seconds: float) -> int:
        n = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if client.poll(100):
                client.recv_multipart()
                n += 1
        return n

    before = count_ticks(4.0)
    assert not anonymous.poll(0), "CURVE is on: an anonymous reader gets nothing"
    redis_server.kill()
    during = count_ticks(4.0)
    assert hub.proc is not None and hub.proc.poll() is None
    # 13 contracts at 4 snapshots/s: ~208 in 4 s; the outage must not dent the stream.
    assert before > 150, before
    assert during > 0.8 * before, (before, during)
    status, gateways = web.call("GET", "/api/gateways")
    assert status == 200 and gateways["engine"] == "offline"

    redis_server.start()
    deadline = time.monotonic() + 15
    state: dict[str, Any] = {}
    while time.monotonic() < deadline and not state:
        with contextlib.suppress(Exception):
            state = hub.state()
        time.sleep(0.2)
    assert state.get("engine") == "online", "the hub did not write its state again after Redis returned"
    status, logs = web.call("GET", "/api/logs?level=WARNING")
    assert status == 200
    assert any("Redis" in r["msg"] for r in logs["results"]), logs


def test_anonymous_access_to_the_live_server_is_refused(stack: tuple[HubProcess, Web, PrivateRedis]) -> None:
    _, web, _ = stack
    for path in ("/api/gateways", "/api/events", "/api/logs", "/metrics"):
        status, _ = web.call("GET", path, auth=False)
        assert status in (401, 403), path
    status, _ = web.call("POST", "/api/accounts/sim-a/restart", auth=False)
    assert status in (401, 403)

    async def anonymous_ws() -> int | None:
        async with websockets.connect(f"ws://127.0.0.1:{web.port}/ws/", origin=web.base) as ws:  # type: ignore[arg-type]
            with contextlib.suppress(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            return ws.close_code

    assert asyncio.run(anonymous_ws()) == 4401

    # Under Daphne the admin's own CSS is served too (WhiteNoise), without login.
    with urllib.request.urlopen(f"{web.base}/static/admin/css/base.css", timeout=5) as response:
        assert response.status == 200 and b"body" in response.read()
