"""The deployment files: crontab.txt, docker-compose.yml, Dockerfile, .env.example.

No Docker engine is needed. The compose files are checked by the Docker Compose CLI
(`docker compose` when the plugin is there, else the `docker-compose` binary), the
Dockerfile by hadolint, the bash scripts by shellcheck, and crontab.txt by the small cron
parser below, which also replays a week of the schedule against the trading sessions.
`devtools/deploy-tools` (run by `./dev test`) installs the tools; a missing tool fails its test
with that hint.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOST_COMPOSE_FILE = "/opt/mdhub/docker-compose.yml"
TOOLS_BIN = Path(os.environ.get("MDHUB_DEPLOY_TOOLS", ROOT / "run" / "deploy-tools")) / "bin"
INSTALL_HINT = "run devtools/deploy-tools (./dev test does) to install it"
APP_SERVICES = ("web", "hub", "qcluster")


# --- tools ------------------------------------------------------------------------------


def find_tool(name: str) -> str:
    """A tool from run/deploy-tools/bin (where devtools/deploy-tools puts it), the virtualenv or PATH."""
    for folder in (TOOLS_BIN, Path(sys.executable).parent):
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (looked in {TOOLS_BIN} and on PATH): {INSTALL_HINT}")
    return found


def compose_cli() -> list[str]:
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    return [find_tool("docker-compose")]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a child: no inherited DATABASE_URL, REDIS_URL, COMPOSE_* and the like."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


# --- crontab.txt --------------------------------------------------------------------------


class CronError(ValueError):
    pass


CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
MONTH_NAMES = {name: number for number, name in enumerate(MONTHS, 1)}
DAY_NAMES = {name: number for number, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
CRON_NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")


@dataclass(frozen=True)
class CronEntry:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    day_restricted: bool
    weekday_restricted: bool
    command: str
    at_reboot: bool = False

    def matches(self, when: datetime) -> bool:
        if self.at_reboot:
            return False
        if when.minute not in self.minutes or when.hour not in self.hours or when.month not in self.months:
            return False
        day_ok = when.day in self.days
        weekday_ok = when.isoweekday() % 7 in self.weekdays
        # cron's rule: when both day fields are restricted, either one may match.
        if self.day_restricted and self.weekday_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok


def parse_cron_value(text: str, field: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise CronError(f"{field}: {text!r} is not a number")
    return int(text)


def parse_cron_field(text: str, field: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{field}: step {step_text!r} in {part!r} is not a positive number")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = parse_cron_value(first, field, names), parse_cron_value(last, field, names)
        elif slash:
            raise CronError(f"{field}: a step needs a range or '*' before it, not {part!r}")
        else:
            start = end = parse_cron_value(base, field, names)
        if not low <= start <= end <= high:
            raise CronError(f"{field}: {part!r} is outside {low}-{high} or runs backwards")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron_line(line: str) -> CronEntry | None:
    """One crontab line: an entry, or None for a blank line, a comment or a variable."""
    text = line.strip()
    if not text or text.startswith("#") or ENV_ASSIGNMENT.match(text):
        return None
    if text.startswith("@"):
        nickname, _, command = text.partition(" ")
        if nickname == "@reboot":
            empty: frozenset[int] = frozenset()
            return CronEntry(empty, empty, empty, empty, empty, False, False, command.strip(), at_reboot=True)
        if nickname not in CRON_NICKNAMES:
            raise CronError(f"unknown schedule {nickname!r}")
        text = f"{CRON_NICKNAMES[nickname]} {command}"
    parts = text.split(None, 5)
    if len(parts) < 6:
        raise CronError(f"expected 5 time fields and a command, got {len(parts)} fields: {line!r}")
    fields = [
        parse_cron_field(value, name, low, high, MONTH_NAMES if name == "month" else DAY_NAMES)
        for value, (name, low, high) in zip(parts[:5], CRON_FIELDS, strict=True)
    ]
    command = parts[5]
    # cron turns an unescaped % into a newline: `date +%F` silently breaks a command.
    if re.search(r"(?<!\\)%", command):
        raise CronError(f"unescaped % in the command (cron reads it as a newline): {command!r}")
    weekdays = frozenset(0 if day == 7 else day for day in fields[4])
    return CronEntry(
        fields[0], fields[1], fields[2], fields[3], weekdays, parts[2] != "*", parts[4] != "*", command
    )


def crontab_entries() -> list[CronEntry]:
    entries = []
    for number, line in enumerate((ROOT / "crontab.txt").read_text().splitlines(), 1):
        try:
            entry = parse_cron_line(line)
        except CronError as exc:
            pytest.fail(f"crontab.txt line {number}: {exc}")
        if entry is not None:
            entries.append(entry)
    return entries


def cron_action(entry: CronEntry) -> str:
    compose = f"docker compose -f {HOST_COMPOSE_FILE}"
    assert compose in entry.command, f"the command does not use {compose}: {entry.command!r}"
    if re.search(r"\bmanage\.py refresh_universe\b", entry.command):
        return "refresh"  # a one-shot container: the stack's state does not change
    if re.search(r"\bup -d\b", entry.command):
        return "up"
    if re.search(r"\bstop\b", entry.command):
        return "stop"
    raise AssertionError(f"the command neither starts (up -d) nor stops the stack: {entry.command!r}")


def replay_week(entries: list[CronEntry], start: datetime) -> dict[datetime, bool]:
    """Is the stack up at each minute of the week from ``start``? It is down at the start."""
    up = False
    state: dict[datetime, bool] = {}
    when = start
    while when < start + timedelta(days=8):
        for entry in entries:
            if entry.matches(when) and (action := cron_action(entry)) != "refresh":
                up = action == "up"
        state[when] = up
        when += timedelta(minutes=1)
    return state


def minutes_between(first: datetime, last: datetime) -> Iterator[datetime]:
    when = first
    while when <= last:
        yield when
        when += timedelta(minutes=1)


def test_every_crontab_line_is_a_valid_entry_that_drives_the_compose_file() -> None:
    entries = crontab_entries()
    assert len(entries) >= 4, "crontab.txt needs a start and a stop for the day and the night session"
    actions = [cron_action(entry) for entry in entries]
    assert actions.count("up") >= 2
    assert actions.count("stop") >= 2


def test_crontab_has_the_stack_up_through_every_session_and_down_at_weekends() -> None:
    sunday = datetime(2026, 11, 15)
    assert sunday.isoweekday() == 7
    up = replay_week(crontab_entries(), sunday)
    for offset in range(1, 6):  # Monday to Friday
        day = sunday + timedelta(days=offset)
        name = day.strftime("%A")
        # Day session with its 08:55 auction (and CFFEX bond futures to 15:15), up 5 minutes early.
        for minute in minutes_between(day.replace(hour=8, minute=50), day.replace(hour=15, minute=15)):
            assert up[minute], f"the stack is down on {name} at {minute:%H:%M}, inside the day session"
        # Night session from its 20:55 auction to at most 02:30 the next morning.
        night_end = (day + timedelta(days=1)).replace(hour=2, minute=30)
        for minute in minutes_between(day.replace(hour=20, minute=50), night_end):
            assert up[minute], f"the stack is down on {name} night at {minute:%a %H:%M}, in the night session"
        assert not up[day.replace(hour=17)], f"the stack is never stopped after the day session on {name}"
        assert not up[day.replace(hour=6)], f"the stack is still up on {name} at 06:00, after the night"
    assert not up[sunday.replace(day=21, hour=12)], "the stack is up on Saturday"
    assert not up[sunday.replace(day=22, hour=12)], "the stack is up on Sunday"


def test_the_contract_table_is_refreshed_shortly_before_every_start() -> None:
    entries = crontab_entries()
    sunday = datetime(2026, 11, 15)
    for minute in minutes_between(sunday, sunday + timedelta(days=7)):
        if any(e.matches(minute) and cron_action(e) == "up" for e in entries):
            before = [minute - timedelta(minutes=n) for n in range(1, 31)]
            assert any(e.matches(m) and cron_action(e) == "refresh" for e in entries for m in before), (
                f"no `manage.py refresh_universe` in the 30 minutes before the start at {minute:%a %H:%M}"
            )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("61 8 * * 1-5 docker compose up -d", "outside 0-59"),
        ("40 24 * * 1-5 docker compose up -d", "outside 0-23"),
        ("40 8 * * mon-fry docker compose up -d", "not a number"),
        ("40 8 * 1-5 docker compose up -d", "not a number"),
        ("40 8 * *", "expected 5 time fields"),
        ("5/10 8 * * 1-5 docker compose up -d", "needs a range"),
        ("40 8 * * 5-1 docker compose up -d", "runs backwards"),
        ("40 8 * * 1-5 tar czf /backup/db-$(date +%F).tgz /data", "unescaped %"),
        ("@fortnightly docker compose up -d", "unknown schedule"),
    ],
)
def test_cron_parser_rejects_broken_lines(line: str, reason: str) -> None:
    with pytest.raises(CronError, match=reason):
        parse_cron_line(line)


def test_cron_parser_reads_names_steps_lists_and_sunday_as_seven() -> None:
    entry = parse_cron_line("*/15 8-9,21 * jan-mar sun,7 echo hi")
    assert entry is not None
    assert entry.minutes == {0, 15, 30, 45}
    assert entry.hours == {8, 9, 21}
    assert entry.months == {1, 2, 3}
    assert entry.weekdays == {0}
    assert parse_cron_line("# 61 99 comment") is None
    assert parse_cron_line("SHELL=/bin/sh") is None


# --- docker-compose.yml -----------------------------------------------------------------


def compose_project(tmp_path: Path, compose_text: str | None = None) -> Path:
    """A copy of the deployment files as an operator has them: .env made from .env.example."""
    for name in ("docker-compose.yml", "Dockerfile", ".dockerignore"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    if compose_text is not None:
        (tmp_path / "docker-compose.yml").write_text(compose_text)
    return tmp_path


def run_compose(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose_cli(), "-f", str(project / "docker-compose.yml"), *args],
        cwd=project,
        env=clean_env(HOME=str(project)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def compose_config(project: Path, *profile: str) -> dict[str, Any]:
    result = run_compose(project, *profile, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def test_compose_file_is_valid(tmp_path: Path) -> None:
    result = run_compose(compose_project(tmp_path), "config", "-q")
    assert result.returncode == 0, f"docker compose config failed:\n{result.stderr}"
    # Warnings such as "The X variable is not set" mean .env.example misses something.
    assert result.stderr.strip() == "", result.stderr


def test_compose_file_is_valid_with_the_mongo_profile(tmp_path: Path) -> None:
    project = compose_project(tmp_path)
    result = run_compose(project, "--profile", "mongo", "config", "-q")
    assert result.returncode == 0, f"docker compose --profile mongo config failed:\n{result.stderr}"
    services = compose_config(project, "--profile", "mongo")["services"]
    assert "mongo" in services
    assert "mongo" not in compose_config(project)["services"], "MongoDB must be opt-in (profile mongo)"


def test_compose_validation_catches_a_broken_file(tmp_path: Path) -> None:
    valid = (ROOT / "docker-compose.yml").read_text()
    broken = valid.replace("condition: service_completed_successfully", "condition: service_finished", 1)
    assert "service_finished" in broken
    result = run_compose(compose_project(tmp_path, broken), "config", "-q")
    assert result.returncode != 0, "docker compose config accepted an invalid depends_on condition"


def test_compose_runs_web_hub_and_qcluster_with_health_checks_after_migrating(tmp_path: Path) -> None:
    services = compose_config(compose_project(tmp_path))["services"]
    assert {"redis", "mariadb", "migrate", *APP_SERVICES} <= set(services)
    for name, service in services.items():
        if name != "migrate":
            assert service.get("restart") == "unless-stopped", f"{name} has no restart policy"
            assert "healthcheck" in service, f"{name} has no health check"
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["migrate"].get("restart") == "no"
    for name in APP_SERVICES:
        service = services[name]
        assert service["image"] == services["migrate"]["image"], f"{name} does not run the mdhub image"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["init"] is True, f"{name} needs an init process to reap children and pass signals"
        # env_file: .env reached the container.
        assert service["environment"]["ALERT_EMAIL_TO"] == "ryanflavor@163.com"
    assert services["web"]["command"][:1] == ["daphne"]
    assert services["hub"]["command"] == ["python", "manage.py", "runhub"]
    assert services["qcluster"]["command"] == ["python", "manage.py", "qcluster"]


def test_compose_publishes_zeromq_ports_and_keeps_flow_and_run_files_on_volumes(tmp_path: Path) -> None:
    hub = compose_config(compose_project(tmp_path))["services"]["hub"]
    published = {(port["target"], port["published"], port.get("host_ip")) for port in hub["ports"]}
    # No host_ip: bound on every interface, so the strategies on the LAN reach them.
    assert published == {
        (5555, "5555", None),
        (5556, "5556", None),
        (5557, "5557", None),
        (5558, "5558", None),
    }
    targets = {volume["target"]: volume["type"] for volume in hub["volumes"]}
    assert targets.get("/app/.vntrader") == "volume"
    assert targets.get(hub["environment"]["MDHUB_RUN_DIR"]) == "volume"


def test_env_example_makes_a_database_url_for_the_mariadb_service(tmp_path: Path) -> None:
    services = compose_config(compose_project(tmp_path))["services"]
    database = services["mariadb"]["environment"]
    url = services["web"]["environment"]["DATABASE_URL"]
    user, password, name = (database[key] for key in ("MARIADB_USER", "MARIADB_PASSWORD", "MARIADB_DATABASE"))
    expected = f"mysql://{user}:{password}@mariadb:3306/{name}"
    assert url == expected


# --- the health checks, run for real against the processes they watch ----------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def health_code(tmp_path: Path, service: str, old: str, new: str) -> str:
    test = compose_config(compose_project(tmp_path))["services"][service]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], f"{service}: expected a python -c health check, got {test}"
    code: str = test[3]
    assert old in code, f"{service}: the health check no longer mentions {old}"
    return code.replace(old, new)


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def run_health_check(code: str, env: dict[str, str]) -> int:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=60, check=False
    ).returncode


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited before it listened"
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"nothing listened on port {port} after {seconds} s")


def app_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    settings = {
        "DJANGO_SETTINGS_MODULE": "mdhub_project.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "MDHUB_RUN_DIR": str(tmp_path / "run"),
        "HOME": str(tmp_path),
    }
    return clean_env(**{**settings, **extra})


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """DATABASE_URL of an SQLite database with every migration applied."""
    folder = tmp_path_factory.mktemp("db")
    env = app_env(folder)
    migrate = run_python(["manage.py", "migrate", "--noinput"], env)
    assert migrate.returncode == 0, migrate.stderr
    return env["DATABASE_URL"]


def test_web_health_check_passes_on_a_running_daphne_and_fails_for_a_host_it_does_not_serve(
    tmp_path: Path,
) -> None:
    port = free_port()
    code = health_code(tmp_path, "web", ":8000/", f":{port}/")
    env = app_env(tmp_path, ALLOWED_HOSTS="mdhub.lan,.example.com")
    daphne = subprocess.Popen(
        [str(Path(sys.executable).with_name("daphne")), "-b", "127.0.0.1", "-p", str(port),
         "mdhub_project.asgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, daphne)
        assert run_health_check(code, env) == 0, "the web health check fails against a healthy server"
        other = {**env, "ALLOWED_HOSTS": "elsewhere.lan"}
        assert run_health_check(code, other) != 0, "the web health check passed on a 400 answer"
    finally:
        stop(daphne)


def test_hub_health_check_passes_while_runhub_publishes_ticks(tmp_path: Path, migrated_db: str) -> None:
    port = free_port()
    code = health_code(tmp_path, "hub", "5555", str(port))
    env = app_env(
        tmp_path,
        DATABASE_URL=migrated_db,
        MDHUB_PUB_ADDR=f"tcp://*:{port}",
        MDHUB_SNAPSHOT_ADDR=f"tcp://*:{free_port()}",
        # Beyond loopback: CURVE on (mdhub.E030), as in the container.
        MDHUB_CURVE="true",
        MDHUB_RUN_DIR=str(tmp_path / "run"),
        # No Redis: the engine must run without it, and so must its health check.
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    assert run_health_check(code, env) != 0, "the hub health check passes with no hub"
    hub = subprocess.Popen(
        [sys.executable, "manage.py", "runhub"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while run_health_check(code, env) != 0:
            assert hub.poll() is None, "runhub exited"
            assert time.monotonic() < deadline, "the hub health check never passed on a running hub"
            time.sleep(0.5)
    finally:
        stop(hub)
    assert run_health_check(code, env) != 0, "the hub health check passes after the hub stopped"


def test_qcluster_health_check_follows_the_cluster(tmp_path: Path, migrated_db: str) -> None:
    code = health_code(tmp_path, "qcluster", "Stat.get_all()", "Stat.get_all()")
    redis_port = free_port()
    redis = subprocess.Popen(
        [find_tool("redis-server"), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    env = app_env(tmp_path, DATABASE_URL=migrated_db, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0")
    cluster: subprocess.Popen[bytes] | None = None
    try:
        wait_for_port(redis_port, redis)
        assert run_health_check(code, env) != 0, "the qcluster health check passes with no cluster"
        cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while run_health_check(code, env) != 0:
            assert cluster.poll() is None, "qcluster exited"
            assert time.monotonic() < deadline, "the qcluster health check never passed on a running cluster"
            time.sleep(1)
    finally:
        if cluster is not None:
            stop(cluster)
        stop(redis)


# --- Dockerfile ---------------------------------------------------------------------------


def hadolint(dockerfile: str, *options: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [find_tool("hadolint"), "--no-fail", "--format", "json", *options, "-"],
        input=dockerfile,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"hadolint did not run: {result.stderr}"
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    return findings


def describe(findings: list[dict[str, Any]]) -> str:
    return "\n".join(f"line {f['line']}: {f['code']} {f['level']}: {f['message']}" for f in findings)


def test_dockerfile_passes_hadolint() -> None:
    findings = hadolint((ROOT / "Dockerfile").read_text())
    assert findings == [], f"hadolint:\n{describe(findings)}"


def test_dockerfile_silences_only_the_apt_version_pin_rule() -> None:
    # Pinning Debian package versions breaks the build whenever the base image moves on.
    findings = hadolint((ROOT / "Dockerfile").read_text(), "--disable-ignore-pragma")
    assert {f["code"] for f in findings} <= {"DL3008"}, describe(findings)


def test_hadolint_reports_a_bad_dockerfile() -> None:
    findings = hadolint("FROM python\nRUN cd /app && apt-get install gcc\n")
    assert {"DL3006", "DL3003"} <= {f["code"] for f in findings}, describe(findings)


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions, continuation lines joined, grouped by stage."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_dockerfile_builds_the_dashboard_compiles_the_gateways_and_runs_as_a_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.12-", dockerfile, re.MULTILINE)
    stages = dockerfile_stages()
    names = [re.sub(r".* AS ", "", stage[0]) for stage in stages]
    assert names == ["dashboard", "build", "runtime"]
    dashboard, build, runtime = ("\n".join(stage) for stage in stages)
    assert "npm ci" in dashboard and "npm run build" in dashboard
    assert "pip install -r requirements.txt" in build
    assert "python -m gateways.vnpy_repair" in build
    # The compiled tick path is built where the compiler is and copied into the runtime.
    assert "python -m aggregation.build_ext" in build and "zlib1g-dev" in build
    assert "COPY --from=build /src/aggregation/*.so ./aggregation/" in runtime
    assert "g++" in build and "libmariadb-dev" in build and "pkg-config" in build
    assert "libmariadb3" in runtime and "libstdc++6" in runtime
    assert "g++" not in runtime and "npm" not in runtime
    users = [line.split()[1] for line in stages[-1] if line.startswith("USER ")]
    assert users, "the runtime stage sets no USER"
    assert users[-1].split(":")[0] not in {"0", "root"}, "the image runs as root"
    assert stages[-1][-1] == 'CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "mdhub_project.asgi:application"]'


def test_dockerignore_keeps_secrets_local_state_and_build_products_out() -> None:
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if not line.startswith("#")
    }
    needed = {
        ".git",
        ".env",
        ".venv/",
        "run/",
        ".vntrader/",
        "db.sqlite3",
        "frontend/node_modules/",
        "aggregation/*.so",
    }
    needed.add("frontend/out/")
    assert needed <= ignored, f"missing from .dockerignore: {sorted(needed - ignored)}"


# --- shell scripts ------------------------------------------------------------------------


SHELL_SCRIPTS = [
    "dev",
    ".ci/run",
    "devtools/deploy-tools",
    "frontend/scripts/e2e-local.sh",
    "frontend/scripts/e2e-hub.sh",
    "frontend/scripts/e2e-fault.sh",
]


@pytest.mark.parametrize("script", SHELL_SCRIPTS)
def test_shell_script_passes_shellcheck(script: str) -> None:
    result = subprocess.run(
        [find_tool("shellcheck"), "-x", str(ROOT / script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- .env.example -------------------------------------------------------------------------

# The settings an operator sets for a deployment (the list).
DOCUMENTED_SETTINGS = [
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DEBUG",
    "MDHUB_PUB_ADDR",
    "MDHUB_SNAPSHOT_ADDR",
    "MDHUB_RECOVERY_ADDR",
    "MDHUB_JOURNAL",
    "MDHUB_JOURNAL_DIR",
    "MDHUB_RUN_DIR",
    "ALERT_EMAIL_TO",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "DEFAULT_FROM_EMAIL",
    "LOG_LEVEL",
    "TIME_ZONE",
    # The JetStream bridge and its cluster (bridge/config.py, docker-compose.yml).
    "MDHUB_NATS_URL",
    "MDHUB_NATS_USER",
    "MDHUB_NATS_PASSWORD",
    "MDHUB_NATS_PASSWORD_FILE",
    "MDHUB_NATS_READER_USER",
    "MDHUB_NATS_READER_PASSWORD",
    "MDHUB_NATS_STREAM",
    "MDHUB_NATS_REPLICAS",
    "MDHUB_NATS_MAX_AGE_HOURS",
    "MDHUB_NATS_MAX_GB",
    "MDHUB_NATS_DUPLICATE_WINDOW",
    "MDHUB_NATS_PORT",
    "MDHUB_BRIDGE_HUB",
    "MDHUB_BRIDGE_NAME",
    "MDHUB_BRIDGE_STATE_DIR",
    "MDHUB_BRIDGE_BUFFER",
    "MDHUB_BRIDGE_INFLIGHT",
    "MDHUB_BRIDGE_ACK_TIMEOUT",
    "MDHUB_BRIDGE_START",
    "NATS_HUB_PASSWORD",
    "NATS_READER_PASSWORD",
    "NATS_SYS_PASSWORD",
]


def env_example_names() -> set[str]:
    """Every NAME=value line, set or commented out (commented: the default applies)."""
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


def test_env_example_lists_every_setting_the_project_reads() -> None:
    settings_source = (ROOT / "mdhub_project" / "settings.py").read_text()
    read = set(re.findall(r"\benv_(?:str|bool|int|float|list|secret)\(\s*\"([A-Z0-9_]+)\"", settings_source))
    assert read, "found no env_*() calls in mdhub_project/settings.py"
    missing = (read | set(DOCUMENTED_SETTINGS)) - env_example_names()
    assert not missing, f".env.example does not mention {sorted(missing)}: add each with a comment"


def test_env_example_sends_alerts_to_the_desk() -> None:
    assert "ALERT_EMAIL_TO=ryanflavor@163.com" in (ROOT / ".env.example").read_text().splitlines()


def test_settings_accept_the_values_of_env_example(tmp_path: Path) -> None:
    environment = compose_config(compose_project(tmp_path))["services"]["web"]["environment"]
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.DATABASES['default']['ENGINE'], s.DATABASES['default']['HOST'], s.DEBUG, "
        "s.EMAIL_PORT, s.EMAIL_USE_TLS, s.ALERT_EMAIL_TO, str(s.MDHUB_RUN_DIR)]))"
    )
    env = clean_env(DJANGO_SETTINGS_MODULE="mdhub_project.settings", HOME=str(tmp_path), **environment)
    result = run_python(["-c", probe], env)
    assert result.returncode == 0, result.stderr
    engine, host, debug, port, tls, alerts, run_dir = json.loads(result.stdout)
    assert (engine, host) == ("django.db.backends.mysql", "mariadb")
    assert (debug, port, tls, alerts, run_dir) == (False, 587, True, ["ryanflavor@163.com"], "/app/run")
    check = run_python(["manage.py", "check"], env)
    assert check.returncode == 0, check.stderr
