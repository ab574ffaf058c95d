"""Operator commands and account changes as plain functions, one table (as Zulip's queue
workers hand each event to a plain ``do_*`` function): the engine's loop only unpacks a
queued command and calls the function the table names. Each runs on the engine's thread,
between two polls of the hub; none blocks (stopping a worker only sends SIGTERM)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.config import AccountConfig
from engine.source import Source
from engine.states import AccountChange, Command, EventKind, SourceState

if TYPE_CHECKING:
    from engine.loop import Engine

log = logging.getLogger("mdhub.engine")


@dataclass(frozen=True)
class OperatorCommand:
    command: Command
    account: str


@dataclass(frozen=True)
class AccountsUpdate:
    """The accounts as now stored (enabled and disabled alike), and what the change was."""

    accounts: list[AccountConfig]
    account: str = ""  # the row that changed ("" when unknown: a reload at start-up)
    change: AccountChange = AccountChange.SAVED


Queued = OperatorCommand | AccountsUpdate


# -- operator commands --------------------------------------------------------------------


def do_start(engine: Engine, source: Source, now: float) -> None:
    source.budget.reset()  # an operator's start begins a fresh budget
    if source.running:
        return
    source.stop_due = None
    if engine.manager.is_ending(source.id):
        source.launch_due = now  # the old worker is still ending: launch once it has
    else:
        engine.launch(source, now)


def do_stop(engine: Engine, source: Source, now: float) -> None:
    engine.stop_source(source, now, "stopped by operator")


def do_restart(engine: Engine, source: Source, now: float) -> None:
    engine.hard_restart(source, now, "requested by operator", manual=True)


OPERATOR_COMMANDS: dict[Command, Callable[[Engine, Source, float], None]] = {
    Command.START: do_start,
    Command.STOP: do_stop,
    Command.RESTART: do_restart,
}


def run_operator_command(engine: Engine, queued: OperatorCommand, now: float) -> None:
    source = engine.sources.get(queued.account)
    if source is None:
        log.warning("command %s for unknown account %r ignored", queued.command, queued.account)
        return
    engine.record(EventKind.COMMAND, source.id, f"operator: {queued.command}")
    OPERATOR_COMMANDS[queued.command](engine, source, now)


# -- account changes ----------------------------------------------------------------------


def account_added(engine: Engine, account: AccountConfig, now: float, note: str = "") -> None:
    added = engine.add_source(account)
    if account.enabled:
        engine.record(EventKind.COMMAND, account.id, f"account added{note}")
        engine.launch(added, now)


def account_deleted(engine: Engine, source: Source, now: float, note: str = "") -> None:
    engine.stop_source(source, now, f"account deleted{note}")
    del engine.sources[source.id]


def account_disabled(engine: Engine, source: Source, now: float, note: str = "") -> None:
    engine.stop_source(source, now, f"account disabled{note}")


def account_enabled(engine: Engine, source: Source, now: float, note: str = "") -> None:
    engine.record(EventKind.COMMAND, source.id, f"account enabled{note}")
    source.budget.reset()
    engine.launch(source, now)


def account_settings_changed(engine: Engine, source: Source, now: float, note: str = "") -> None:
    engine.hard_restart(source, now, f"account settings changed{note}", manual=True)


def account_reranked(engine: Engine, source: Source, old: AccountConfig, now: float, note: str = "") -> None:
    # Only the ranking changes: failover reads the priority on its next step, no restart.
    engine.record(EventKind.COMMAND, source.id, f"priority {old.priority} → {source.config.priority}{note}")


def update_account(
    engine: Engine, source: Source, account: AccountConfig, now: float, note: str = ""
) -> None:
    """One stored account against the source the engine has for it."""
    old, source.config = source.config, account
    planned = source.running or source.launch_due is not None
    if not account.enabled:
        if planned or source.health.state != SourceState.STOPPED:
            account_disabled(engine, source, now, note)
    elif not planned:
        if not engine.manager.is_ending(account.id):
            account_enabled(engine, source, now, note)
    elif not old.same_process(account):
        account_settings_changed(engine, source, now, note)
    elif old.priority != account.priority:
        account_reranked(engine, source, old, now, note)


def apply_accounts(engine: Engine, update: AccountsUpdate, now: float) -> None:
    """Start what was enabled or added, stop what was disabled or deleted, restart what
    changed; a priority change only re-ranks.

    ``accounts.changed`` names the row that changed; a difference in any other row is a
    change the engine did not hear of (a notification lost while Redis was away, an edit
    made straight in the database), and its event says so."""
    wanted = {a.id: a for a in update.accounts}

    def note(account_id: str) -> str:
        if not update.account or account_id == update.account:
            return ""
        return f" (found when {update.account} was {update.change})"

    for account_id, source in list(engine.sources.items()):
        if account_id not in wanted:
            account_deleted(engine, source, now, note(account_id))
    for account in wanted.values():
        existing = engine.sources.get(account.id)
        if existing is None:
            account_added(engine, account, now, note(account.id))
        else:
            update_account(engine, existing, account, now, note(account.id))
    engine.watch_canaries()


def run_queued(engine: Engine, queued: Queued, now: float) -> None:
    if isinstance(queued, OperatorCommand):
        run_operator_command(engine, queued, now)
    else:
        apply_accounts(engine, queued, now)
