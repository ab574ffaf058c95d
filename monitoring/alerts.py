"""E-mail alerts for ERROR log records (NFR9, DESIGN §8).

``AlertMailHandler`` sits on the root logger of every process (web, hub, qcluster) when
ALERT_EMAIL_TO is set (settings.LOGGING). Logging happens on hot paths and inside the
hub, so ``emit()`` only formats the record and puts it on a bounded in-memory queue: it
never blocks on Redis or SMTP and never raises. A daemon thread turns the queue into mails,
queued with django-q2 (``monitoring.tasks.send_alert_mail``) for ``manage.py qcluster``
to send, so an SMTP outage is retried there and never stalls the process that logged.

Throttling, per process: the first ERROR mails at once and opens a window of
``throttle_seconds``. ERRORs inside the window are collected; when it ends they go out as
ONE digest ("[mdhub] 42 more ERROR records ...") and a new window opens, so a storm sends
one mail per window. A window that ends with nothing collected closes, and the next ERROR
mails at once again. At exit (``logging.shutdown`` → ``close()``) a pending digest is
sent rather than lost.

Secrets: the handler applies ``RedactSecretsFilter`` itself, whatever the configuration,
and redacts the formatted text (tracebacks included) again.

No Django import at module level: ``logging.config`` loads this module while settings are
being set up, before the app registry exists.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from gateways.logredact import RedactSecretsFilter, redact

# The django-q2 task name of alert mails. The cluster logs a failed task at ERROR with its
# name; those records are not mailed (the mail is what failed), or an SMTP outage would
# feed itself.
ALERT_TASK_NAME = "mdhub-alert-mail"
TASK_FUNCTION = "monitoring.tasks.send_alert_mail"
# Records kept for a digest's body; the subject still counts all of them.
DIGEST_DETAIL_LIMIT = 50
SUBJECT_PREFIX = "[mdhub]"

Sender = Callable[[str, str], object]


def enqueue_mail(subject: str, body: str) -> None:
    """The default sender: queue the mail for the django-q2 cluster."""
    from django_q.tasks import async_task

    async_task(TASK_FUNCTION, subject, body, task_name=ALERT_TASK_NAME)


@dataclass(frozen=True)
class Alert:
    created: float
    level: str
    logger: str
    summary: str  # first line of the message, for a subject
    text: str  # the formatted record, traceback included

    def line(self) -> str:
        stamp = datetime.fromtimestamp(self.created).strftime("%Y-%m-%d %H:%M:%S")
        return f"{stamp} {self.level} {self.logger}: {self.summary}"


@dataclass
class _Flush:
    """Sent by close(): mail what is collected now and say so."""

    done: threading.Event = field(default_factory=threading.Event)


def _shorten(text: str, limit: int = 120) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


class AlertMailHandler(logging.Handler):
    def __init__(
        self,
        level: int | str = logging.ERROR,
        throttle_seconds: float = 300.0,
        queue_size: int = 1000,
        sender: Sender | None = None,
    ) -> None:
        super().__init__(level)
        # Whatever the LOGGING configuration says: no secret may reach a mailbox.
        self.addFilter(RedactSecretsFilter())
        self.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [pid %(process)d]: %(message)s")
        )
        self.throttle_seconds = float(throttle_seconds)
        self.queue_size = queue_size
        self.sender: Sender = sender or enqueue_mail
        self.host = socket.gethostname()
        self.dropped = 0  # records lost because the queue was full
        self._start_lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.Queue[Alert | _Flush] = queue.Queue(queue_size)
        self._thread: threading.Thread | None = None

    # --- the logging side: cheap, never blocks, never raises ------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if ALERT_TASK_NAME in message:
                return
            alert = Alert(
                created=record.created,
                level=record.levelname,
                logger=record.name,
                summary=_shorten(redact(message)),
                text=redact(self.format(record)),
            )
            self._ensure_worker().put_nowait(alert)
        except queue.Full:
            self.dropped += 1
        except Exception:  # noqa: BLE001 - a logging call must never fail because of alerts
            self.dropped += 1

    def _ensure_worker(self) -> queue.Queue[Alert | _Flush]:
        # Per process: a forked child (django-q2 workers) inherits neither the thread nor a
        # usable queue, so it starts its own on its first ERROR.
        if self._pid == os.getpid() and self._thread is not None:
            return self._queue
        with self._start_lock:
            if self._pid != os.getpid() or self._thread is None:
                self._queue = queue.Queue(self.queue_size)
                self._thread = threading.Thread(
                    target=self._run, args=(self._queue,), name="mdhub-alert-mail", daemon=True
                )
                self._pid = os.getpid()
                self._thread.start()
        return self._queue

    def close(self) -> None:
        """Send a pending digest before the process exits (waits a few seconds at most)."""
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            flush = _Flush()
            with contextlib.suppress(queue.Full):
                self._queue.put(flush, timeout=1)
                flush.done.wait(5)
        super().close()

    # --- the mailing side: the worker thread ---------------------------------------------

    def _run(self, inbox: queue.Queue[Alert | _Flush]) -> None:
        window_end: float | None = None
        # A storm may bring thousands: keep the first few for the digest's body, count all.
        pending: list[Alert] = []
        pending_count = 0
        while True:
            timeout = None if window_end is None else max(0.0, window_end - time.monotonic())
            try:
                item: Alert | _Flush | None = inbox.get(timeout=timeout)
            except queue.Empty:
                item = None
            now = time.monotonic()
            if window_end is not None and now >= window_end:
                if pending_count:
                    self._send(*self.digest(pending, pending_count))
                    pending, pending_count = [], 0
                    window_end = now + self.throttle_seconds
                else:
                    window_end = None
            if item is None:
                continue
            if isinstance(item, _Flush):
                if pending_count:
                    self._send(*self.digest(pending, pending_count))
                    pending, pending_count = [], 0
                item.done.set()
            elif window_end is None:
                self._send(*self.single(item))
                window_end = now + self.throttle_seconds
            else:
                pending_count += 1
                if len(pending) < DIGEST_DETAIL_LIMIT:
                    pending.append(item)

    def _send(self, subject: str, body: str) -> None:
        try:
            self.sender(subject, body)
        except Exception as exc:  # noqa: BLE001 - Redis down, apps not ready, ...: say so, go on
            # Not through logging: an ERROR here would come back to this handler.
            print(f"mdhub alerts: could not queue the alert mail {subject!r}: {exc!r}", file=sys.stderr)

    def single(self, alert: Alert) -> tuple[str, str]:
        subject = f"{SUBJECT_PREFIX} {alert.level} on {self.host}: {alert.summary}"
        body = (
            f"{alert.text}\n\n"
            f"Further {alert.level} records within {self.throttle_seconds:g} s are sent as one digest.\n"
        )
        return subject, body

    def digest(self, alerts: list[Alert], count: int) -> tuple[str, str]:
        noun = "record" if count == 1 else "records"
        subject = f"{SUBJECT_PREFIX} {count} more ERROR {noun} on {self.host} in {self.throttle_seconds:g} s"
        lines = [f"{count} ERROR {noun} on {self.host} since the last alert mail:", ""]
        lines += [alert.line() for alert in alerts]
        if count > len(alerts):
            lines.append(f"... and {count - len(alerts)} more (see the logs).")
        lines += ["", "The first of them in full:", "", alerts[0].text]
        if self.dropped:
            lines += ["", f"{self.dropped} records were not mailed at all: the alert queue was full."]
        return subject, "\n".join(lines) + "\n"
