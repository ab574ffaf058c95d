// The status and logs screens against the documented contract (docs/api.md), in a real
// browser, with a real login — but with GET /api/gateways, GET /api/logs, the gateway
// commands and the /ws/ socket answered by this test instead of the hub engine. This checks
// the screens' behaviour (live frames, drill-down, controls, offline banner, log filters,
// pause, the bounded ring, socket close 4401) until the hub exists; live-hub.test.mjs checks
// the same against the real thing.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  axeViolations,
  describeViolations,
  launchBrowser,
  login,
  missingEnv,
  screenshot,
  skipReason,
  waitFor,
  waitForLocation,
} from "./helpers.mjs";

const skip = skipReason("contract browser tests", missingEnv());

const NOW = Date.now() / 1000;

function source(overrides) {
  return {
    gateway_type: "sim",
    is_enabled: true,
    state: "healthy",
    state_reason: "canary ticks flowing",
    state_since: NOW - 3600,
    is_primary: false,
    pid: 4242,
    tick_rate: 118.4,
    last_tick_age: 0.2,
    canaries: { "rb2501.SHFE": 0.4, "IF2412.CFFEX": 0.9 },
    first_share: 0.3,
    latency_ms: { p50: 0.4, p99: 2.1 },
    restarts: 0,
    ticks: 412_345,
    drops: {},
    ...overrides,
  };
}

function gateways(overrides = {}) {
  const list = [
    source({ id: "sim-a", priority: 10, is_primary: true, tick_rate: 121.5, first_share: 0.612, latency_ms: { p50: 0.3, p99: 1.2 } }),
    source({ id: "sim-b", priority: 20, tick_rate: 119.9, first_share: 0.301 }),
    source({
      id: "sim-c",
      priority: 30,
      state: "unhealthy",
      state_reason: "canary rb2501.SHFE silent for 12 s while other sources deliver it",
      tick_rate: 0,
      last_tick_age: 12.4,
      canaries: { "rb2501.SHFE": 12.4, "IF2412.CFFEX": null },
      first_share: 0.087,
      latency_ms: { p50: 4.8, p99: 31.5 },
      restarts: 2,
      pid: 4250,
    }),
    source({
      id: "ctp-main",
      gateway_type: "ctp",
      priority: 40,
      is_enabled: false,
      state: "stopped",
      state_reason: "disabled",
      pid: null,
      tick_rate: null,
      last_tick_age: null,
      canaries: { "rb2501.SHFE": null },
      first_share: null,
      latency_ms: null,
    }),
  ];
  return list.map((item) => ({ ...item, ...(overrides[item.id] ?? {}) }));
}

function statusFrame(overrides = {}, engine = "online") {
  return { type: "gateway.status", engine, primary: "sim-a", mode: "hot", updated_at: Date.now() / 1000, gateways: gateways(overrides) };
}

let seq = 0;
function log(level, account, msg, logger = "mdhub.gateway") {
  seq += 1;
  return { ts: NOW - 60 + seq * 0.01, level, account, logger, msg };
}

const BACKLOG = [
  log("INFO", null, "hub started: 4 accounts, mode hot", "mdhub.hub"),
  log("INFO", "sim-a", "logged in, subscribing 120 contracts"),
  log("INFO", "sim-b", "logged in, subscribing 120 contracts"),
  log("WARNING", "sim-c", "canary rb2501.SHFE late by 6.1 s"),
  log("ERROR", "sim-c", "state unhealthy: canary rb2501.SHFE silent for 12 s while other sources deliver it"),
  log("INFO", null, "primary stays sim-a", "mdhub.failover"),
];

describe("status and logs screens against the documented contract", { skip: skip ?? false }, () => {
  let browser;
  let page;
  let socket = null; // the page's /ws/ connection, answered here
  const commands = [];

  before(async () => {
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    await page.route(/\/api\/gateways$/, (route) =>
      route.fulfill({ json: { ...statusFrame(), type: undefined } }),
    );
    await page.route(/\/api\/logs(\?.*)?$/, (route) => {
      const url = new URL(route.request().url());
      const min = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"].indexOf(url.searchParams.get("level") ?? "INFO");
      const account = url.searchParams.get("account");
      const results = BACKLOG.filter(
        (record) =>
          ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"].indexOf(record.level) >= min &&
          (!account || record.account === account),
      );
      return route.fulfill({ json: { results } });
    });
    await page.route(/\/api\/accounts\/[^/]+\/(start|stop|restart)$/, (route) => {
      const request = route.request();
      const [, account, command] = new URL(request.url()).pathname.match(/accounts\/([^/]+)\/(\w+)$/);
      commands.push({ account, command, csrf: request.headers()["x-csrftoken"], method: request.method() });
      return route.fulfill({ status: 202, json: { accepted: true, command, account } });
    });
    await page.routeWebSocket(/\/ws\/$/, (ws) => {
      socket = ws;
      ws.send(JSON.stringify(statusFrame()));
      ws.send(JSON.stringify({ type: "hub.log", records: BACKLOG }));
    });
    await login(page);
  });

  after(async () => {
    await browser?.close();
  });

  const send = (frame) => socket.send(JSON.stringify(frame));

  test("every source shows type, priority, state in words, primary, rates, canaries, share, latency, restarts", async () => {
    await page.getByTestId("gateway-row-sim-c").waitFor();
    await waitFor(async () => (await page.getByTestId("socket-state").getAttribute("data-state")) === "open", {
      what: "the socket to open",
    });
    const rows = page.locator("[data-testid^='gateway-row-']");
    assert.deepEqual(
      await rows.evaluateAll((elements) => elements.map((element) => element.getAttribute("data-testid"))),
      ["gateway-row-sim-a", "gateway-row-sim-b", "gateway-row-sim-c", "gateway-row-ctp-main"],
    );
    const a = await page.getByTestId("gateway-row-sim-a").innerText();
    for (const text of ["sim-a", "primary", "sim", "10", "healthy", "121.5", "0.2 s", "rb2501.SHFE", "61.2 %", "0.30 / 1.20"]) {
      assert.ok(a.includes(text), `sim-a row shows ${text}: ${a}`);
    }
    const c = await page.getByTestId("gateway-row-sim-c").innerText();
    for (const text of ["unhealthy", "12 s", "(late)", "no tick yet", "8.7 %", "2"]) {
      assert.ok(c.includes(text), `sim-c row shows ${text}: ${c}`);
    }
    assert.equal(await page.getByTestId("primary-marker").count(), 1);
    assert.equal(await page.getByTestId("healthy-count").innerText(), "2 / 3");
    assert.equal(await page.getByTestId("engine-state").innerText(), "online");
    const numeric = await page.getByTestId("gateway-row-sim-a").locator("td.tabular-nums").count();
    assert.ok(numeric >= 5, "numbers use tabular-nums");

    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));
    await screenshot(page, "status-sample");
  });

  test("gateway.status frames update the table without a reload", async () => {
    send(statusFrame({ "sim-b": { state: "stale", state_reason: "canary late", tick_rate: 3.2 } }));
    await waitFor(async () => (await page.getByTestId("gateway-row-sim-b").getAttribute("data-state")) === "stale", {
      what: "sim-b stale",
    });
    assert.equal(await page.getByTestId("healthy-count").innerText(), "1 / 3");
    send(statusFrame());
    await waitFor(async () => (await page.getByTestId("gateway-row-sim-b").getAttribute("data-state")) === "healthy", {
      what: "sim-b healthy again",
    });
  });

  test("a hard restart asks first, posts with the CSRF token, shows a toast and a pending state", async () => {
    await page.getByTestId("restart-sim-c").click();
    const confirm = page.getByRole("alertdialog", { name: "Hard-restart sim-c?" });
    await confirm.waitFor();
    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));
    await confirm.getByRole("button", { name: "Cancel" }).click();
    assert.equal(commands.length, 0, "cancel sends nothing");

    await page.getByTestId("restart-sim-c").focus();
    await page.keyboard.press("Enter");
    await confirm.getByRole("button", { name: "Hard restart" }).click();
    await page.getByText("Restart of sim-c accepted").first().waitFor();
    assert.deepEqual(commands.at(-1).account, "sim-c");
    assert.equal(commands.at(-1).method, "POST");
    assert.ok(commands.at(-1).csrf, "X-CSRFToken sent");
    const button = page.getByTestId("restart-sim-c");
    assert.match(await button.innerText(), /Restarting…/);
    assert.equal(await button.isDisabled(), true);

    send(statusFrame({ "sim-c": { state: "restarting", state_since: Date.now() / 1000 } }));
    await waitFor(async () => !/Restarting…/.test(await button.innerText()), { what: "the pending state to clear" });
    send(statusFrame({ "sim-c": { state: "healthy", state_reason: "canary ticks flowing", restarts: 3, pid: 4300 } }));
    await waitFor(async () => (await page.getByTestId("gateway-row-sim-c").getAttribute("data-state")) === "healthy", {
      what: "sim-c healthy",
    });
  });

  test("engine.offline shows the banner on every screen; the next online snapshot removes it", async () => {
    send({ type: "engine.offline" });
    await page.getByTestId("engine-offline").waitFor();
    assert.equal(await page.getByTestId("engine-state").innerText(), "offline");
    assert.equal(await page.getByTestId("restart-sim-a").isDisabled(), true, "no commands while offline");
    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));
    await screenshot(page, "status-offline-sample");

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" }).click();
    await page.getByTestId("engine-offline").waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Status" }).click();

    send(statusFrame());
    await page.getByTestId("engine-offline").waitFor({ state: "detached" });
  });

  test("clicking a troubled source drills down to its warnings and errors", async () => {
    send(statusFrame({ "sim-c": { state: "unhealthy" } }));
    const link = page.getByTestId("gateway-row-sim-c").getByRole("link", { name: /unhealthy/ });
    await link.click();
    await waitForLocation(page, (url) => url.pathname === "/logs");
    const url = new URL(page.url());
    assert.equal(url.searchParams.get("account"), "sim-c");
    assert.equal(url.searchParams.get("level"), "WARNING");
    const lines = page.getByTestId("log-line");
    await waitFor(async () => (await lines.count()) === 2, { what: "sim-c's two WARNING+ lines" });
    const shown = await lines.evaluateAll((elements) =>
      elements.map((element) => `${element.getAttribute("data-account")}:${element.getAttribute("data-level")}`),
    );
    assert.deepEqual(shown, ["sim-c:WARNING", "sim-c:ERROR"]);
    const background = await page.locator("[data-testid='log-line'][data-level='ERROR']").evaluate(
      (element) => getComputedStyle(element).backgroundColor,
    );
    assert.notEqual(background, "rgba(0, 0, 0, 0)", "ERROR lines are highlighted");
  });

  test("logs stream live, filter by level and source, pause and resume", async () => {
    await page.getByLabel("Source").selectOption("");
    await page.getByLabel("Level").selectOption("INFO");
    const lines = page.getByTestId("log-line");
    await waitFor(async () => (await lines.count()) === BACKLOG.length, { what: "the whole backlog" });

    send({ type: "hub.log", records: [log("ERROR", "sim-b", "garbage tick dropped: price_invalid (last_price=-1)")] });
    await waitFor(async () => (await lines.count()) === BACKLOG.length + 1, { what: "a live line" });

    await page.getByLabel("Level").selectOption("ERROR");
    await waitFor(async () => (await lines.count()) === 2, { what: "ERROR only" });
    await page.getByLabel("Source").selectOption("sim-b");
    await waitFor(async () => (await lines.count()) === 1, { what: "sim-b's ERROR" });
    await page.getByLabel("Source").selectOption("");
    await page.getByLabel("Level").selectOption("INFO");

    await page.getByTestId("log-pause").click();
    const before = await lines.count();
    send({ type: "hub.log", records: [log("INFO", "sim-a", "while paused 1"), log("INFO", "sim-a", "while paused 2")] });
    await page.getByText("Paused: 2 new records").waitFor();
    assert.equal(await lines.count(), before, "the view holds still while paused");
    await page.getByTestId("log-pause").click();
    await waitFor(async () => (await lines.count()) === before + 2, { what: "the paused lines after resume" });

    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));
    await screenshot(page, "logs-sample");
  });

  test("the log view keeps at most 2000 records", async () => {
    const flood = Array.from({ length: 2500 }, (_, index) => log("INFO", "sim-a", `flood ${index}`));
    send({ type: "hub.log", records: flood });
    await waitFor(async () => /of 2000 records/.test(await page.getByTestId("log-count").innerText()), {
      what: "the ring to be full",
    });
    assert.equal(await page.getByTestId("log-line").count(), 2000);
    assert.match(await page.getByTestId("log-line").last().innerText(), /flood 2499/);
  });

  test("a socket closed with 4401 (session gone) returns to the login page", async () => {
    await browser.context.clearCookies(); // what 4401 means: the session is gone
    await socket.close({ code: 4401, reason: "login required" });
    await waitForLocation(page, (url) => url.pathname === "/login");
    assert.match(new URL(page.url()).searchParams.get("next") ?? "", /^\/logs/);
  });
});
