// Browser tests that need the LIVE hub: a running engine with (at least) three healthy sim
// sources, the gateway/log APIs and the /ws/ socket of docs/api.md. `npm run test:e2e:local`
// (what `./dev test` and CI run) brings up that stack (Redis, Daphne, seed_demo) and sets
// the commands below (scripts/e2e-hub.sh, scripts/e2e-fault.sh). Run by hand with
// `npm run test:e2e` and without MDHUB_E2E_HUB_CMD they are skipped, saying so; with
// MDHUB_E2E_REQUIRE=1 (set by test:e2e:local) a missing setting fails them instead.
//
// Environment (on top of MDHUB_E2E_URL / MDHUB_E2E_USER / MDHUB_E2E_PASSWORD, see helpers.mjs):
//   MDHUB_E2E_HUB_CMD     command that starts or stops the hub engine, run through the shell
//                         as `$MDHUB_E2E_HUB_CMD start` and `$MDHUB_E2E_HUB_CMD stop`; `start`
//                         must be harmless when it already runs. Run once before the tests.
//   MDHUB_E2E_FAULT_CMD   command that injects a fault into a sim source, run as
//                         `$MDHUB_E2E_FAULT_CMD <account> garbage` (required, too).
//   MDHUB_E2E_TIMEOUT_S   how long to wait for a state to show (default 60).
//
// The user must be an operator (staff): the tests press start/stop/restart and toggle accounts.

import assert from "node:assert/strict";
import { exec } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";

import {
  apiFromPage,
  axeViolations,
  describeViolations,
  dismissToasts,
  launchBrowser,
  login,
  missingEnv,
  screenshot,
  skipReason,
  waitFor,
  waitForLocation,
} from "./helpers.mjs";

const run = promisify(exec);
const HUB_CMD = process.env.MDHUB_E2E_HUB_CMD ?? "";
const FAULT_CMD = process.env.MDHUB_E2E_FAULT_CMD ?? "";
const TIMEOUT_MS = Number(process.env.MDHUB_E2E_TIMEOUT_S ?? 60) * 1000;

const skip = skipReason(
  "live-hub browser tests",
  missingEnv() ??
    (HUB_CMD ? null : "MDHUB_E2E_HUB_CMD is not set (these tests need the live hub; see the top of this file)") ??
    (FAULT_CMD ? null : "MDHUB_E2E_FAULT_CMD is not set (see the top of this file)"),
);

async function hub(action) {
  const { stdout, stderr } = await run(`${HUB_CMD} ${action}`, { timeout: 120_000 });
  return `${stdout}${stderr}`;
}

/** States of every source row now on the status page: {id: state}. */
async function rowStates(page) {
  return page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll("[data-testid^='gateway-row-']")].map((row) => [
        row.getAttribute("data-testid").slice("gateway-row-".length),
        row.getAttribute("data-state"),
      ]),
    ),
  );
}

async function healthyIds(page) {
  const states = await rowStates(page);
  return Object.keys(states).filter((id) => states[id] === "healthy");
}

async function gotoStatus(page) {
  if (new URL(page.url()).pathname !== "/") {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Status" }).click();
    await waitForLocation(page, (url) => url.pathname === "/");
  }
  await page.getByRole("heading", { name: "Status", level: 1 }).waitFor();
}

async function waitForThreeHealthy(page) {
  return waitFor(async () => {
    const ids = await healthyIds(page);
    return ids.length >= 3 ? ids : null;
  }, { timeoutMs: TIMEOUT_MS, intervalMs: 250, what: "three healthy sources on the status page" });
}

describe("dashboard against the live hub", { skip: skip ?? false }, () => {
  let browser;
  let page;
  let sources = []; // healthy source ids, in the page's (priority) order

  before(async () => {
    await hub("start");
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    await login(page);
  });

  after(async () => {
    // Leave the hub running and every source we touched enabled.
    if (page && sources.length) {
      for (const id of sources) await apiFromPage(page, "PATCH", `/api/accounts/${id}`, { is_enabled: true }).catch(() => {});
    }
    if (HUB_CMD) await hub("start").catch(() => {});
    await browser?.close();
  });

  test("the status page shows three healthy sources, live, with one primary", async () => {
    await gotoStatus(page);
    sources = await waitForThreeHealthy(page);
    assert.equal(await page.getByTestId("engine-state").innerText(), "online");
    assert.equal(await page.getByTestId("socket-state").getAttribute("data-state"), "open");
    assert.equal(await page.getByTestId("primary-marker").count(), 1);

    // Live: the numbers move without a reload (tick counts change with every status frame).
    const firstRow = page.getByTestId(`gateway-row-${sources[0]}`);
    const before = await firstRow.innerText();
    await waitFor(async () => (await firstRow.innerText()) !== before, {
      timeoutMs: 10_000,
      what: "the row to update from a gateway.status frame",
    });

    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));
    await screenshot(page, "status-live");
  });

  test("a hard restart from the dashboard goes restarting → healthy", async () => {
    await gotoStatus(page);
    const id = sources.at(-1);
    // Record every state the row shows, however briefly.
    await page.evaluate((rowId) => {
      const row = document.querySelector(`[data-testid='gateway-row-${rowId}']`);
      window.__states = [row.getAttribute("data-state")];
      const observer = new MutationObserver(() => {
        const current = document.querySelector(`[data-testid='gateway-row-${rowId}']`)?.getAttribute("data-state");
        if (current && window.__states.at(-1) !== current) window.__states.push(current);
      });
      observer.observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-state"], childList: true });
    }, id);

    await page.getByTestId(`restart-${id}`).click();
    const confirm = page.getByRole("alertdialog", { name: `Hard-restart ${id}?` });
    await confirm.getByRole("button", { name: "Hard restart" }).click();
    await page.getByText(`Restart of ${id} accepted`).first().waitFor();

    // The screen while it restarts (brief: the hub's hub.event frames show each step).
    const row = page.getByTestId(`gateway-row-${id}`);
    const during = await waitFor(
      async () => ["restarting", "starting", "connected"].includes(await row.getAttribute("data-state")),
      { timeoutMs: TIMEOUT_MS, intervalMs: 20, what: `${id} to show the restart` },
    ).catch(() => false);
    if (during) await screenshot(page, "status-restart");

    const states = await waitFor(
      async () => {
        const seen = await page.evaluate(() => window.__states);
        const restarting = seen.indexOf("restarting");
        return restarting >= 0 && seen.slice(restarting + 1).includes("healthy") && seen.at(-1) === "healthy" ? seen : null;
      },
      { timeoutMs: TIMEOUT_MS, what: `${id} to go restarting → healthy` },
    );
    assert.ok(states.includes("restarting"), `states seen: ${states.join(" → ")}`);
  });

  test("disabling an account stops its source; enabling starts it again", async () => {
    const id = sources.at(-1);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" }).click();
    const toggle = page.getByRole("switch", { name: `Enable ${id}` });
    await waitFor(async () => (await toggle.getAttribute("aria-checked")) === "true", { what: `${id} enabled` });
    await toggle.click();
    await page.getByText(`${id} disabled`).first().waitFor();

    await gotoStatus(page);
    await waitFor(
      async () => {
        const states = await rowStates(page);
        return !(id in states) || states[id] === "stopped";
      },
      { timeoutMs: TIMEOUT_MS, what: `${id} to stop` },
    );
    // The others keep delivering.
    const others = sources.filter((other) => other !== id);
    await waitFor(
      async () => {
        const healthy = await healthyIds(page);
        return others.every((other) => healthy.includes(other));
      },
      { timeoutMs: TIMEOUT_MS, what: `${others.join(", ")} still healthy` },
    );
    await dismissToasts(page);
    await screenshot(page, "status-source-disabled");

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" }).click();
    await toggle.click();
    await page.getByText(`${id} enabled:`).first().waitFor();
    await gotoStatus(page);
    await waitForThreeHealthy(page);
  });

  test("after a garbage fault, the ERROR filter shows the errors, highlighted, and nothing else", async () => {
    assert.ok(FAULT_CMD, "MDHUB_E2E_FAULT_CMD is not set");
    const id = sources.at(-1);
    const since = Date.now() / 1000 - 1;
    await run(`${FAULT_CMD} ${id} garbage`, { timeout: 60_000 });

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Logs" }).click();
    await page.getByRole("heading", { name: "Logs", level: 1 }).waitFor();
    await page.getByLabel("Level").selectOption("ERROR");
    await waitForLocation(page, (url) => url.searchParams.get("level") === "ERROR");

    const lines = page.getByTestId("log-line");
    // An ERROR of the faulted source shows up (from the backlog or live).
    await waitFor(
      async () => (await lines.allInnerTexts()).some((text) => text.includes(id)),
      { timeoutMs: TIMEOUT_MS, what: `an ERROR log line of ${id}` },
    );
    const levels = await lines.evaluateAll((elements) => elements.map((element) => element.getAttribute("data-level")));
    assert.ok(levels.every((level) => level === "ERROR" || level === "CRITICAL"), `levels shown: ${levels.join(", ")}`);
    const highlighted = await lines.first().evaluate((element) => getComputedStyle(element).backgroundColor);
    assert.notEqual(highlighted, "rgba(0, 0, 0, 0)", "ERROR lines are highlighted");

    const recent = await apiFromPage(page, "GET", "/api/logs?level=ERROR&limit=200");
    assert.ok(
      recent.body.results.some((record) => record.ts >= since),
      "the hub logged an ERROR after the garbage fault",
    );
    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));
    await dismissToasts(page);
    await screenshot(page, "logs-live");
  });

  test("the engine-offline banner shows when the hub stops, and goes when it is back", async () => {
    await gotoStatus(page);
    await hub("stop");
    await page.getByTestId("engine-offline").waitFor({ state: "visible", timeout: TIMEOUT_MS });
    assert.equal(await page.getByTestId("engine-state").innerText(), "offline");
    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));
    await dismissToasts(page);
    await screenshot(page, "status-offline");

    // A page opened while the hub is down still lists every account, stopped (the socket
    // says engine.offline first; GET /api/gateways lists the accounts).
    await page.reload();
    await page.getByTestId("engine-offline").waitFor({ state: "visible" });
    const stopped = await waitFor(
      async () => {
        const states = await rowStates(page);
        return sources.every((id) => states[id] === "stopped") ? states : null;
      },
      { timeoutMs: TIMEOUT_MS, what: "every source listed as stopped while the hub is down" },
    );
    assert.ok(Object.keys(stopped).length >= 3, JSON.stringify(stopped));
    assert.equal(await page.getByTestId("engine-state").innerText(), "offline");

    await hub("start");
    await page.getByTestId("engine-offline").waitFor({ state: "detached", timeout: TIMEOUT_MS });
    await waitForThreeHealthy(page);
  });
});
