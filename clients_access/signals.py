"""Tell the hub when the stream clients change (as ``accounts.signals`` does for accounts):
``{"type": "clients.changed", "account": name, "change": ...}`` once the transaction commits.
The hub then re-reads the table and cuts off a client that was disabled, deleted or re-keyed."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete

from clients_access.models import StreamClient
from engine.states import AccountChange
from webbase.live_state import CLIENTS_CHANGED, notify_changed


def client_saved_or_deleted(sender: type[StreamClient], instance: StreamClient, **kwargs: Any) -> None:
    change = AccountChange.DELETED if kwargs.get("signal") is post_delete else AccountChange.SAVED
    name = str(instance.pk)
    transaction.on_commit(lambda: notify_changed(CLIENTS_CHANGED, name, change), using=kwargs.get("using"))
