// Browser test against the LIVE hub (three sim sources; see live-hub.test.mjs for the
// environment): the sources page draws its charts and state timeline from live data, and
// the contracts page lists contracts with a winner, a seq and the others' lateness.

import assert from "node:assert/strict";
import { exec } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";

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

const run = promisify(exec);
const HUB_CMD = process.env.MDHUB_E2E_HUB_CMD ?? "";
const TIMEOUT_MS = Number(process.env.MDHUB_E2E_TIMEOUT_S ?? 60) * 1000;

const skip = skipReason(
  "sources and contracts browser tests",
  missingEnv() ?? (HUB_CMD ? null : "MDHUB_E2E_HUB_CMD is not set (these tests need the live hub)"),
);

describe("sources charts and contracts against the live hub", { skip: skip ?? false }, () => {
  let browser;
  let page;

  before(async () => {
    await run(`${HUB_CMD} start`, { timeout: 120_000 });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    await login(page);
  });

  after(async () => {
    await browser?.close();
  });

  test("the sources page draws tick rate and first share lines per source, and the state timeline", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sources" }).click();
    await waitForLocation(page, (url) => url.pathname.startsWith("/sources"));
    await page.getByRole("heading", { name: "Sources", level: 1 }).waitFor();
    // A line per source once two samples (5 s apart) exist: recharts draws each as a path.
    const lines = await waitFor(
      async () => {
        const count = await page.locator("[data-testid='chart-tick_rate'] path.recharts-line-curve").count();
        return count >= 3 ? count : null;
      },
      { timeoutMs: TIMEOUT_MS, intervalMs: 500, what: "three tick-rate lines" },
    );
    assert.ok(lines >= 3);
    await waitFor(
      async () => (await page.locator("[data-testid='chart-first_share'] path.recharts-line-curve").count()) >= 1,
      { timeoutMs: TIMEOUT_MS, intervalMs: 500, what: "a first-share line" },
    );
    // The axis says it is exchange time.
    assert.match(await page.getByTestId("chart-tick_rate").innerText(), /exchange time/);
    // Every sim source went healthy at some point: the timeline has a healthy bar for each.
    const healthyBars = await waitFor(
      async () => {
        const n = await page.locator("[data-testid='state-timeline'] [data-state='healthy']").count();
        return n >= 3 ? n : null;
      },
      { timeoutMs: TIMEOUT_MS, intervalMs: 500, what: "healthy bars in the state timeline" },
    );
    assert.ok(healthyBars >= 3);
    await page.getByTestId("speed-table").waitFor();
    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));
    await screenshot(page, "sources-charts");
  });

  test("the contracts page lists live contracts with a winner and the others' lateness", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Contracts" }).click();
    await waitForLocation(page, (url) => url.pathname.startsWith("/contracts"));
    const first = page.getByTestId("contract-row").first();
    await first.waitFor();
    const text = await first.innerText();
    assert.match(text, /\.[A-Z]+/, "a vt_symbol");
    assert.match(text, /sim-[abc]/, "a winning source");
    // Search narrows the list to what matches.
    const symbol = (await first.locator("td").first().innerText()).trim();
    await page.getByLabel("Search contracts").fill(symbol);
    await waitFor(async () => (await page.getByTestId("contract-row").count()) === 1, {
      timeoutMs: 15_000,
      what: "the search to narrow the list to one contract",
    });
    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));
    await screenshot(page, "contracts");
  });
});
