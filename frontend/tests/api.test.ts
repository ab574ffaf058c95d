import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import {
  ApiError,
  configureApi,
  createAccount,
  fieldErrors,
  gatewayCommand,
  getLogs,
  getSession,
  listAccounts,
  login,
  readCookie,
  resetApiConfig,
  setAccountEnabled,
} from "@/lib/api";

import { cookieFetch, json, startServer, type TestServer } from "./support/http-server";

let server: TestServer;
let onUnauthorized: ReturnType<typeof vi.fn>;
let browser: ReturnType<typeof cookieFetch>;

beforeEach(async () => {
  server = await startServer();
  browser = cookieFetch();
  onUnauthorized = vi.fn();
  configureApi({ baseUrl: server.url, fetch: browser.fetch, cookies: browser.cookies, onUnauthorized });
  // Like Django's ensure_csrf_cookie on GET /api/auth/session.
  server.route("GET", "/api/auth/session", (_request, response) =>
    json(response, 401, { detail: "Not logged in." }, { "Set-Cookie": "csrftoken=tok123; Path=/; SameSite=Lax" }),
  );
});

afterEach(async () => {
  resetApiConfig();
  await server.close();
});

describe("lib/api", () => {
  it("reads a cookie by name among others", () => {
    expect(readCookie("csrftoken", "sessionid=abc; csrftoken=x%2By; other=1")).toBe("x+y");
    expect(readCookie("missing", "a=1")).toBeNull();
  });

  it("fetches the CSRF cookie first, then sends it as X-CSRFToken on unsafe methods", async () => {
    server.route("POST", "/api/auth/session", (_request, response) =>
      json(response, 200, { username: "alice", is_staff: true }),
    );
    const user = await login("alice", "pw");
    expect(user).toEqual({ username: "alice", is_staff: true });
    const post = server.seen.find((request) => request.method === "POST");
    expect(post?.headers["x-csrftoken"]).toBe("tok123");
    expect(post?.headers["content-type"]).toBe("application/json");
    expect(post?.body).toEqual({ username: "alice", password: "pw" });
  });

  it("sends no CSRF header on GET", async () => {
    browser.jar.set("csrftoken", "tok123");
    server.route("GET", "/api/gateways", (_request, response) => json(response, 200, { engine: "online", gateways: [] }));
    await (await import("@/lib/api")).getGateways();
    expect(server.seen.at(-1)?.headers["x-csrftoken"]).toBeUndefined();
  });

  it("answers null for the session when nobody is logged in, without redirecting", async () => {
    expect(await getSession()).toBeNull();
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it("sends the user to login on a 401", async () => {
    server.route("GET", "/api/accounts", (_request, response) => json(response, 401, { detail: "Session expired." }));
    await expect(listAccounts()).rejects.toMatchObject({ status: 401, message: "Session expired." });
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it("sends the user to login on DRF's 403 for a missing login", async () => {
    server.route("GET", "/api/accounts", (_request, response) =>
      json(response, 403, { detail: "Authentication credentials were not provided." }),
    );
    await expect(listAccounts()).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it("keeps a logged-in viewer on the page on a permission 403, with the server's reason", async () => {
    server.route("GET", "/api/auth/session", (_request, response) => json(response, 200, { username: "bob", is_staff: false }));
    browser.jar.set("csrftoken", "tok123");
    server.route("POST", "/api/accounts/sim-a/restart", (_request, response) =>
      json(response, 403, { detail: "You do not have permission to perform this action." }),
    );
    await expect(gatewayCommand("sim-a", "restart")).rejects.toMatchObject({
      status: 403,
      message: "You do not have permission to perform this action.",
    });
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it("follows the pages of a list, through our own origin", async () => {
    server.route("GET", "/api/accounts", (request, response) => {
      const offset = new URL(request.url, "http://x").searchParams.get("offset");
      if (!offset) {
        json(response, 200, {
          count: 2,
          next: "http://elsewhere.example/api/accounts?limit=1&offset=1",
          previous: null,
          results: [{ id: "a" }],
        });
      } else {
        json(response, 200, { count: 2, next: null, previous: null, results: [{ id: "b" }] });
      }
    });
    const accounts = await listAccounts();
    expect(accounts.map((account) => account.id)).toEqual(["a", "b"]);
  });

  it("PATCHes is_enabled for the toggle", async () => {
    browser.jar.set("csrftoken", "tok123");
    server.route("PATCH", "/api/accounts/sim-a", (request, response) =>
      json(response, 200, { id: "sim-a", ...(request.body as object) }),
    );
    const saved = await setAccountEnabled("sim-a", true);
    expect(saved.is_enabled).toBe(true);
    expect(server.seen.at(-1)).toMatchObject({ method: "PATCH", body: { is_enabled: true } });
  });

  it("turns a 400 into an ApiError that carries the body", async () => {
    browser.jar.set("csrftoken", "tok123");
    const body = { settings: { mdAddress: "'x' is not an address like tcp://host:port" } };
    server.route("POST", "/api/accounts", (_request, response) => json(response, 400, body));
    const error = await createAccount({ id: "x" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).body).toEqual(body);
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it("builds the logs query and leaves out empty filters", async () => {
    server.route("GET", "/api/logs", (_request, response) =>
      json(response, 200, { results: [{ ts: 1, level: "ERROR", account: "sim-a", logger: "x", msg: "boom" }] }),
    );
    const records = await getLogs({ level: "ERROR", account: "sim-a", limit: 50 });
    expect(records).toHaveLength(1);
    expect(server.seen.at(-1)?.url).toBe("/api/logs?level=ERROR&account=sim-a&limit=50");
    await getLogs({ level: "INFO", account: null });
    expect(server.seen.at(-1)?.url).toBe("/api/logs?level=INFO");
  });

  it("says what to do when the server cannot be reached", async () => {
    await server.close();
    configureApi({ baseUrl: "http://127.0.0.1:9" });
    await expect(listAccounts()).rejects.toMatchObject({ status: 0, message: expect.stringMatching(/Cannot reach/) });
    server = await startServer(); // for afterEach
  });
});

describe("fieldErrors", () => {
  it("flattens DRF's nested settings errors and lists", () => {
    expect(
      fieldErrors({
        settings: { mdAddress: ["'x' is not an address like tcp://host:port"], password: "required for ctp accounts" },
        priority: ["Ensure this value is greater than or equal to 0."],
        non_field_errors: ["Something else."],
      }),
    ).toEqual({
      "settings.mdAddress": "'x' is not an address like tcp://host:port",
      "settings.password": "required for ctp accounts",
      priority: "Ensure this value is greater than or equal to 0.",
      _form: "Something else.",
    });
  });

  it("names the settings object itself when the server complains about it as a whole", () => {
    expect(fieldErrors({ settings: { settings: "must be a JSON object" } })).toEqual({ settings: "must be a JSON object" });
    expect(fieldErrors({ canaries: ["'x' is not a vt_symbol such as rb2501.SHFE"] })).toEqual({
      canaries: "'x' is not a vt_symbol such as rb2501.SHFE",
    });
  });

  it("puts a bare detail at form level", () => {
    expect(fieldErrors({ detail: "Nope." })).toEqual({ _form: "Nope." });
  });
});
