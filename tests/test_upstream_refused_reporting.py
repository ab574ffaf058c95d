"""The on-demand refusal count (``TickHub.stats.upstream_refused``: a client's subscription
of a contract outside the universe) in the status document and on /metrics."""

from __future__ import annotations

import json
import time

from prometheus_client.parser import text_string_to_metric_families

from aggregation.hub import HubStats
from engine.states import FailoverMode
from engine.status import status_document
from monitoring.metrics import render


def test_refused_on_demand_subscriptions_reach_the_status_document_and_metrics() -> None:
    stats = HubStats(forwarded=10, upstream_subscriptions=2, upstream_refused=3)
    now = time.time()
    doc = status_document([], stats, 5, FailoverMode.HOT, None, now, 123, now - 60)
    # Through JSON, as the publisher stores it and /metrics reads it back.
    state = json.loads(json.dumps(doc.as_dict()))
    assert state["hub"]["upstream_refused"] == 3
    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(render(state, now).decode())
        for s in family.samples
    }
    assert samples["mdhub_hub_upstream_refused_total"] == 3
    assert samples["mdhub_hub_upstream_subscriptions"] == 2
