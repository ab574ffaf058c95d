"""Tell the hub when the account table changes, so it starts, stops or reconfigures
gateways without a restart (FR2, DESIGN §6).

Every save and delete — REST API, admin, shell — sends ``{"type": "accounts.changed",
"account": id, "change": "saved"|"deleted"}`` on the hub's command channel once the
transaction commits: the hub then reads the table (reading it before the commit would show
it the old rows) and says in its event which account changed. The message names the row but
carries none of it (its settings hold secrets), so duplicates (a bulk delete sends one per
row) only cost the hub a re-read.

Queryset ``update()`` sends no signals; the project never uses it on accounts.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete

from accounts.models import MarketDataAccount
from engine.states import AccountChange
from webbase.live_state import ACCOUNTS_CHANGED, notify_changed


def notify_accounts_changed(account: str = "", change: AccountChange = AccountChange.SAVED) -> None:
    notify_changed(ACCOUNTS_CHANGED, account, change)


def account_saved_or_deleted(
    sender: type[MarketDataAccount], instance: MarketDataAccount, **kwargs: Any
) -> None:
    change = AccountChange.DELETED if kwargs.get("signal") is post_delete else AccountChange.SAVED
    account = str(instance.pk)
    # on_commit runs the callback at once outside a transaction, and never after a rollback.
    transaction.on_commit(lambda: notify_accounts_changed(account, change), using=kwargs.get("using"))
