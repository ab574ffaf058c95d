// Browser test of the Clients page against the LIVE hub with CURVE on (docs/access.md):
// `npm run test:e2e:local` runs the hub with MDHUB_CURVE=true and three sim sources. An
// operator adds a client in the "Add client" dialog, which shows its secret key once; a real
// stream client (e2e/stream_reader.py, pyzmq over CURVE) reads the hub with that key, and a
// second client, made through the API, reads it conflated; the page lists both as connected
// with their subscriptions and conflation. Disabling the first from the page marks it cut off.
//
// Environment: as e2e/live-hub.test.mjs (MDHUB_E2E_HUB_CMD), plus the hub's addresses and run
// directory that scripts/e2e-local.sh exports (MDHUB_PUB_ADDR, MDHUB_RUN_DIR, ...), and
// MDHUB_PYTHON (default: the repository's .venv) to run the reader.

import assert from "node:assert/strict";
import { exec, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
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
const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, "..", "..");
const PYTHON = process.env.MDHUB_PYTHON ?? path.join(ROOT, ".venv", "bin", "python");
const HUB_CMD = process.env.MDHUB_E2E_HUB_CMD ?? "";
const TIMEOUT_MS = Number(process.env.MDHUB_E2E_TIMEOUT_S ?? 60) * 1000;

const skip = skipReason(
  "clients browser tests",
  missingEnv() ??
    (HUB_CMD ? null : "MDHUB_E2E_HUB_CMD is not set (these tests need the live hub; see e2e/live-hub.test.mjs)") ??
    (process.env.MDHUB_PUB_ADDR && process.env.MDHUB_RUN_DIR
      ? null
      : "MDHUB_PUB_ADDR / MDHUB_RUN_DIR are not set (the hub's addresses: run through scripts/e2e-local.sh)") ??
    (process.env.MDHUB_CURVE === "true" ? null : "MDHUB_CURVE is not true: the hub knows its readers only with CURVE") ??
    (existsSync(PYTHON) ? null : `no Python at ${PYTHON} (set MDHUB_PYTHON)`),
);

/** A real stream client reading the hub as `secret`'s owner; resolves once it has ticks. */
function startReader(secret, args = []) {
  const child = spawn(PYTHON, [path.join(here, "stream_reader.py"), ...args], {
    cwd: ROOT,
    // The secret in the environment, not on the command line (`ps` shows command lines).
    env: { ...process.env, PYTHONPATH: ROOT, MDHUB_E2E_CLIENT_SECRET: secret },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const reader = { child, ticks: 0, stderr: "" };
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk) => {
    for (const line of chunk.split("\n")) {
      if (line.trim()) reader.ticks = JSON.parse(line).ticks;
    }
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    reader.stderr = (reader.stderr + chunk).slice(-4000);
  });
  return reader;
}

async function stopReader(reader) {
  if (!reader || reader.child.exitCode !== null) return;
  const gone = new Promise((resolve) => reader.child.once("exit", resolve));
  reader.child.kill("SIGTERM");
  await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5000))]);
  if (reader.child.exitCode === null) reader.child.kill("SIGKILL");
}

async function waitForTicks(reader, who) {
  await waitFor(() => reader.ticks > 0 || reader.child.exitCode !== null, {
    timeoutMs: TIMEOUT_MS,
    what: `${who} to read ticks`,
  });
  assert.ok(reader.ticks > 0, `${who} read nothing (exit ${reader.child.exitCode}):\n${reader.stderr}`);
}

describe("the Clients page against the live hub with CURVE", { skip: skip ?? false }, () => {
  let browser;
  let page;
  const suffix = Date.now().toString(36);
  const desk = `e2e-desk-${suffix}`; // added in the dialog, reads every tick
  const screen = `e2e-screen-${suffix}`; // added through the API, reads conflated
  const readers = [];

  before(async () => {
    await run(`${HUB_CMD} start`, { timeout: 120_000 });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    await login(page);
  });

  after(async () => {
    for (const reader of readers) await stopReader(reader);
    if (page) {
      // Leave the database as we found it, even when a test failed half-way.
      for (const name of [desk, screen]) await apiFromPage(page, "DELETE", `/api/stream-clients/${name}`).catch(() => {});
    }
    await browser?.close();
  });

  test("an operator adds a client and sees its secret key once", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clients" }).click();
    await waitForLocation(page, (url) => url.pathname === "/clients");
    await page.getByRole("heading", { name: "Clients", level: 1 }).waitFor();
    await page.getByRole("table", { name: "Stream client identities" }).waitFor();

    await page.getByRole("button", { name: "Add client" }).click();
    const dialog = page.getByRole("dialog", { name: "Add client" });
    // A prefix outside the topic roots: the server's message at its field, nothing saved.
    await dialog.getByLabel("Name").fill(desk);
    await dialog.getByLabel(/^Topic prefixes/).fill("quote.rb");
    await dialog.getByRole("button", { name: "Add client" }).click();
    await dialog.getByTestId("field-error").filter({ hasText: /a prefix starts with tick\./ }).waitFor();
    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, `WCAG A violations in the Add client dialog:\n${describeViolations(violations)}`);

    await dialog.getByLabel(/^Topic prefixes/).fill("tick.");
    await dialog.getByRole("button", { name: "Add client" }).click();
    const secretDialog = page.getByRole("dialog", { name: `${desk}'s secret key` });
    const secret = await secretDialog.getByTestId("secret-key").inputValue();
    assert.match(secret, /^.{40}$/, "a Z85 secret key of 40 characters");
    const publicKey = await secretDialog.getByTestId("public-key").inputValue();
    await dismissToasts(page);
    await screenshot(page, "clients-secret-once");
    await secretDialog.getByRole("button", { name: "I have copied it" }).click();
    await secretDialog.waitFor({ state: "hidden" });

    // Listed; the server keeps the public key only and never answers the secret again.
    const row = page.getByTestId(`client-row-${desk}`);
    await row.waitFor();
    assert.equal(await row.getAttribute("data-enabled"), "true");
    const stored = await apiFromPage(page, "GET", `/api/stream-clients/${desk}`);
    assert.equal(stored.status, 200);
    assert.equal(stored.body.public_key, publicKey);
    assert.equal(stored.body.secret_key, null);
    assert.ok(!(await page.content()).includes(secret), "the secret key is gone from the page once the dialog is closed");

    readers.push(startReader(secret));
    await waitForTicks(readers[0], desk);
  });

  test("the connected list shows a real reader and a conflated one, live", async () => {
    const made = await apiFromPage(page, "POST", "/api/stream-clients", { name: screen, prefixes: ["tick."] });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    readers.push(startReader(made.body.secret_key, ["--conflate-ms", "250"]));
    await waitForTicks(readers[1], screen);

    const connected = page.getByRole("table", { name: "Connected stream clients" });
    await connected.waitFor();
    const deskRow = page.getByTestId(`connected-${desk}`);
    const screenRow = page.getByTestId(`connected-${screen}`);
    await waitFor(async () => (await deskRow.count()) > 0 && (await screenRow.count()) > 0, {
      timeoutMs: TIMEOUT_MS,
      what: "both clients in the connected list (polled every 2 s)",
    });
    await waitFor(async () => Number(await deskRow.getAttribute("data-open")) > 0, {
      timeoutMs: TIMEOUT_MS,
      what: `${desk}'s connections open`,
    });
    assert.match(await deskRow.getByTestId("subscriptions").innerText(), /tick\./);
    assert.equal(await deskRow.getByTestId("conflation").innerText(), "every tick");
    await waitFor(async () => (await screenRow.getByTestId("conflation").innerText()) === "every 250 ms", {
      timeoutMs: TIMEOUT_MS,
      what: `${screen} conflated every 250 ms`,
    });
    assert.match(await screenRow.getByTestId("subscriptions").innerText(), /tick\. \(conflated\)/);
    // Last activity in exchange time, labelled.
    assert.match(await deskRow.innerText(), /\d\d:\d\d:\d\d CST \(exchange time\)/);
    // (The hub's own services read its tape, not its stream, so they are not among the
    // connected; tests/test_stream_access_services.py lists them, reading the stream, under
    // their reserved name.)
    // Added through the API, not this page: the identities table picks it up from the list.
    await page.getByTestId(`client-row-${screen}`).waitFor();

    const violations = await axeViolations(page);
    assert.equal(violations.length, 0, `WCAG A violations on the Clients page:\n${describeViolations(violations)}`);
    await dismissToasts(page);
    await screenshot(page, "clients");
  });

  test("disabling a client from the page cuts it off and the list says so", async () => {
    await page.getByRole("switch", { name: `Enable ${desk}` }).click();
    await page.getByText(`${desk} disabled`).first().waitFor();
    const deskRow = page.getByTestId(`connected-${desk}`);
    await waitFor(async () => (await deskRow.getAttribute("data-enabled")) === "false", {
      timeoutMs: TIMEOUT_MS,
      what: `${desk} shown disabled in the connected list`,
    });
    assert.match(await deskRow.innerText(), /disabled: cut off/);
    // Cut off for real: its reader gets no more ticks, the other one goes on.
    const stalled = readers[0].ticks;
    const before = readers[1].ticks;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await waitFor(() => readers[1].ticks > before, { timeoutMs: TIMEOUT_MS, what: `${screen} to go on reading` });
    const settled = readers[0].ticks;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(readers[0].ticks, settled, `${desk} still reads after it was disabled (${stalled} → ${readers[0].ticks})`);
  });
});
