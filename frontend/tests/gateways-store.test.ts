import { beforeEach, describe, expect, it } from "vitest";

import { MAX_FAILOVERS, PENDING_TIMEOUT_MS, isTroubled, useGatewaysStore } from "@/stores/gateways";

import { gateway, snapshot } from "./support/fixtures";

const initial = useGatewaysStore.getState();

beforeEach(() => {
  useGatewaysStore.setState(initial, true);
});

describe("gateways store", () => {
  it("takes a snapshot, ordered by priority then id", () => {
    useGatewaysStore.getState().applySnapshot(
      snapshot([gateway({ id: "sim-c", priority: 30 }), gateway({ id: "sim-b", priority: 10 }), gateway({ id: "sim-a", priority: 10 })], {
        primary: "sim-a",
        mode: "warm",
      }),
    );
    const state = useGatewaysStore.getState();
    expect(state.gateways.map((item) => item.id)).toEqual(["sim-a", "sim-b", "sim-c"]);
    expect(state).toMatchObject({ engine: "online", primary: "sim-a", mode: "warm", loaded: true });
  });

  it("goes offline on engine.offline and back online with the next snapshot", () => {
    const store = useGatewaysStore.getState();
    store.applySnapshot(snapshot([gateway()]));
    store.setEngineOffline();
    expect(useGatewaysStore.getState().engine).toBe("offline");
    expect(useGatewaysStore.getState().gateways).toHaveLength(1); // last known, still shown
    store.applySnapshot(snapshot([gateway()]));
    expect(useGatewaysStore.getState().engine).toBe("online");
  });

  it("keeps a command pending until the source changes, then clears it", () => {
    const store = useGatewaysStore.getState();
    store.applySnapshot(snapshot([gateway({ id: "sim-a", state: "healthy" })]));
    store.markPending("sim-a", "restart", 1000);
    store.applySnapshot(snapshot([gateway({ id: "sim-a", state: "healthy", tick_rate: 99 })]));
    expect(useGatewaysStore.getState().pending["sim-a"]?.command).toBe("restart");

    store.applySnapshot(snapshot([gateway({ id: "sim-a", state: "restarting", state_since: 1763690005 })]));
    expect(useGatewaysStore.getState().pending["sim-a"]).toBeUndefined();
  });

  it("notices a restart that completed between two frames (new pid)", () => {
    const store = useGatewaysStore.getState();
    store.applySnapshot(snapshot([gateway({ pid: 1 })]));
    store.markPending("sim-a", "restart");
    store.applySnapshot(snapshot([gateway({ pid: 2, restarts: 1 })]));
    expect(useGatewaysStore.getState().pending).toEqual({});
  });

  it("expires commands the hub never acted on", () => {
    const store = useGatewaysStore.getState();
    store.markPending("sim-a", "start", 0);
    store.markPending("sim-b", "stop", PENDING_TIMEOUT_MS);
    expect(store.expirePending(PENDING_TIMEOUT_MS + 1)).toEqual(["sim-a"]);
    expect(Object.keys(useGatewaysStore.getState().pending)).toEqual(["sim-b"]);
  });

  it("keeps the most recent failovers first, bounded", () => {
    const store = useGatewaysStore.getState();
    for (let index = 0; index < MAX_FAILOVERS + 5; index += 1) {
      store.addFailover({ from: "sim-a", to: "sim-b", reason: `r${index}`, ts: index });
    }
    const { failovers } = useGatewaysStore.getState();
    expect(failovers).toHaveLength(MAX_FAILOVERS);
    expect(failovers[0].reason).toBe(`r${MAX_FAILOVERS + 4}`);
  });

  it("calls stale, disconnected, unhealthy and failed troubled", () => {
    expect(["stale", "disconnected", "unhealthy", "failed"].every((state) => isTroubled({ state: state as never }))).toBe(true);
    expect(["healthy", "stopped", "starting", "connected", "restarting"].some((state) => isTroubled({ state: state as never }))).toBe(false);
  });
});
