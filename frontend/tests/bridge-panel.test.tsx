// @vitest-environment jsdom
//
// The JetStream bridges on the status page: lag, state in words, offline when stale, and the
// store taking them from the hub's snapshot (and dropping them when the engine goes offline).

import { cleanup, render } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { BridgePanel, BridgeTable, bridgeState } from "@/components/bridge-panel";
import type { BridgeStatus, GatewaysSnapshot } from "@/lib/types";
import { useGatewaysStore } from "@/stores/gateways";

afterEach(cleanup);

function bridge(overrides: Partial<BridgeStatus> = {}): BridgeStatus {
  return {
    name: "hub-a",
    hub: "tcp://127.0.0.1:5555",
    stream: "MDHUB",
    online: true,
    connected: true,
    behind_hub: false,
    lag_s: 0.1,
    age_s: 0.4,
    read: 1200,
    sent: 1210,
    stored: 1000,
    duplicates: 200,
    failures: 0,
    resent: 10,
    bad: 0,
    buffered: 3,
    inflight: 2,
    hub_let_go: 0,
    hub_gaps: 0,
    ...overrides,
  };
}

function snapshot(bridges?: BridgeStatus[]): GatewaysSnapshot {
  return { engine: "online", updated_at: 1_790_000_000, mode: "hot", primary: null, gateways: [], bridges };
}

describe("bridgeState", () => {
  it("says offline before anything else, then NATS down, then catching up", () => {
    expect(bridgeState(bridge()).label).toBe("in step");
    expect(bridgeState(bridge({ lag_s: 12 })).label).toBe("catching up");
    expect(bridgeState(bridge({ behind_hub: true })).label).toBe("catching up");
    expect(bridgeState(bridge({ connected: false, lag_s: 30 })).label).toBe("NATS unreachable");
    expect(bridgeState(bridge({ online: false, connected: false })).label).toBe("bridge offline");
  });
});

describe("BridgeTable", () => {
  it("shows each bridge's lag and figures, and no lag for a bridge that stopped reporting", () => {
    const { getByTestId } = render(
      <BridgeTable bridges={[bridge({ lag_s: 4.2 }), bridge({ name: "hub-b", online: false, connected: false, age_s: 75 })]} />,
    );
    const live = getByTestId("bridge-hub-a");
    expect(live.querySelector("[data-testid=bridge-lag]")?.textContent).toBe("4.2 s");
    expect(live.querySelector("[data-testid=bridge-state]")?.textContent).toBe("catching up");
    expect(live.textContent).toContain("1,000");
    const dead = getByTestId("bridge-hub-b");
    expect(dead.querySelector("[data-testid=bridge-lag]")?.textContent).toBe("–");
    expect(dead.querySelector("[data-testid=bridge-state]")?.textContent).toBe("bridge offline(last heard 1 m 15 s ago)");
  });
});

describe("BridgePanel with the store", () => {
  beforeEach(() => useGatewaysStore.setState({ bridges: [], live: false, engine: "unknown" }));

  it("is absent without bridges, appears with the snapshot's, and goes with the engine", () => {
    const { container, queryByTestId, rerender } = render(<BridgePanel />);
    expect(container.textContent).toBe("");
    useGatewaysStore.getState().applySnapshot(snapshot([bridge()]));
    rerender(<BridgePanel />);
    expect(queryByTestId("bridge-hub-a")).not.toBeNull();
    useGatewaysStore.getState().applySnapshot(snapshot());
    rerender(<BridgePanel />);
    expect(container.textContent).toBe("");
    useGatewaysStore.getState().applySnapshot(snapshot([bridge()]));
    useGatewaysStore.getState().setEngineOffline();
    rerender(<BridgePanel />);
    expect(queryByTestId("bridges")).toBeNull();
  });
});
