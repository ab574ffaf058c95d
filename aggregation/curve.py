"""CURVE keys for the hub's ZeroMQ endpoints (docs/access.md). No Django import: clients use it.

Keys travel as Z85 text (40 characters), as ``zmq.curve_keypair`` makes them and as
libzmq's own tools print them. A key file holds ``public`` and ``secret`` lines (the
format ``write_keys`` writes); a secret is never logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from zmq.utils import z85

Z85_KEY_LENGTH = 40
ZAP_DOMAIN = b"mdhub"


def is_z85_key(text: str) -> bool:
    """Whether ``text`` looks like a Z85-encoded 32-byte CURVE key."""
    if len(text) != Z85_KEY_LENGTH or not text.isascii():
        return False
    try:
        return len(z85.decode(text.encode())) == 32
    except (ValueError, KeyError):
        return False


@dataclass(frozen=True, slots=True)
class CurveKeys:
    """A CURVE key pair, Z85 text; ``secret`` stays out of ``repr``."""

    public: str
    secret: str = field(repr=False)

    @classmethod
    def generate(cls) -> CurveKeys:
        public, secret = zmq.curve_keypair()
        return cls(public.decode(), secret.decode())

    @classmethod
    def from_secret(cls, secret: str) -> CurveKeys:
        return cls(zmq.curve_public(secret.encode()).decode(), secret)

    @classmethod
    def read(cls, path: Path) -> CurveKeys:
        """Keys from a file of ``public = …`` / ``secret = …`` lines (or a bare secret)."""
        values: dict[str, str] = {}
        text = path.read_text()
        for line in text.splitlines():
            name, sep, value = line.partition("=")
            if sep:
                values[name.strip()] = value.strip().strip('"')
        secret = values.get("secret") or text.strip()
        if not is_z85_key(secret):
            raise ValueError(f"{path} holds no Z85 CURVE secret key (a 'secret = …' line of 40 characters)")
        return cls.from_secret(secret)

    def write(self, path: Path) -> None:
        """Write the pair to ``path``, readable by its owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"public = {self.public}\nsecret = {self.secret}\n")


def make_server(sock: zmq.Socket[Any], keys: CurveKeys) -> None:
    """Turn ``sock`` into a CURVE server under the hub's ZAP domain (set before ``bind``)."""
    sock.setsockopt(zmq.CURVE_SERVER, 1)
    sock.setsockopt(zmq.CURVE_SECRETKEY, keys.secret.encode())
    sock.setsockopt(zmq.ZAP_DOMAIN, ZAP_DOMAIN)


def make_client(sock: zmq.Socket[Any], keys: CurveKeys, server_key: str) -> None:
    """Make ``sock`` a CURVE client of the server with public key ``server_key`` (before ``connect``)."""
    sock.setsockopt(zmq.CURVE_SERVERKEY, server_key.encode())
    sock.setsockopt(zmq.CURVE_PUBLICKEY, keys.public.encode())
    sock.setsockopt(zmq.CURVE_SECRETKEY, keys.secret.encode())
