"""``GET /metrics``: the hub's snapshot in Prometheus text format, parsed back with
prometheus_client's own parser."""

from __future__ import annotations

import pytest
import redis
from django.contrib.auth.models import User
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from monitoring.metrics import render
from tests.live_helpers import gateway, live_redis, snapshot, write_snapshot
from webbase import live_state

__all__ = ["live_redis"]

pytestmark = pytest.mark.django_db

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: APIClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(response.content.decode())


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, f"duplicate sample {key}"
            samples[key] = sample.value
    return samples


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def test_metrics_need_a_login_or_a_token_and_are_not_the_dashboard(api: APIClient, bob: User) -> None:
    assert api.get("/metrics").status_code in (401, 403)
    assert api.get("/metrics/").status_code in (401, 403)
    token = Token.objects.create(user=bob)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/metrics").status_code == 200


def test_online_snapshot_exports_sources_hub_and_histogram(
    bob_api: APIClient, live_redis: redis.Redis
) -> None:
    state = snapshot(
        gateway("sim-a", is_primary=True, drops={"price_invalid": 3, "stale_time": 1}, restarts=2),
        gateway("sim-b", state="stale", first_share=0.25, received=777, is_enabled=False),
        primary="sim-a",
    )
    write_snapshot(live_redis, state)
    samples = scrape(bob_api)

    assert sample(samples, "mdhub_engine_up") == 1
    assert sample(samples, "mdhub_hub_forwarded_total") == 1500
    assert sample(samples, "mdhub_hub_malformed_total") == 2
    assert sample(samples, "mdhub_hub_upstream_subscriptions") == 13
    assert 0 <= sample(samples, "mdhub_engine_snapshot_age_seconds") < 60

    assert sample(samples, "mdhub_source_ticks_received_total", source="sim-a") == 1000
    assert sample(samples, "mdhub_source_ticks_received_total", source="sim-b") == 777
    assert sample(samples, "mdhub_source_ticks_first_total", source="sim-a") == 500
    assert sample(samples, "mdhub_source_ticks_duplicate_total", source="sim-a") == 490
    assert sample(samples, "mdhub_source_ticks_too_late_total", source="sim-a") == 10
    assert sample(samples, "mdhub_source_ticks_dropped_total", source="sim-a", rule="price_invalid") == 3
    assert sample(samples, "mdhub_source_ticks_dropped_total", source="sim-a", rule="stale_time") == 1
    assert sample(samples, "mdhub_source_restarts_total", source="sim-a") == 2
    assert sample(samples, "mdhub_source_first_share", source="sim-b") == 0.25
    assert sample(samples, "mdhub_source_primary", source="sim-a") == 1
    assert sample(samples, "mdhub_source_primary", source="sim-b") == 0
    assert sample(samples, "mdhub_source_enabled", source="sim-b") == 0

    # One series per state, exactly one of them 1.
    states_b = {s: sample(samples, "mdhub_source_state", source="sim-b", state=s) for s in live_state.STATES}
    assert states_b["stale"] == 1 and sum(states_b.values()) == 1

    # The hub's cumulative histogram, with +Inf = count.
    hist = "mdhub_source_latency_seconds"
    assert sample(samples, f"{hist}_bucket", source="sim-a", le="0.001") == 100
    assert sample(samples, f"{hist}_bucket", source="sim-a", le="0.01") == 400
    assert sample(samples, f"{hist}_bucket", source="sim-a", le="0.1") == 480
    assert sample(samples, f"{hist}_bucket", source="sim-a", le="+Inf") == 500
    assert sample(samples, f"{hist}_count", source="sim-a") == 500
    assert sample(samples, f"{hist}_sum", source="sim-a") == 2.5


def test_offline_exports_only_engine_down(bob_api: APIClient, live_redis: redis.Redis) -> None:
    samples = scrape(bob_api)
    assert samples == {("mdhub_engine_up", frozenset()): 0.0}


def test_junk_in_the_snapshot_is_skipped_not_a_500() -> None:
    state = snapshot(
        gateway(
            "sim-a",
            received="many",
            first_share=float("nan"),
            drops=["not", "a", "dict"],
            latency_hist={"le": [0.1, 1.0], "counts": [1], "count": 1, "sum": 0.1},
        ),
        gateway("sim-b", latency_hist={"le": [0.1, float("inf")], "counts": [1, 2], "count": 2, "sum": 0.3}),
        {"no": "id"},
    )
    samples = parse(render(state, now=state["updated_at"]).decode())
    assert ("mdhub_source_ticks_received_total", frozenset({("source", "sim-a")})) not in samples
    assert ("mdhub_source_first_share", frozenset({("source", "sim-a")})) not in samples
    assert not any(
        name.startswith("mdhub_source_latency") and ("source", "sim-a") in labels for name, labels in samples
    )
    # An explicit +Inf bound from the hub is not doubled.
    assert sample(samples, "mdhub_source_latency_seconds_bucket", source="sim-b", le="+Inf") == 2
    assert sample(samples, "mdhub_source_ticks_first_total", source="sim-b") == 500
