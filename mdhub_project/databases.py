"""Turn ``DATABASE_URL`` into Django's ``DATABASES["default"]``.

SQLite needs no set-up, so it is the default. MySQL/MariaDB and MongoDB are picked by the
URL's scheme. MongoDB goes through ``django-mongodb-backend`` (the MongoDB-maintained
backend): djongo translates SQL to MongoDB queries, stopped at Django 4.x and does not run
on a supported Django, so it is not an option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

MYSQL_SCHEMES = frozenset({"mysql", "mariadb", "mysql2"})
MONGODB_SCHEMES = frozenset({"mongodb", "mongodb+srv"})


class DatabaseUrlError(ValueError):
    pass


def database_from_url(url: str, base_dir: Path) -> dict[str, Any]:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        return _sqlite(url, base_dir)
    if scheme in MYSQL_SCHEMES:
        return _mysql(url)
    if scheme in MONGODB_SCHEMES:
        return _mongodb(url)
    raise DatabaseUrlError(
        f"DATABASE_URL scheme {scheme!r} is not supported: use sqlite:///path, "
        "mysql://user:pass@host:3306/name or mongodb://host:27017/name"
    )


def _sqlite(url: str, base_dir: Path) -> dict[str, Any]:
    # sqlite:///relative/path.db is relative to the project; sqlite:////abs/path.db is absolute.
    path = url[len("sqlite://") :]
    if path.startswith("/"):
        path = path[1:]
    name = Path(path) if path.startswith("/") else base_dir / path
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(name),
        # The hub and the web process write the same file: wait for the lock instead of failing.
        "OPTIONS": {"timeout": 20},
    }


def _mysql(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise DatabaseUrlError("DATABASE_URL for MySQL/MariaDB must name the database: mysql://…/mdhub")
    return {
        "ENGINE": "django.db.backends.mysql",
        "NAME": unquote(name),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 3306),
        "OPTIONS": {"charset": "utf8mb4"},
        "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
    }


def _mongodb(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise DatabaseUrlError("DATABASE_URL for MongoDB must name the database: mongodb://…/mdhub")
    return {
        "ENGINE": "django_mongodb_backend",
        "HOST": url,
        "NAME": unquote(name),
    }
