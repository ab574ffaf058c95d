from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from gateways import checks as gateway_checks
from gateways.logredact import RedactSecretsFilter, redact
from mdhub_project.databases import DatabaseUrlError, database_from_url
from mdhub_project.env import EnvError, env_bool, env_int, env_list, env_secret


def test_env_helpers_read_typed_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_bool("X_BOOL") is True
    assert env_int("X_INT", 0) == 42
    assert env_list("X_LIST") == ["a", "b", "c"]
    secret_file = tmp_path / "pw"
    secret_file.write_text("from-file\n")
    monkeypatch.setenv("X_SECRET", "from-env")
    monkeypatch.setenv("X_SECRET_FILE", str(secret_file))
    assert env_secret("X_SECRET") == "from-file"


def test_env_helpers_say_what_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "maybe")
    monkeypatch.setenv("X_INT", "4.5")
    with pytest.raises(EnvError, match="X_BOOL='maybe' is not a boolean"):
        env_bool("X_BOOL")
    with pytest.raises(EnvError, match=r"X_INT='4\.5' is not a whole number"):
        env_int("X_INT", 0)


def test_database_url_picks_the_backend(tmp_path: Path) -> None:
    assert database_from_url("sqlite:///db.sqlite3", tmp_path)["NAME"] == str(tmp_path / "db.sqlite3")
    assert database_from_url("sqlite:////var/x.db", tmp_path)["NAME"] == "/var/x.db"
    mysql = database_from_url("mysql://u:p%40ss@db:3307/mdhub", tmp_path)
    assert (mysql["ENGINE"], mysql["HOST"], mysql["PORT"], mysql["PASSWORD"], mysql["NAME"]) == (
        "django.db.backends.mysql",
        "db",
        "3307",
        "p@ss",
        "mdhub",
    )
    mongo = database_from_url("mongodb://mongo:27017/mdhub", tmp_path)
    assert mongo["ENGINE"] == "django_mongodb_backend" and mongo["NAME"] == "mdhub"
    with pytest.raises(DatabaseUrlError, match="scheme 'postgres' is not supported"):
        database_from_url("postgres://x/y", tmp_path)
    with pytest.raises(DatabaseUrlError, match="must name the database"):
        database_from_url("mysql://u:p@db:3306/", tmp_path)


def test_secrets_are_redacted_from_log_lines() -> None:
    assert (
        redact("connect {'password': 'hunter2', 'userID': '1'}")
        == "connect {'password': '***', 'userID': '1'}"
    )
    assert redact('{"authCode": "ABC", "x": 1}') == '{"authCode": "***", "x": 1}'
    assert redact("login password=hunter2 user=1") == "login password=*** user=1"
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "setting %s", ({"密码": "pw1"},), None)
    RedactSecretsFilter().filter(record)
    assert "pw1" not in record.getMessage()


def test_gateway_packages_import_after_the_repair() -> None:
    assert gateway_checks.gateway_import_problem("vnpy_ctp") is None
    assert gateway_checks.gateway_import_problem("vnpy_sopt") is None
    assert [m for m in run_checks() if m.id == "gateways.E001"] == []


def test_gateway_check_reports_a_broken_link_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A module whose NEEDED entry points at a vanished build tree, as a source build leaves it.
    package = tmp_path / "fake_gw"
    (package / "api").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "api" / "vnfakemd.so").write_bytes(b"\x7fELF not really a library")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(gateway_checks.GATEWAY_PACKAGES, "fake_gw", ())
    errors = [m for m in run_checks() if m.id == "gateways.E001"]
    assert len(errors) == 1
    assert "fake_gw does not import" in errors[0].msg
    assert "python -m gateways.vnpy_repair" in (errors[0].hint or "")


def test_gateway_check_names_a_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(gateway_checks.GATEWAY_PACKAGES, "vnpy_sopt", ("vnpy", "no_such_module_xyz"))
    problem = gateway_checks.gateway_import_problem("vnpy_sopt")
    assert problem == (
        "vnpy_sopt needs no_such_module_xyz, which is not installed.",
        "pip install no_such_module_xyz",
    )


def test_secret_key_check_warns_on_the_development_key() -> None:
    ids = {m.id for m in run_checks(include_deployment_checks=True)}
    assert "mdhub.W001" in ids
    with override_settings(SECRET_KEY="x" * 60):
        assert "mdhub.W001" not in {m.id for m in run_checks(include_deployment_checks=True)}


def test_alert_recipients_must_be_addresses() -> None:
    with override_settings(ALERT_EMAIL_TO=["ops@example.com", "nobody"]):
        errors = [m for m in run_checks() if m.id == "mdhub.E002"]
    assert len(errors) == 1 and "nobody" in errors[0].msg
