"""The trading calendar's database side: defaults from the migration, edits in the admin."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from aggregation.sessions import DEFAULT_HOLIDAYS, DEFAULT_TEMPLATES
from monitoring.calendar_store import load_calendar
from monitoring.models import Holiday, SessionTemplate

pytestmark = pytest.mark.django_db

# Wednesday 2025-03-12: an ordinary trading day in the defaults.
ORDINARY_DAY = date(2025, 3, 12)


@pytest.fixture
def alice(client: Client) -> Client:
    """alice the operator, logged in to the admin."""
    user = User.objects.create_superuser("alice", "alice@example.com", "correct horse battery")
    client.force_login(user)
    return client


def test_the_migration_loads_the_default_templates_and_holidays() -> None:
    assert SessionTemplate.objects.count() == len(DEFAULT_TEMPLATES)
    assert {row.as_rule() for row in SessionTemplate.objects.all()} == set(DEFAULT_TEMPLATES)
    assert dict(Holiday.objects.values_list("date", "name")) == DEFAULT_HOLIDAYS


def test_the_loaded_calendar_matches_the_defaults() -> None:
    calendar = load_calendar()
    assert calendar.is_open("au2506.SHFE", datetime.combine(ORDINARY_DAY, time(1)))
    assert not calendar.is_open("rb2505.SHFE", datetime.combine(ORDINARY_DAY, time(10, 20)))
    assert calendar.holidays == frozenset(DEFAULT_HOLIDAYS)


def test_a_holiday_added_in_the_database_closes_that_day() -> None:
    ten_am = datetime.combine(ORDINARY_DAY, time(10))
    assert load_calendar().is_open("rb2505.SHFE", ten_am)
    Holiday.objects.create(date=ORDINARY_DAY, name="Unscheduled closure")
    calendar = load_calendar()
    assert not calendar.is_open("rb2505.SHFE", ten_am)
    assert not calendar.is_open("IF2503.CFFEX", ten_am)
    # …and the evening before it has no night session.
    assert not calendar.is_open("rb2505.SHFE", datetime(2025, 3, 11, 21, 30))


def test_an_edited_template_changes_the_session() -> None:
    SessionTemplate.objects.create(exchange="GFEX", product="si", start=time(21), end=time(23), is_night=True)
    assert load_calendar().is_open("si2505.GFEX", datetime.combine(ORDINARY_DAY, time(22)))


def test_empty_tables_fall_back_to_the_defaults() -> None:
    SessionTemplate.objects.all().delete()
    Holiday.objects.all().delete()
    calendar = load_calendar()
    assert calendar.is_open("rb2505.SHFE", datetime.combine(ORDINARY_DAY, time(10)))
    assert calendar.holidays == frozenset(DEFAULT_HOLIDAYS)


def test_a_day_window_that_ends_before_it_starts_is_rejected() -> None:
    row = SessionTemplate(exchange="SHFE", product="rb", start=time(15), end=time(9))
    with pytest.raises(ValidationError, match="is night"):
        row.full_clean()


def test_rows_describe_themselves() -> None:
    row = SessionTemplate.objects.filter(
        exchange="SHFE", product="au", is_night=True, kind="continuous"
    ).get()
    assert str(row) == "SHFE au night 21:00–02:30 continuous"
    assert str(Holiday.objects.get(date=date(2025, 10, 1))) == "2025-10-01 National Day / Mid-Autumn"


@pytest.mark.parametrize("model", ["sessiontemplate", "holiday"])
def test_the_admin_changelists_render_for_a_superuser(alice: Client, model: str) -> None:
    response = alice.get(reverse(f"admin:monitoring_{model}_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count > 0


def test_the_admin_filters_session_templates_by_exchange(alice: Client) -> None:
    response = alice.get(reverse("admin:monitoring_sessiontemplate_changelist"), {"exchange": "CFFEX"})
    assert response.status_code == 200
    assert {row.exchange for row in response.context["cl"].result_list} == {"CFFEX"}


def test_the_admin_add_form_renders(alice: Client) -> None:
    assert alice.get(reverse("admin:monitoring_sessiontemplate_add")).status_code == 200
    assert alice.get(reverse("admin:monitoring_holiday_add")).status_code == 200
