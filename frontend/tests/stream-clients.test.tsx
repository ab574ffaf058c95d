// @vitest-environment jsdom
//
// The Clients page: the add-client form's input, the connected clients in words, and the
// "Add client" dialog against a real HTTP server answering as /api/stream-clients does
// (the secret key shown once, never kept).

import { act, cleanup, fireEvent, render, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ConnectedClientsTable } from "@/components/connected-clients";
import { StreamClientDialog } from "@/components/stream-client-dialog";
import { configureApi, resetApiConfig } from "@/lib/api";
import {
  conflationText,
  emptyStreamClientForm,
  localErrors,
  parsePrefixes,
  refusalText,
  streamClientInput,
  subscriptionSummary,
} from "@/lib/stream-clients";
import type { ConnectedStreamClient, ConnectedStreamClients, StreamClient } from "@/lib/types";
import { useStreamClientsStore } from "@/stores/stream-clients";

import { cookieFetch, json, startServer, type TestServer } from "./support/http-server";

// jsdom has no ResizeObserver, which Radix's Switch asks for its size (layout jsdom does not do).
globalThis.ResizeObserver ??= class {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
};

const DESK: ConnectedStreamClient = {
  name: "cta-desk",
  enabled: true,
  addresses: ["10.0.0.7"],
  connections: 3,
  open_connections: 3,
  subscriptions: ["tick.rb", "conflated:tick.au", "tick.cu", "tick.zn"],
  subscription_count: 5,
  upstream: 2,
  refused_subscriptions: 1,
  requests: 4,
  refused_requests: 0,
  quota_refusals: 2,
  drops: 7,
  conflation_ms: 250,
  // 2026-12-01 10:15:02 in Shanghai (UTC+8).
  last_activity: Date.UTC(2026, 11, 1, 2, 15, 2) / 1000,
};

function answer(overrides: Partial<ConnectedStreamClients> = {}): ConnectedStreamClients {
  return { engine: "online", curve: true, updated_at: DESK.last_activity + 4, clients: [DESK], ...overrides };
}

describe("stream client shaping", () => {
  it("reads prefixes separated by commas, spaces or lines, without repeats", () => {
    expect(parsePrefixes(" tick.rb, tick.au\ntick.rb  bar.rb ,")).toEqual(["tick.rb", "tick.au", "bar.rb"]);
    expect(parsePrefixes(" , ")).toEqual([]);
  });

  it("sends numbers as numbers, a typo as typed, and no public key when none was given", () => {
    const values = { ...emptyStreamClientForm(), name: " cta-desk ", prefixes: "tick.rb", max_upstream: "ten" };
    expect(streamClientInput(values)).toEqual({
      name: "cta-desk",
      prefixes: ["tick.rb"],
      is_enabled: true,
      max_subscriptions: 200,
      max_upstream: "ten",
      requests_per_second: 5,
      description: "",
    });
    expect(streamClientInput({ ...values, public_key: " K " }).public_key).toBe("K");
  });

  it("names a missing name and missing prefixes before asking the server", () => {
    expect(Object.keys(localErrors(emptyStreamClientForm())).sort()).toEqual(["name", "prefixes"]);
    expect(localErrors({ ...emptyStreamClientForm(), name: "a", prefixes: "tick." })).toEqual({});
  });

  it("says conflation, subscriptions and refusals in words", () => {
    expect(conflationText(0)).toBe("every tick");
    expect(conflationText(250)).toBe("every 250 ms");
    expect(conflationText(1500)).toBe("every 1.5 s");
    expect(conflationText(2000)).toBe("every 2 s");
    expect(subscriptionSummary(DESK)).toEqual({ items: ["tick.rb", "tick.au (conflated)", "tick.cu"], more: 2 });
    expect(refusalText(DESK)).toBe("1 subscriptions, 2 over quota");
    expect(refusalText({ ...DESK, refused_subscriptions: 0, quota_refusals: 0 })).toBeNull();
  });
});

describe("ConnectedClientsTable", () => {
  afterEach(cleanup);

  it("shows each client's address, connections, subscriptions, conflation, drops and exchange-time activity", () => {
    const { getByTestId } = render(<ConnectedClientsTable answer={answer()} />);
    const row = getByTestId("connected-cta-desk");
    const cells = within(row).getAllByRole("cell").map((cell) => cell.textContent);
    expect(cells[0]).toBe("cta-desk");
    expect(cells[1]).toBe("10.0.0.7");
    expect(cells[2]).toBe("3 / 3");
    expect(cells[3]).toBe("tick.rb, tick.au (conflated), tick.cu +2 more");
    expect(cells[7]).toBe("every 250 ms");
    expect(cells[8]).toBe("7");
    // Exchange time whatever the test machine's zone, and labelled so.
    expect(cells[9]).toBe("10:15:02 CST (exchange time)");
    expect(within(row).getAllByRole("cell")[9].getAttribute("title")).toContain("4.0 s ago");
  });

  it("marks a disabled client and says why a list is empty", () => {
    const { getByTestId, rerender } = render(
      <ConnectedClientsTable answer={answer({ clients: [{ ...DESK, enabled: false }] })} />,
    );
    expect(getByTestId("connected-cta-desk").textContent).toContain("disabled: cut off");
    rerender(<ConnectedClientsTable answer={answer({ clients: [] })} />);
    expect(getByTestId("connected-empty").textContent).toMatch(/No stream client has connected/);
    rerender(<ConnectedClientsTable answer={answer({ curve: false, clients: [] })} />);
    expect(getByTestId("connected-empty").textContent).toMatch(/without CURVE/);
    rerender(<ConnectedClientsTable answer={answer({ engine: "offline", curve: false, updated_at: null, clients: [] })} />);
    expect(getByTestId("connected-empty").textContent).toMatch(/not running/);
  });
});

describe("StreamClientDialog", () => {
  let server: TestServer;
  const initial = useStreamClientsStore.getState();

  function created(overrides: Partial<StreamClient> = {}): StreamClient {
    return {
      name: "cta-desk",
      public_key: "P".repeat(40),
      secret_key: "S".repeat(40),
      is_enabled: true,
      prefixes: ["tick.rb"],
      max_subscriptions: 200,
      max_upstream: 50,
      requests_per_second: 5,
      description: "",
      created_at: "2026-12-01T02:15:02Z",
      updated_at: "2026-12-01T02:15:02Z",
      ...overrides,
    };
  }

  beforeEach(async () => {
    server = await startServer();
    const browser = cookieFetch();
    browser.jar.set("csrftoken", "tok");
    configureApi({ baseUrl: server.url, fetch: browser.fetch, cookies: browser.cookies, onUnauthorized: vi.fn() });
    useStreamClientsStore.setState(initial, true);
  });

  afterEach(async () => {
    cleanup();
    resetApiConfig();
    await server.close();
  });

  function fill(label: RegExp | string, value: string) {
    const input = document.body.querySelector<HTMLInputElement>(`#${label}`);
    if (!input) throw new Error(`no field #${label}`);
    fireEvent.change(input, { target: { value } });
  }

  it("posts the client, shows its secret key once, and keeps only the public part", async () => {
    server.route("POST", "/api/stream-clients", (_request, response) => json(response, 201, created()));
    const onOpenChange = vi.fn();
    const view = render(<StreamClientDialog open onOpenChange={onOpenChange} />);
    fill("stream-client-name", "cta-desk");
    fill("stream-client-prefixes", "tick.rb");
    fireEvent.click(view.getByRole("button", { name: "Add client" }));

    const secret = await waitFor(() => view.getByTestId("secret-key") as HTMLInputElement);
    expect(secret.value).toBe("S".repeat(40));
    expect(view.getByText(/this is the only time it is shown/)).toBeTruthy();
    expect(server.seen.at(-1)?.body).toMatchObject({ name: "cta-desk", prefixes: ["tick.rb"] });
    expect(server.seen.at(-1)?.body).not.toHaveProperty("public_key");
    expect(server.seen.at(-1)?.headers["x-csrftoken"]).toBe("tok");
    expect(useStreamClientsStore.getState().clients).toEqual([created({ secret_key: null })]);

    // Escape does not throw the only copy away; only "I have copied it" closes it.
    fireEvent.keyDown(document.activeElement ?? document.body, { key: "Escape" });
    expect(onOpenChange).not.toHaveBeenCalled();
    expect(view.queryByRole("button", { name: "Close" })).toBeNull();
    fireEvent.click(view.getByRole("button", { name: "I have copied it" }));
    expect(onOpenChange).toHaveBeenCalledWith(false);
    // Closed and opened again: the form, not the secret.
    view.rerender(<StreamClientDialog open={false} onOpenChange={onOpenChange} />);
    view.rerender(<StreamClientDialog open onOpenChange={onOpenChange} />);
    expect(view.queryByTestId("secret-key")).toBeNull();
    expect(document.body.textContent).not.toContain("S".repeat(40));
  });

  it("shows the server's complaint at its field and saves nothing", async () => {
    server.route("POST", "/api/stream-clients", (_request, response) =>
      json(response, 400, { prefixes: ["quote.rb: a prefix starts with tick., bar., greeks. (tick. is every contract)"] }),
    );
    const view = render(<StreamClientDialog open onOpenChange={vi.fn()} />);
    fill("stream-client-name", "cta-desk");
    fill("stream-client-prefixes", "quote.rb");
    fireEvent.click(view.getByRole("button", { name: "Add client" }));
    const error = await waitFor(() => view.getByTestId("field-error"));
    expect(error.textContent).toMatch(/a prefix starts with tick\./);
    expect(error.id).toBe("stream-client-prefixes-error");
    expect(document.activeElement?.id).toBe("stream-client-prefixes");
    expect(view.queryByTestId("secret-key")).toBeNull();
    expect(useStreamClientsStore.getState().clients).toEqual([]);
  });

  it("asks for a name and prefixes without calling the server", async () => {
    const view = render(<StreamClientDialog open onOpenChange={vi.fn()} />);
    await act(async () => {
      fireEvent.click(view.getByRole("button", { name: "Add client" }));
    });
    expect(view.getAllByTestId("field-error").map((e) => e.id)).toEqual(["stream-client-name-error", "stream-client-prefixes-error"]);
    expect(server.seen).toEqual([]);
  });
});
