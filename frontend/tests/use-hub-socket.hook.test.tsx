// @vitest-environment jsdom
//
// The hook itself, mounted with React in jsdom, talking to a real WebSocket server through
// jsdom's own WebSocket (a real client, not a mock).

import { renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { useHubSocket } from "@/hooks/use-hub-socket";
import { useGatewaysStore } from "@/stores/gateways";

import { gateway } from "./support/fixtures";
import { startHubServer, type HubServer } from "./support/ws-server";

const initial = useGatewaysStore.getState();
let hub: HubServer;

beforeEach(async () => {
  useGatewaysStore.setState(initial, true);
  hub = await startHubServer((socket) =>
    socket.send(JSON.stringify({ type: "gateway.status", engine: "online", primary: "sim-a", gateways: [gateway()] })),
  );
});

afterEach(async () => {
  await hub.close();
});

describe("useHubSocket", () => {
  it("connects while mounted, fills the store, and closes on unmount", async () => {
    expect(typeof window.WebSocket).toBe("function");
    const connected = hub.nextConnection();
    const { unmount } = renderHook(() => useHubSocket({ url: hub.url }));
    const socket = await connected;
    await vi.waitFor(() => expect(useGatewaysStore.getState().gateways.map((item) => item.id)).toEqual(["sim-a"]));
    expect(useGatewaysStore.getState().socket).toBe("open");

    const closed = new Promise((resolve) => socket.once("close", resolve));
    unmount();
    await closed;
    expect(useGatewaysStore.getState().socket).toBe("closed");
  });

  it("does not connect while disabled (not logged in yet)", async () => {
    const { unmount } = renderHook(() => useHubSocket({ url: hub.url }, false));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(hub.clients).toHaveLength(0);
    unmount();
  });
});
