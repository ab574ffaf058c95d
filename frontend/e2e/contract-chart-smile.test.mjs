// Browser test against the LIVE hub with its data services (scripts/e2e-local.sh runs it with
// MDHUB_SERVICES=bars,greeks, 2 s and 1 min bars, 42 sim contracts): the contracts view of a
// future draws its bars from the hub's bar service, the time axis in exchange time whatever
// the browser's zone, and the smile of an underlying shows the IV the Greeks service finds,
// near the volatility the simulator priced with, and says why where it finds none.

import assert from "node:assert/strict";
import { exec } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";

import {
  apiFromPage,
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
// A 1-minute bar closes at the minute's end plus the grace: up to a minute after start-up.
const MINUTE_BAR_TIMEOUT_MS = Math.max(TIMEOUT_MS, 100_000);
// The browser runs in New York: every time the page shows must still be China time.
const BROWSER_ZONE = "America/New_York";
// gateways/simoptions.py: the IO smile's at-the-money volatility (its term slope moves it by
// less than 0.1 point within a month); the Greeks service inverts the one-tick market's mid.
const IO_ATM_VOL = 0.18;
const IV_TOLERANCE = 0.03;
// The sim's SSE 50ETF options: their ETF is never published, so no IV can be found.
const ETF = "510050.SSE";

const skip = skipReason(
  "contract chart and smile browser tests",
  missingEnv() ?? (HUB_CMD ? null : "MDHUB_E2E_HUB_CMD is not set (these tests need the live hub)"),
);

/** Epoch ns → "HH:MM:SS" in exchange time, as the page should print it. */
function exchangeClock(ns) {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Shanghai",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).format(new Date(ns / 1e6));
}

/** The front-month IF future's vt_symbol among the live contracts (e.g. IF2612.CFFEX). */
async function frontIndexFuture(page) {
  const listed = await waitFor(
    async () => {
      const response = await apiFromPage(page, "GET", "/api/contracts?q=.CFFEX&limit=200");
      const rows = response.body?.results ?? [];
      const futures = rows.map((row) => row.vt_symbol).filter((symbol) => /^IF\d{4}\.CFFEX$/.test(symbol));
      return futures.length ? futures.sort() : null;
    },
    { timeoutMs: TIMEOUT_MS, intervalMs: 500, what: "an IF future among the live contracts" },
  );
  return listed[0];
}

async function smileFromApi(page, underlying) {
  const response = await apiFromPage(page, "GET", `/api/smile?underlying=${encodeURIComponent(underlying)}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

describe("a contract's live chart and an underlying's smile against the live hub", { skip: skip ?? false }, () => {
  let browser;
  let page;
  let future;

  before(async () => {
    await run(`${HUB_CMD} start`, { timeout: 120_000 });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send("Emulation.setTimezoneOverride", { timezoneId: BROWSER_ZONE });
    await login(page);
    future = await frontIndexFuture(page);
  });

  after(async () => {
    await browser?.close();
  });

  test("clicking a future with an option chain shows its smile: IV by strike per expiry near the sim's volatility", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Contracts" }).click();
    await waitForLocation(page, (url) => url.pathname.startsWith("/contracts"));
    await page.getByLabel("Search contracts").fill(future);
    await page.getByRole("button", { name: `Show the chart of ${future}` }).click();
    await waitForLocation(page, (url) => url.searchParams.get("symbol") === future);

    // A strike where both the call and the put have an IV (the Greeks service needs both
    // quotes for the parity forward, and each option's first tick).
    const smile = page.getByTestId("smile-chart");
    const priced = smile.locator("[data-testid='smile-point']:not([data-call-iv='']):not([data-put-iv=''])");
    await waitFor(async () => (await priced.count()) > 0, {
      timeoutMs: TIMEOUT_MS,
      intervalMs: 500,
      what: `a strike of ${future}'s smile with both IVs`,
    });
    const expiries = await smile.getByTestId("smile-expiry").evaluateAll((nodes) =>
      nodes.map((node) => node.getAttribute("data-expiry")),
    );
    assert.ok(expiries.length >= 1 && expiries.every((e) => /^\d{4}-\d{2}-\d{2}$/.test(e)), String(expiries));
    assert.deepEqual([...expiries].sort(), expiries, "nearest expiry first");

    // What the page shows is what the API serves, and it is near the sim's smile.
    const api = await smileFromApi(page, future);
    assert.equal(api.hub, "online");
    assert.deepEqual(
      api.expiries.map((e) => e.expiry),
      expiries,
    );
    const points = await smile.getByTestId("smile-point").evaluateAll((rows) =>
      rows.map((row) => ({
        strike: Number(row.getAttribute("data-strike")),
        call: row.getAttribute("data-call-iv") === "" ? null : Number(row.getAttribute("data-call-iv")),
        put: row.getAttribute("data-put-iv") === "" ? null : Number(row.getAttribute("data-put-iv")),
        text: row.innerText,
      })),
    );
    assert.ok(points.length >= 1);
    const strikes = points.map((p) => p.strike);
    assert.deepEqual([...strikes].sort((a, b) => a - b), strikes, "strikes in order");
    const forward = api.expiries[0].forward;
    assert.ok(Number.isFinite(forward) && forward > 0, `a forward (${forward})`);
    const atm = points.reduce((best, p) => (Math.abs(p.strike - forward) < Math.abs(best.strike - forward) ? p : best));
    for (const iv of [atm.call, atm.put]) {
      assert.ok(iv !== null && Math.abs(iv - IO_ATM_VOL) <= IV_TOLERANCE, `ATM IV ${iv} near ${IO_ATM_VOL} (${atm.text})`);
    }
    // Shown as percent, with no "why no IV" note where there is an IV.
    assert.match(atm.text, new RegExp(`${(atm.call * 100).toFixed(2)} %`));
    for (const p of points) {
      for (const iv of [p.call, p.put]) assert.ok(iv === null || (iv > 0.01 && iv < 2), `IV ${iv} in range`);
    }
    assert.equal((await priced.first().getByTestId("no-iv-reason").innerText()).trim(), "");
    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));
    await screenshot(page, "contract-smile");
  });

  test("where no IV can be found the smile says why, and a future without options says it has none", async () => {
    // The ETF has no row (the sim never publishes it); its chart is linked to by URL.
    await page.goto(`/contracts?symbol=${encodeURIComponent(ETF)}`);
    const reason = page.getByTestId("smile-chart").getByTestId("no-iv-reason").first();
    await waitFor(async () => /no underlying price/.test(await reason.innerText().catch(() => "")), {
      timeoutMs: TIMEOUT_MS,
      intervalMs: 500,
      what: `the reason ${ETF}'s options have no IV`,
    });
    const text = await reason.innerText();
    assert.match(text, /call \d+\.SSE: no underlying price/);
    assert.match(text, /put \d+\.SSE: no underlying price/);
    const row = page.getByTestId("smile-chart").getByTestId("smile-point").first();
    assert.equal(await row.getAttribute("data-call-iv"), "");
    assert.match(await row.innerText(), /—/, "no number made up");
    // Nothing trades on the ETF here: no bar, and the chart says so.
    await page.getByTestId("no-bars").waitFor();
    await screenshot(page, "contract-smile-no-iv");

    // A future nothing is written on: no smile card, a sentence instead.
    const response = await apiFromPage(page, "GET", "/api/contracts?q=.SHFE&limit=1");
    const plain = response.body.results[0].vt_symbol;
    await page.goto(`/contracts?symbol=${encodeURIComponent(plain)}`);
    await page.getByTestId("no-smile").waitFor();
    assert.match(await page.getByTestId("no-smile").innerText(), new RegExp(`No option on ${plain.replace(".", "\\.")}`));
    assert.equal(await page.getByTestId("smile-chart").count(), 0);
  });

  test("the future's chart draws the hub's bars, 2-second then 1-minute, OHLC from its ticks, in exchange time", async () => {
    await page.goto(`/contracts?symbol=${encodeURIComponent(future)}`);
    const chart = page.getByTestId("bar-chart");
    await chart.waitFor();
    assert.match(await chart.innerText(), /CST \(exchange time\)/, "the time axis says it is exchange time");

    // 2-second bars: several within seconds.
    await page.getByLabel("Bar interval").selectOption("2s");
    const count = page.getByTestId("bar-count");
    const drawn = await waitFor(
      async () => {
        const n = Number((await count.getAttribute("data-count").catch(() => null)) ?? 0);
        return n >= 3 ? n : null;
      },
      { timeoutMs: TIMEOUT_MS, intervalMs: 500, what: `three 2 s bars of ${future}` },
    );
    assert.ok(drawn >= 3);
    assert.ok((await chart.locator("path.recharts-line-curve").count()) >= 3, "close, high and low lines");
    await checkTimeAxis(chart, await checkLastBar(page, future, "2s", 2e9));

    // The 1-minute chart (the default interval): its first bar closes at the minute's end.
    await page.getByLabel("Bar interval").selectOption("1m");
    await waitFor(
      async () => {
        const url = `/api/bars?symbol=${encodeURIComponent(future)}&interval=1m&limit=1`;
        return (await apiFromPage(page, "GET", url)).body?.bars?.length > 0;
      },
      { timeoutMs: MINUTE_BAR_TIMEOUT_MS, intervalMs: 1000, what: `a 1-minute bar of ${future} from the hub` },
    );
    // (One bar so far: the axis has no span to label; the last bar's line names its time.)
    const bars = await checkLastBar(page, future, "1m", 60e9);
    const minuteBars = Number(await count.getAttribute("data-count"));
    assert.ok(minuteBars > 0 && Math.abs(minuteBars - bars.length) <= 1, `${minuteBars} bars drawn, ${bars.length} served`);
    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, describeViolations(violations));
    await screenshot(page, "contract-chart");
  });
});

/** The time axis labels are the bars' times in China time, not the browser's New York time. */
async function checkTimeAxis(chart, bars) {
  assert.ok(bars.length >= 2, "bars to label");
  // Recharts 3 draws the tick labels in a layer of their own, outside the axis group.
  const ticks = chart.locator("text.recharts-cartesian-axis-tick-value[orientation='bottom']");
  await waitFor(async () => (await ticks.count()) >= 2, { timeoutMs: 10_000, what: "time axis labels" });
  const labels = (await ticks.allTextContents()).map((t) => t.trim());
  // Bars the page drew may be a poll older or newer than the API's: allow a bar either side.
  const first = exchangeClock(bars[0].datetime - (bars[1].datetime - bars[0].datetime));
  const last = exchangeClock(bars.at(-1).end);
  for (const label of labels) {
    assert.match(label, /^\d{2}:\d{2}:\d{2}$/);
    assert.ok(label >= first && label <= last, `axis label ${label} within ${first}..${last} (exchange time)`);
  }
}

/**
 * The page's last bar is the API's, its OHLC numbers consistent with one another and with
 * the contract's ticks (its close near the last price, on the tick grid of its other
 * prices), its span the interval. Returns the API's bars.
 */
async function checkLastBar(page, symbol, interval, spanNs) {
  const shown = page.getByTestId("last-bar");
  const read = async () => ({
    start: Number(await shown.getAttribute("data-start")),
    open: Number(await shown.getAttribute("data-open")),
    high: Number(await shown.getAttribute("data-high")),
    low: Number(await shown.getAttribute("data-low")),
    close: Number(await shown.getAttribute("data-close")),
    text: await shown.innerText(),
  });
  const bars = (await apiFromPage(page, "GET", `/api/bars?symbol=${encodeURIComponent(symbol)}&interval=${interval}&limit=120`))
    .body.bars;
  assert.ok(bars.length > 0, `the API has ${interval} bars of ${symbol}`);
  // The page polls every 2 s: it shows the API's last bar or the one before it.
  const bar = await waitFor(
    async () => {
      const now = await read();
      return bars.some((b) => b.datetime === now.start) ? now : null;
    },
    { timeoutMs: 10_000, what: "the page's last bar to be one the API serves" },
  );
  const served = bars.find((b) => b.datetime === bar.start);
  assert.deepEqual(
    [bar.open, bar.high, bar.low, bar.close],
    [served.open_price, served.high_price, served.low_price, served.close_price],
  );
  for (const value of [bar.open, bar.high, bar.low, bar.close]) assert.ok(Number.isFinite(value) && value > 0, bar.text);
  assert.ok(bar.low <= Math.min(bar.open, bar.close) && Math.max(bar.open, bar.close) <= bar.high, bar.text);
  for (const b of bars) {
    assert.equal(b.end - b.datetime, spanNs, `${interval} bars span ${spanNs} ns`);
    assert.equal(b.datetime % spanNs, 0, `${interval} bars start on the interval's grid`);
  }
  // Exchange time in the text: the bar's start as China shows it.
  assert.ok(bar.text.includes(exchangeClock(bar.start)), `${bar.text} names ${exchangeClock(bar.start)}`);
  // Consistent with the ticks: the contract's last price is within 1 % of the bar's close.
  const contracts = await apiFromPage(page, "GET", `/api/contracts?q=${encodeURIComponent(symbol)}`);
  const lastPrice = contracts.body.results.find((row) => row.vt_symbol === symbol)?.last_price;
  assert.ok(Number.isFinite(lastPrice), `a last price for ${symbol}`);
  assert.ok(Math.abs(bar.close - lastPrice) / lastPrice < 0.01, `close ${bar.close} near last ${lastPrice}`);
  return bars;
}
