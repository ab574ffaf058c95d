"""django-q2 tasks run by ``manage.py qcluster``."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from gateways.logredact import redact


def send_alert_mail(subject: str, body: str) -> int:
    """Mail an alert (``monitoring.alerts``) to ALERT_EMAIL_TO; how many mails went out.

    Recipients are read here, in the worker, so that changing ALERT_EMAIL_TO needs only a
    restart of the cluster. An SMTP failure raises, so django-q2 records it and retries.
    """
    if not settings.ALERT_EMAIL_TO:
        return 0
    # Redacted once more: the text was redacted where it was logged, but a task queued by
    # another version of the code must not be able to leak a secret either.
    return send_mail(redact(subject), redact(body), settings.DEFAULT_FROM_EMAIL, settings.ALERT_EMAIL_TO)
