"""CURVE keys for the hub's ZeroMQ endpoints (docs/access.md). No Django import: clients use it.

Keys travel as Z85 text (40 characters), as ``zmq.curve_keypair`` makes them and as
libzmq's own tools print them. A key file holds ``public`` and ``secret`` lines (the
format ``write_keys`` writes); a secret is never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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


# The hub's own readers (data services, the JetStream bridge) connect as this client: full
# rights, a key pair the hub keeps beside its server key (docs/access.md, "The hub's own
# readers"). The name is reserved: an operator's stream client cannot take it.
INTERNAL_CLIENT = "mdhub-internal"
INTERNAL_KEY_NAME = "internal.key"


def internal_key_file(server_key_file: Path) -> Path:
    """Where the internal client's keys live: beside the hub's server key."""
    return server_key_file.with_name(INTERNAL_KEY_NAME)


def write_internal_keys(path: Path, server_public: str) -> CurveKeys:
    """Keep (or make) the internal client's pair in ``path`` and record the hub's current
    public key in it (``server = …``), owner-only: one file is all a reader needs."""
    keys = CurveKeys.read(path) if path.exists() else CurveKeys.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"public = {keys.public}\nsecret = {keys.secret}\nserver = {server_public}\n")
    return keys


def read_internal_keys(path: Path) -> tuple[CurveKeys, str]:
    """The internal client's pair and the hub's public key from ``path``; ``ValueError``
    (saying what to do) when it is not there or not whole."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(
            f"{path}: {exc.strerror}; the hub writes it when it starts with MDHUB_CURVE on "
            "(start the hub first, or point MDHUB_CURVE_KEY_FILE at the hub's server key)"
        ) from None
    server = ""
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if name.strip() == "server":
            server = value.strip()
    if not is_z85_key(server):
        raise ValueError(
            f"{path} names no hub public key (a 'server = …' line): restart the hub to rewrite it"
        )
    return CurveKeys.read(path), server


def internal_key_file_from_env(env: Mapping[str, str]) -> Path | None:
    """For a reader the hub did not start itself (the bridge): the internal key file when
    ``MDHUB_CURVE`` is on in ``env``, found as the hub finds its server key; None when off."""
    if env.get("MDHUB_CURVE", "").strip().lower() not in ("1", "true", "yes", "on"):
        return None
    server_file = env.get("MDHUB_CURVE_KEY_FILE", "").strip()
    if not server_file:
        server_file = str(Path(env.get("MDHUB_RUN_DIR", "").strip() or "run") / "curve" / "server.key")
    return internal_key_file(Path(server_file))
