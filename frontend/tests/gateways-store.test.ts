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

  it("takes the API's start-up answer unless a socket snapshot came first", () => {
    const store = useGatewaysStore.getState();
    store.applyInitialSnapshot(snapshot([gateway({ id: "sim-a", tick_rate: 1 })]));
    expect(useGatewaysStore.getState()).toMatchObject({ engine: "online", loaded: true, live: false });

    store.applySnapshot(snapshot([gateway({ id: "sim-a", tick_rate: 2 })]));
    store.applyInitialSnapshot(snapshot([gateway({ id: "sim-a", tick_rate: 3 })]));
    expect(useGatewaysStore.getState().gateways[0]?.tick_rate).toBe(2);
  });

  it("still lists the sources from the API after the socket said engine.offline first", () => {
    // The real server sends engine.offline on connect while the hub is down; its
    // GET /api/gateways answer then lists every account as stopped.
    const store = useGatewaysStore.getState();
    store.setEngineOffline();
    const stopped = ["sim-a", "sim-b", "sim-c"].map((id, index) =>
      gateway({ id, priority: index, state: "stopped", state_reason: "engine offline", tick_rate: null }),
    );
    store.applyInitialSnapshot(snapshot(stopped, { engine: "offline", primary: null, mode: null }));
    expect(useGatewaysStore.getState().gateways.map((item) => item.id)).toEqual(["sim-a", "sim-b", "sim-c"]);
    expect(useGatewaysStore.getState().engine).toBe("offline");

    // Even an older "online" answer does not undo what the socket said.
    useGatewaysStore.setState(initial, true);
    useGatewaysStore.getState().setEngineOffline();
    useGatewaysStore.getState().applyInitialSnapshot(snapshot([gateway()]));
    expect(useGatewaysStore.getState().engine).toBe("offline");
    expect(useGatewaysStore.getState().gateways).toHaveLength(1);
  });

  it("shows a state change from a hub.event at once; an older snapshot does not undo it", () => {
    const store = useGatewaysStore.getState();
    store.applySnapshot(snapshot([gateway({ id: "sim-a", state: "healthy", state_since: 100 })], { updated_at: 110 }));
    store.markPending("sim-a", "restart");
    const event = (state_to: string, ts: number, extra = {}) => ({
      id: ts,
      ts,
      account: "sim-a",
      kind: "state" as const,
      state_from: "healthy",
      state_to,
      reason: `${state_to} now`,
      ...extra,
    });

    store.applyEvent(event("restarting", 111));
    expect(useGatewaysStore.getState().gateways[0]).toMatchObject({ state: "restarting", state_reason: "restarting now", state_since: 111 });
    expect(useGatewaysStore.getState().pending).toEqual({}); // the hub acted

    // A snapshot taken before the change (flushed after the event) keeps the newer state.
    store.applySnapshot(snapshot([gateway({ id: "sim-a", state: "healthy", state_since: 100, tick_rate: 7 })], { updated_at: 110.9 }));
    expect(useGatewaysStore.getState().gateways[0]).toMatchObject({ state: "restarting", tick_rate: 7 });

    // Ignored: not a state change, another source, an unknown state, older than shown.
    store.applyEvent(event("healthy", 112, { kind: "command" }));
    store.applyEvent(event("healthy", 112, { account: "sim-z" }));
    store.applyEvent(event("exploded", 112));
    store.applyEvent(event("healthy", 105));
    expect(useGatewaysStore.getState().gateways[0]?.state).toBe("restarting");
    expect(useGatewaysStore.getState().gateways).toHaveLength(1);

    store.applyEvent(event("starting", 111.3));
    // A snapshot taken after the change is the truth again.
    store.applySnapshot(snapshot([gateway({ id: "sim-a", state: "healthy", state_since: 112 })], { updated_at: 112.5 }));
    expect(useGatewaysStore.getState().gateways[0]).toMatchObject({ state: "healthy", state_since: 112 });
    expect(useGatewaysStore.getState().stateChanges).toEqual({});
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
