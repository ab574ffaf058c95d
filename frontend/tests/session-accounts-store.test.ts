import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { ApiError, configureApi, resetApiConfig } from "@/lib/api";
import { useAccountsStore } from "@/stores/accounts";
import { selectIsOperator, useSessionStore } from "@/stores/session";

import { cookieFetch, json, startServer, type TestServer } from "./support/http-server";

let server: TestServer;
const initialSession = useSessionStore.getState();
const initialAccounts = useAccountsStore.getState();

function account(id: string, overrides: Record<string, unknown> = {}) {
  return {
    id,
    gateway_type: "sim",
    settings: {},
    secrets_set: {},
    priority: 10,
    is_enabled: false,
    description: "",
    canaries: [],
    created_at: "",
    updated_at: "",
    ...overrides,
  };
}

beforeEach(async () => {
  server = await startServer();
  const browser = cookieFetch();
  browser.jar.set("csrftoken", "tok");
  configureApi({ baseUrl: server.url, fetch: browser.fetch, cookies: browser.cookies, onUnauthorized: vi.fn() });
  useSessionStore.setState(initialSession, true);
  useAccountsStore.setState(initialAccounts, true);
});

afterEach(async () => {
  resetApiConfig();
  await server.close();
});

describe("session store", () => {
  it("is anonymous when the server says 401, authenticated after login, anonymous after logout", async () => {
    let loggedIn = false;
    server.route("GET", "/api/auth/session", (_request, response) =>
      loggedIn ? json(response, 200, { username: "alice", is_staff: true }) : json(response, 401, { detail: "Not logged in." }),
    );
    server.route("POST", "/api/auth/session", (_request, response) => {
      loggedIn = true;
      json(response, 200, { username: "alice", is_staff: true });
    });
    server.route("DELETE", "/api/auth/session", (_request, response) => {
      loggedIn = false;
      response.writeHead(204).end();
    });

    await useSessionStore.getState().check();
    expect(useSessionStore.getState().status).toBe("anonymous");

    await useSessionStore.getState().login("alice", "pw");
    expect(useSessionStore.getState()).toMatchObject({ status: "authenticated", user: { username: "alice" } });
    expect(selectIsOperator(useSessionStore.getState())).toBe(true);

    await useSessionStore.getState().logout();
    expect(useSessionStore.getState()).toMatchObject({ status: "anonymous", user: null });
  });

  it("reports bad credentials with the server's message", async () => {
    server.route("POST", "/api/auth/session", (_request, response) =>
      json(response, 401, { detail: "Wrong username or password, or too many failed attempts: wait and retry." }),
    );
    await expect(useSessionStore.getState().login("alice", "nope")).rejects.toThrow(/Wrong username or password/);
    expect(useSessionStore.getState().status).toBe("unknown");
  });
});

describe("accounts store", () => {
  it("loads and orders by priority", async () => {
    server.route("GET", "/api/accounts", (_request, response) =>
      json(response, 200, {
        count: 2,
        next: null,
        previous: null,
        results: [account("b", { priority: 20 }), account("a", { priority: 5 })],
      }),
    );
    await useAccountsStore.getState().load();
    expect(useAccountsStore.getState().accounts.map((item) => item.id)).toEqual(["a", "b"]);
  });

  it("flips a toggle at once and back again when the server refuses", async () => {
    useAccountsStore.setState({ accounts: [account("sim-a") as never], loaded: true });
    let release: () => void = () => {};
    server.route("PATCH", "/api/accounts/sim-a", (_request, response) => {
      release = () => json(response, 403, { detail: "You do not have permission to perform this action." });
    });
    server.route("GET", "/api/auth/session", (_request, response) => json(response, 200, { username: "bob", is_staff: false }));

    const saving = useAccountsStore.getState().setEnabled("sim-a", true);
    await vi.waitFor(() => expect(server.seen.some((request) => request.method === "PATCH")).toBe(true));
    expect(useAccountsStore.getState().accounts[0].is_enabled).toBe(true);
    expect(useAccountsStore.getState().toggling["sim-a"]).toBe(true);

    release();
    await expect(saving).rejects.toBeInstanceOf(ApiError);
    expect(useAccountsStore.getState().accounts[0].is_enabled).toBe(false);
    expect(useAccountsStore.getState().toggling).toEqual({});
  });

  it("creates and then updates through save()", async () => {
    server.route("POST", "/api/accounts", (request, response) => json(response, 201, account("sim-n", request.body as Record<string, unknown>)));
    server.route("PATCH", "/api/accounts/sim-n", (request, response) => json(response, 200, account("sim-n", request.body as Record<string, unknown>)));
    await useAccountsStore.getState().save(null, { id: "sim-n", gateway_type: "sim", priority: 3 });
    await useAccountsStore.getState().save("sim-n", { priority: 4 });
    expect(useAccountsStore.getState().accounts).toHaveLength(1);
    expect(useAccountsStore.getState().accounts[0].priority).toBe(4);
  });
});
