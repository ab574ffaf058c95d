from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import MarketDataAccount
from tests.conftest import CTP_SETTINGS

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_admin_requires_login(client: Client) -> None:
    response = client.get("/admin/accounts/marketdataaccount/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_changelist_shows_type_priority_toggle_and_masks_secrets(alice_client: Client) -> None:
    MarketDataAccount.objects.create(
        id="ctp-main", gateway_type="ctp", settings=dict(CTP_SETTINGS), priority=1
    )
    page = alice_client.get("/admin/accounts/marketdataaccount/?q=ctp")
    html = page.content.decode()
    assert page.status_code == 200
    assert "ctp-main" in html and "password: set" in html
    assert 'name="form-0-is_enabled"' in html  # enabled toggle editable in the list
    assert CTP_SETTINGS["password"] not in html and CTP_SETTINGS["authCode"] not in html


def test_change_form_never_shows_a_secret_and_blank_keeps_it(alice_client: Client) -> None:
    MarketDataAccount.objects.create(
        id="ctp-main", gateway_type="ctp", settings=dict(CTP_SETTINGS), priority=1
    )
    url = "/admin/accounts/marketdataaccount/ctp-main/change/"
    html = alice_client.get(url).content.decode()
    assert CTP_SETTINGS["password"] not in html and CTP_SETTINGS["authCode"] not in html
    assert "Set. Leave blank to keep it" in html

    public = {k: v for k, v in CTP_SETTINGS.items() if k not in ("password", "authCode")}
    form = {
        "gateway_type": "ctp",
        "settings": __import__("json").dumps(public),
        "priority": "3",
        "is_enabled": "on",
        "description": "",
        "canaries": "[]",
        "password": "",
        "authCode": "",
    }
    response = alice_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = MarketDataAccount.objects.get(id="ctp-main")
    assert stored.priority == 3 and stored.is_enabled
    assert stored.settings["password"] == CTP_SETTINGS["password"]

    form["password"] = "typed-new"
    alice_client.post(url, form)
    assert MarketDataAccount.objects.get(id="ctp-main").settings["password"] == "typed-new"


def test_change_form_puts_setting_errors_at_the_settings_field(alice_client: Client) -> None:
    response = alice_client.post(
        "/admin/accounts/marketdataaccount/add/",
        {
            "id": "ctp-bad",
            "gateway_type": "ctp",
            "settings": '{"userID": "1", "brokerID": "9", "mdAddress": "nowhere"}',
            "priority": "1",
            "description": "",
            "canaries": "[]",
            "password": "pw",
            "authCode": "",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "mdAddress: &#x27;nowhere&#x27; is not an address like tcp://host:port" in html
    assert not MarketDataAccount.objects.filter(id="ctp-bad").exists()
