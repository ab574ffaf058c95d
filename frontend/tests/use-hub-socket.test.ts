import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";

import {
  CLOSE_UNAUTHORIZED,
  backoffDelay,
  connectHubSocket,
  hubSocketUrl,
  type HubSocketHandle,
} from "@/hooks/use-hub-socket";
import { useGatewaysStore } from "@/stores/gateways";
import { useLogsStore } from "@/stores/logs";

import { gateway, record } from "./support/fixtures";
import { startHubServer, type HubServer } from "./support/ws-server";

const FAST = { initialMs: 20, maxMs: 100, factor: 2, jitter: 0 };
const initialGateways = useGatewaysStore.getState();
const initialLogs = useLogsStore.getState();

let hub: HubServer;
let cleanup: HubSocketHandle | null = null;

beforeEach(async () => {
  useGatewaysStore.setState(initialGateways, true);
  useLogsStore.setState(initialLogs, true);
  hub = await startHubServer();
});

afterEach(async () => {
  cleanup?.();
  cleanup = null;
  await hub.close();
});

function connect(options: Parameters<typeof connectHubSocket>[0] = {}): HubSocketHandle {
  cleanup = connectHubSocket({ url: hub.url, WebSocketImpl: WebSocket as never, backoff: FAST, ...options });
  return cleanup;
}

describe("connectHubSocket against a real WebSocket server", () => {
  it("puts gateway.status, hub.log, hub.failover and engine.offline frames into the stores", async () => {
    const connected = hub.nextConnection();
    connect();
    const socket = await connected;
    await vi.waitFor(() => expect(useGatewaysStore.getState().socket).toBe("open"));

    socket.send(
      JSON.stringify({
        type: "gateway.status",
        engine: "online",
        primary: "sim-a",
        gateways: [gateway({ id: "sim-b", priority: 20 }), gateway({ id: "sim-a", is_primary: true })],
      }),
    );
    socket.send(JSON.stringify({ type: "hub.log", records: [record({ level: "ERROR", msg: "garbage tick" })] }));
    socket.send(JSON.stringify({ type: "hub.failover", from: "sim-a", to: "sim-b", reason: "stale", ts: 1 }));
    socket.send("not json at all");
    socket.send(JSON.stringify({ type: "something.new" }));
    socket.send(
      JSON.stringify({
        type: "hub.event",
        event: { id: 7, ts: 1, account: "sim-z", kind: "state", state_from: "healthy", state_to: "stale", reason: "x" },
      }),
    );
    socket.send(JSON.stringify({ type: "error", detail: "unknown frame type" }));
    socket.send(JSON.stringify({ type: "hub.event" })); // malformed: still harmless
    socket.send(JSON.stringify([1, 2, 3]));
    socket.send("null");

    await vi.waitFor(() => expect(useGatewaysStore.getState().failovers).toHaveLength(1));
    expect(useGatewaysStore.getState().gateways.map((item) => item.id)).toEqual(["sim-a", "sim-b"]);
    expect(useGatewaysStore.getState().primary).toBe("sim-a");
    expect(useLogsStore.getState().records.map((line) => line.msg)).toEqual(["garbage tick"]);

    // A state change of a listed source shows at once.
    socket.send(
      JSON.stringify({
        type: "hub.event",
        event: { id: 8, ts: 2e9, account: "sim-b", kind: "state", state_from: "healthy", state_to: "restarting", reason: "operator" },
      }),
    );
    await vi.waitFor(() =>
      expect(useGatewaysStore.getState().gateways.find((item) => item.id === "sim-b")?.state).toBe("restarting"),
    );

    socket.send(JSON.stringify({ type: "engine.offline" }));
    await vi.waitFor(() => expect(useGatewaysStore.getState().engine).toBe("offline"));
  });

  it("reconnects by itself after the server drops it, and says hello again", async () => {
    let connected = hub.nextConnection();
    const states: string[] = [];
    connect({
      hello: () => [{ type: "logs.filter", level: "INFO" }],
      onStateChange: (state) => states.push(state),
    });
    const first = await connected;
    await vi.waitFor(() => expect(hub.received).toHaveLength(1));
    connected = hub.nextConnection();
    first.terminate();
    const second = await connected;
    await vi.waitFor(() => expect(hub.received).toHaveLength(2));
    expect(hub.received).toEqual([
      { type: "logs.filter", level: "INFO" },
      { type: "logs.filter", level: "INFO" },
    ]);
    expect(states).toEqual(expect.arrayContaining(["connecting", "open", "closed"]));
    expect(second.readyState).toBe(second.OPEN);
  });

  it("keeps retrying while the server is down, then connects when it is back", async () => {
    const url = hub.url;
    await hub.close();
    const states: string[] = [];
    connect({ url, onStateChange: (state) => states.push(state) });
    await vi.waitFor(() => expect(states.filter((state) => state === "connecting").length).toBeGreaterThanOrEqual(3));
    // Same port again: the dashboard must find it without help.
    const port = Number(new URL(url).port);
    const { WebSocketServer } = await import("ws");
    const again = new WebSocketServer({ host: "127.0.0.1", port });
    const seen = new Promise((resolve) => again.once("connection", resolve));
    await expect(seen).resolves.toBeDefined();
    cleanup?.();
    cleanup = null;
    await new Promise((resolve) => {
      for (const client of again.clients) client.terminate();
      again.close(resolve);
    });
    hub = await startHubServer(); // for afterEach
  });

  it("stops and reports the session gone on close code 4401", async () => {
    const onUnauthorized = vi.fn();
    const connected = hub.nextConnection();
    connect({ onUnauthorized });
    (await connected).close(CLOSE_UNAUTHORIZED, "login required");
    await vi.waitFor(() => expect(onUnauthorized).toHaveBeenCalledTimes(1));
    await new Promise((resolve) => setTimeout(resolve, 150)); // > several backoff delays
    expect(hub.clients).toHaveLength(1);
  });

  it("cleanup closes the socket and cancels reconnects", async () => {
    const connected = hub.nextConnection();
    const handle = connect();
    const socket = await connected;
    const closed = new Promise((resolve) => socket.once("close", resolve));
    handle();
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(hub.clients).toHaveLength(1);
    expect(useGatewaysStore.getState().socket).toBe("closed");
  });

  it("sends client frames only while open", async () => {
    const connected = hub.nextConnection();
    const handle = connect();
    await connected;
    await vi.waitFor(() => expect(handle.send({ type: "logs.filter", level: "ERROR" })).toBe(true));
    await vi.waitFor(() => expect(hub.received).toContainEqual({ type: "logs.filter", level: "ERROR" }));
    handle();
    expect(handle.send({ type: "logs.filter", level: "INFO" })).toBe(false);
  });
});

describe("helpers", () => {
  it("builds ws:// or wss:// from the page's origin", () => {
    expect(hubSocketUrl({ protocol: "http:", host: "hub.lan:8000" })).toBe("ws://hub.lan:8000/ws/");
    expect(hubSocketUrl({ protocol: "https:", host: "hub.example" })).toBe("wss://hub.example/ws/");
  });

  it("backs off exponentially up to a ceiling, with bounded jitter", () => {
    const none = () => 0.5;
    const backoff = { initialMs: 500, maxMs: 15_000, factor: 2, jitter: 0.2 };
    expect([0, 1, 2, 3, 10].map((attempt) => backoffDelay(attempt, backoff, none))).toEqual([500, 1000, 2000, 4000, 15000]);
    expect(backoffDelay(0, backoff, () => 0)).toBe(400);
    expect(backoffDelay(0, backoff, () => 1)).toBe(600);
  });
});
