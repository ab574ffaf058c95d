"""Keep broker secrets out of every log line, whoever logs them."""

from __future__ import annotations

import logging
import re

# password=..., "authCode": "...", 'password': '...', 密码 (vn.py's key) and friends.
SECRET_PATTERN = re.compile(
    r"""(?P<key>["']?(?:password|passwd|authCode|auth_code|密码|授权编码)["']?\s*[:=]\s*)(?P<q>["']?)[^"',\s}]+(?P=q)""",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    return SECRET_PATTERN.sub(lambda m: f"{m.group('key')}{m.group('q')}***{m.group('q')}", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
