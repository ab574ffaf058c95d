"""Alert mails for ERROR records (NFR9): throttling, redaction, never blocking the logger,
and the whole path — settings.LOGGING → handler → django-q2 over the real Redis broker →
a real ``manage.py qcluster`` → SMTP — received by an aiosmtpd server in the test."""

from __future__ import annotations

import email
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings

from monitoring.alerts import ALERT_TASK_NAME, AlertMailHandler
from tests.hub_process import redis_url_with_db

ROOT = Path(__file__).resolve().parent.parent
# Its own Redis database: the cluster's queue must not be shared with a running hub's.
ALERT_TEST_DB = 12


class Outbox:
    """What a handler under test handed to its sender."""

    def __init__(self) -> None:
        self.mails: list[tuple[float, str, str]] = []
        self.arrived = threading.Condition()

    def __call__(self, subject: str, body: str) -> None:
        with self.arrived:
            self.mails.append((time.monotonic(), subject, body))
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float) -> list[tuple[float, str, str]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.mails) >= count, timeout)
            return list(self.mails)


def make_logger(handler: logging.Handler, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture
def handler(outbox: Outbox) -> Iterator[AlertMailHandler]:
    alert_handler = AlertMailHandler(throttle_seconds=1.0, sender=outbox)
    yield alert_handler
    alert_handler.close()


# --- the handler on its own ---------------------------------------------------------------------


def test_a_storm_sends_one_mail_at_once_then_one_digest(outbox: Outbox) -> None:
    handler = AlertMailHandler(throttle_seconds=2.0, sender=outbox)
    log = make_logger(handler, "test.alerts.storm")
    started = time.monotonic()
    log.info("not mailed")
    log.warning("not mailed either")
    for i in range(40):
        log.error("feed %d lost", i)
    first = outbox.wait_for(1, timeout=2)
    assert len(first) == 1 and "feed 0 lost" in first[0][1] and first[0][0] - started < 1.0

    mails = outbox.wait_for(2, timeout=4)
    assert len(mails) == 2
    when, subject, body = mails[1]
    assert "39 more ERROR records" in subject
    assert when - started >= 1.9  # at the end of the window, not before
    assert "feed 1 lost" in body and "feed 39 lost" in body and "feed 0 lost" not in body.split("in full")[0]
    # Nothing more: the window after the digest saw no error.
    time.sleep(2.3)
    assert len(outbox.mails) == 2

    # A quiet window has passed: the next error mails at once again.
    log.error("again")
    mails = outbox.wait_for(3, timeout=1.0)
    assert len(mails) == 3 and "again" in mails[2][1]
    handler.close()


def test_a_long_storm_sends_one_mail_per_window(handler: AlertMailHandler, outbox: Outbox) -> None:
    log = make_logger(handler, "test.alerts.long")
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        log.error("still broken")
        time.sleep(0.01)
    time.sleep(1.2)
    subjects = [subject for _, subject, _ in outbox.mails]
    # Immediate, then a digest at 1 s, 2 s and (for the tail) 3 s: never one per record.
    assert 3 <= len(subjects) <= 4, subjects
    assert "still broken" in subjects[0]
    assert all("more ERROR records" in s for s in subjects[1:])


def test_secrets_never_reach_a_mail(handler: AlertMailHandler, outbox: Outbox) -> None:
    log = make_logger(handler, "test.alerts.secrets")
    try:
        raise ConnectionError("login refused for {'password': 'hunter2', 'userID': '0001'}")
    except ConnectionError:
        log.exception("gateway login failed, settings %s", {"password": "hunter2", "authCode": "XYZ-CODE"})
    log.error("again with password=hunter2")
    mails = outbox.wait_for(2, timeout=3)
    assert len(mails) == 2
    text = "\n".join(subject + body for _, subject, body in mails)
    assert "Traceback" in text and "ConnectionError" in text and "'userID': '0001'" in text
    assert "hunter2" not in text and "XYZ-CODE" not in text


def test_emit_never_blocks_or_raises(outbox: Outbox) -> None:
    release = threading.Event()

    def stuck_then_broken(subject: str, body: str) -> None:
        release.wait(5)  # SMTP/Redis hanging
        raise OSError("broker down")

    alert_handler = AlertMailHandler(throttle_seconds=0.1, queue_size=5, sender=stuck_then_broken)
    log = make_logger(alert_handler, "test.alerts.blocked")
    started = time.monotonic()
    for i in range(200):
        log.error("error %d", i)
    assert time.monotonic() - started < 0.5
    assert alert_handler.dropped >= 190  # the queue was full; the logger did not wait
    release.set()
    alert_handler.close()


def test_failures_of_the_alert_task_itself_are_not_mailed(handler: AlertMailHandler, outbox: Outbox) -> None:
    log = make_logger(handler, "django-q")
    log.error("Failed [%s] - SMTPServerDisconnected", ALERT_TASK_NAME)
    log.error("Failed [housekeeping] - boom")
    mails = outbox.wait_for(2, timeout=1.5)
    assert [subject for _, subject, _ in mails] == [mails[0][1]] and "housekeeping" in mails[0][1]


def test_close_sends_the_pending_digest(outbox: Outbox) -> None:
    alert_handler = AlertMailHandler(throttle_seconds=60, sender=outbox)
    log = make_logger(alert_handler, "test.alerts.exit")
    for i in range(3):
        log.error("last words %d", i)
    outbox.wait_for(1, timeout=2)
    alert_handler.close()  # what logging.shutdown() does at exit
    assert len(outbox.mails) == 2, outbox.mails
    assert "2 more ERROR records" in outbox.mails[1][1]


def test_settings_install_the_handler_only_with_recipients() -> None:
    code = (
        "import logging, django; django.setup(); "
        "print(sorted(type(h).__name__ for h in logging.getLogger().handlers))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ALERT_", "EMAIL_"))}
    base["DJANGO_SETTINGS_MODULE"] = "mdhub_project.settings"

    def root_handlers(env: dict[str, str]) -> str:
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, run.stderr[-3000:]
        return run.stdout

    assert "AlertMailHandler" not in root_handlers(base)
    assert "AlertMailHandler" in root_handlers({**base, "ALERT_EMAIL_TO": "ops@example.com"})


# --- end to end: real broker, real cluster, real SMTP -------------------------------------------


@dataclass
class Mailbox:
    received: list[tuple[float, list[str], email.message.EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.received.append((time.monotonic(), list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def wait_for(
        self, count: int, timeout: float
    ) -> list[tuple[float, list[str], email.message.EmailMessage]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.1)
        with self.lock:
            return list(self.received)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def broker() -> Iterator[str]:
    url = redis_url_with_db(settings.REDIS_URL, ALERT_TEST_DB)
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def alert_env(tmp_path: Path, broker: str, smtp_port: int, throttle: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERT_", "EMAIL_", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="mdhub_project.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'qcluster.sqlite3'}",
        REDIS_URL=broker,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_USE_TLS="false",
        EMAIL_USE_SSL="false",
        DEFAULT_FROM_EMAIL="mdhub@test.example",
        ALERT_EMAIL_TO="ops@example.com,desk@example.com",
        ALERT_THROTTLE_SECONDS=str(throttle),
        Q_WORKERS="1",
    )
    return env


def manage(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def qcluster(tmp_path: Path, broker: str, smtp_server: tuple[Mailbox, int]) -> Iterator[dict[str, str]]:
    env = alert_env(tmp_path, broker, smtp_server[1], throttle=3)
    migrated = manage(["migrate", "--noinput"], env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    log_path = tmp_path / "qcluster.log"
    with log_path.open("w") as log_file:
        # Its own session, so that the cleanup can end the cluster's worker processes too.
        cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield env
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            cluster.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(timeout=10)
        with open(log_path) as log_file:
            print(log_file.read()[-5000:])  # shown when the test fails


def test_an_error_storm_is_mailed_once_then_as_one_digest_by_the_cluster(
    qcluster: dict[str, str], smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, _ = smtp_server
    storm = (
        "import logging, time\n"
        "log = logging.getLogger('mdhub.hub')\n"
        "log.error('sim-b login failed, settings %s', {'password': 'hunter2', 'userID': '0001'})\n"
        "for i in range(29):\n"
        "    log.error('tick feed %d lost password=hunter2', i)\n"
        # Stay alive past the 3 s window, so the digest is sent by the window, not by the exit.
        "time.sleep(5)\n"
    )
    started = time.monotonic()
    emitted = manage(["shell", "-c", storm], qcluster, timeout=60)
    assert emitted.returncode == 0, emitted.stderr[-3000:]

    received = mailbox.wait_for(2, timeout=60)
    assert len(received) == 2, [m["Subject"] for _, _, m in received]
    (first_at, first_to, first), (digest_at, _, digest) = received
    assert sorted(first_to) == ["desk@example.com", "ops@example.com"]
    assert first["From"] == "mdhub@test.example"
    assert "sim-b login failed" in first["Subject"] and "ERROR" in first["Subject"]
    assert "29 more ERROR records" in digest["Subject"]
    assert "tick feed 0 lost" in digest.get_content() and "tick feed 28 lost" in digest.get_content()
    # The digest waited for the 3 s window to end. Measured from before the storm began (the
    # window opens at its first record): the cluster may deliver the first mail late.
    assert digest_at - started >= 3.0
    assert digest_at >= first_at
    assert first_at - started < 30
    for _, _, message in received:
        assert "hunter2" not in message.as_string()

    # And no third mail: the storm is one mail plus one digest.
    time.sleep(3)
    assert len(mailbox.received) == 2
