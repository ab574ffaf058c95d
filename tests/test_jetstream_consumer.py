"""The JetStream source and the NATS users, against a real one-node nats-server: subjects and
filters, where a consumer starts, least rights, no anonymous access, and the system check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js import api

from bridge.cluster import Cluster
from bridge.config import StreamSettings
from bridge.consumer import JetStreamSource, open_source
from bridge.reader import entry_for
from bridge.stream import ensure_stream
from bridge.subjects import filter_subjects, subject_for
from mdhub_project.checks_nats import check_nats
from tests.zmq_helpers import wait_for

T0 = 1_790_000_000_000_000_000


def tick(symbol: str, exchange: str, n: int) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "v": 1,
        "symbol": symbol,
        "exchange": exchange,
        "datetime": T0 + n * 500_000_000,
    }
    for name in ("volume", "turnover", "open_interest", "last_price"):
        fields[name] = float(n)
    for side in ("bid", "ask"):
        for what in ("price", "volume"):
            for level in range(1, 6):
                fields[f"{side}_{what}_{level}"] = float(n + level)
    fields.update(source="sim-a", epoch=1, seq=n + 1, recv_ns=time.time_ns())
    return fields


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    nats_cluster = Cluster(tmp_path / "nats", size=1)
    nats_cluster.start()
    yield nats_cluster
    nats_cluster.stop()


async def publish(cluster: Cluster, ticks: list[tuple[str, dict[str, Any]]]) -> None:
    user, password = cluster.creds.publisher
    nc = await nats.connect(cluster.url, user=user, password=password)
    js = nc.jetstream()
    await ensure_stream(js, "MDHUB", StreamSettings(replicas=1, max_gb=1))
    for topic, fields in ticks:
        entry = entry_for(topic, fields, "test")
        await js.publish(entry.subject, entry.payload, headers=entry.headers)
    await nc.close()


def reader(cluster: Cluster, topics: list[str], **kwargs: Any) -> JetStreamSource:
    user, password = cluster.creds.reader
    return JetStreamSource(cluster.url, topics, user=user, password=password, **kwargs)


def drain(source: JetStreamSource, quiet: float = 1.0) -> list[dict[str, Any]]:
    got = []
    while (t := source.recv(quiet)) is not None:
        got.append(t)
    return got


def test_subjects_give_nats_wildcards_the_exchange_product_and_contract_cuts() -> None:
    assert subject_for("tick.rb2601.SHFE") == "md.tick.SHFE.rb.rb2601"
    assert subject_for("tick.IO2601-C-4000.CFFEX") == "md.tick.CFFEX.IO.IO2601-C-4000"
    assert subject_for("tick.10007123.SSE") == "md.tick.SSE._.10007123"
    assert subject_for("bar.1m.rb2601.SHFE") == "md.bar.SHFE.rb.rb2601.1m"
    assert filter_subjects(["rb"]) == ["md.tick.*.rb.>"]
    assert filter_subjects(["rb", "rb2601.SHFE", "au2606.SHFE"]) == [
        "md.tick.*.rb.>",
        "md.tick.SHFE.au.au2606",
    ]
    assert filter_subjects([""]) == ["md.tick.>"]
    assert filter_subjects(["tick.r"]) == ["md.tick.>"]  # no NATS filter for a letter prefix


def test_a_consumer_starts_from_the_last_value_now_or_a_time_and_gets_only_what_it_asked(
    cluster: Cluster,
) -> None:
    ticks = [("tick.rb2601.SHFE", tick("rb2601", "SHFE", n)) for n in range(5)]
    ticks += [("tick.a2601.DCE", tick("a2601", "DCE", n)) for n in range(3)]
    ticks += [("tick.ag2606.SHFE", tick("ag2606", "SHFE", n)) for n in range(3)]
    asyncio.run(publish(cluster, ticks))
    with reader(cluster, ["rb", "a"], start="last") as source:
        last = drain(source)
    assert sorted((t["symbol"], t["seq"]) for t in last) == [("a2601", 3), ("rb2601", 5)]
    with reader(cluster, ["rb2601.SHFE"], start="all") as source:
        assert [t["seq"] for t in drain(source)] == [1, 2, 3, 4, 5]
        position = source.positions()["stream_seq"]
    before = time.time_ns()
    with reader(cluster, ["ag"], start="new") as new, reader(cluster, [""], start=before) as since:
        asyncio.run(publish(cluster, [("tick.ag2606.SHFE", tick("ag2606", "SHFE", 9))]))
        assert [t["seq"] for t in drain(new)] == [10]
        assert [t["seq"] for t in drain(since)] == [10]
    # Resume after a saved position: what followed it, nothing before.
    with reader(cluster, ["rb2601.SHFE"], after_seq=position) as resumed:
        assert drain(resumed) == []
    # The same address switch as HubClient's: only the address changes.
    user, password = cluster.creds.reader
    with open_source(cluster.url, ["rb"], start="last", user=user, password=password) as source:
        first = source.recv(5)
        assert first is not None and first["symbol"] == "rb2601"


def test_a_copy_published_twice_is_stored_once(cluster: Cluster) -> None:
    copy = ("tick.rb2601.SHFE", tick("rb2601", "SHFE", 1))
    other_hub = ("tick.rb2601.SHFE", {**tick("rb2601", "SHFE", 1), "source": "sim-b", "seq": 77})
    asyncio.run(publish(cluster, [copy, other_hub, copy]))
    with reader(cluster, [""], start="all") as source:
        assert len(drain(source)) == 1


def test_an_ordered_consumer_reset_delivers_nothing_twice(cluster: Cluster) -> None:
    # What nats-py does when a heartbeat is missed on a loaded machine: it starts the consumer
    # again after the last message it processed, and what it had queued comes a second time.
    # Here the reset goes back to the stream's start: every message comes again.
    ticks = [(f"tick.{s}.SHFE", tick(s, "SHFE", n)) for n in range(100) for s in ("rb2601", "au2602")]
    asyncio.run(publish(cluster, ticks))
    with reader(cluster, [""], start="all") as source:
        assert len(drain(source)) == 200
        reset = source._subscription._sub._jsi.reset_ordered_consumer(1)
        assert asyncio.run_coroutine_threadsafe(reset, source._loop).result(5)
        assert drain(source) == []
        wait_for(lambda: source.stats()["redelivered"] == 200, 10)
        stats = source.stats()
    assert (stats["delivered"], stats["late"], stats["duplicates"]) == (200, 0, 0), stats


async def try_as(cluster: Cluster, user: str | None, password: str | None) -> str:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    try:
        nc = await nats.connect(
            cluster.url,
            user=user,
            password=password,
            error_cb=on_error,
            allow_reconnect=False,
            connect_timeout=2,
        )
    except (nats.errors.Error, OSError) as exc:
        return f"refused: {exc} {errors}"
    try:
        await nc.publish("md.tick.SHFE.rb.rb2601", b"junk")
        await nc.flush()
        await asyncio.sleep(0.3)
        js = nc.jetstream(timeout=2)
        try:
            await js.add_stream(api.StreamConfig(name="EVIL", subjects=["evil.>"]))
            created = "created a stream"
        except (TimeoutError, nats.errors.Error) as exc:
            created = f"no stream: {type(exc).__name__}"
        return f"{created}; {errors}"
    finally:
        await nc.close()


def test_no_anonymous_access_and_readers_cannot_publish(cluster: Cluster) -> None:
    asyncio.run(publish(cluster, []))
    assert asyncio.run(try_as(cluster, None, None)).startswith("refused")
    assert asyncio.run(try_as(cluster, "hub", "wrong")).startswith("refused")
    outcome = asyncio.run(try_as(cluster, *cluster.creds.reader))
    assert "no stream" in outcome, outcome
    assert 'permissions violation for publish to "md.tick' in outcome.lower(), outcome


def test_the_system_check_says_when_the_bridge_is_configured_but_nats_is_unreachable(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in cluster.env().items():
        monkeypatch.setenv(name, value)
    assert check_nats() == []
    monkeypatch.setenv("MDHUB_NATS_URL", "nats://127.0.0.1:1")
    assert [m.id for m in check_nats()] == ["mdhub.E020"]
    monkeypatch.setenv("MDHUB_NATS_URL", "127.0.0.1:4222")
    assert [m.id for m in check_nats()] == ["mdhub.E021"]
    monkeypatch.setenv("MDHUB_NATS_URL", cluster.url)
    monkeypatch.delenv("MDHUB_NATS_PASSWORD")
    assert [m.id for m in check_nats()] == ["mdhub.E022"]
    monkeypatch.delenv("MDHUB_NATS_URL")
    assert check_nats() == []
