// Shared set-up for the browser tests: Debian's Chromium driven by playwright-core (no
// browser download, ever), login, the axe-core audit and screenshots.

import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

export const BASE_URL = (process.env.MDHUB_E2E_URL ?? "").replace(/\/+$/, "");
export const USER = process.env.MDHUB_E2E_USER ?? "alice";
export const PASSWORD = process.env.MDHUB_E2E_PASSWORD ?? "";
export const CHROMIUM = process.env.MDHUB_E2E_CHROMIUM ?? "/usr/bin/chromium";
// A test run leaves the tree as it found it: screenshots go to the git-ignored
// frontend/test-results/screenshots unless MDHUB_E2E_SCREENSHOTS says otherwise
// (`npm run screenshots` sets it to docs/screenshots to refresh the README's pictures).
export const SCREENSHOT_DIR = process.env.MDHUB_E2E_SCREENSHOTS
  ? path.resolve(process.env.MDHUB_E2E_SCREENSHOTS)
  : path.resolve(here, "..", "test-results", "screenshots");

/** Why the browser tests cannot run here, or null when they can. */
export function missingEnv() {
  if (!BASE_URL) return "MDHUB_E2E_URL is not set (the Django server that serves the built dashboard)";
  if (!PASSWORD) return "MDHUB_E2E_PASSWORD is not set (password of MDHUB_E2E_USER, an operator)";
  return null;
}

/**
 * The skip reason for a suite that cannot run here (null when it can), logged. With
 * MDHUB_E2E_REQUIRE=1 (scripts/e2e-local.sh, hence CI) it throws instead: a suite that
 * cannot run there is a failure, never a silent pass.
 */
export function skipReason(suite, reason) {
  if (!reason) return null;
  if (process.env.MDHUB_E2E_REQUIRE === "1") {
    throw new Error(`${suite} cannot run: ${reason}; MDHUB_E2E_REQUIRE=1 forbids skipping them`);
  }
  console.log(`# ${suite} skipped: ${reason}`);
  return reason;
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A fresh Chromium with its own throw-away profile. Returns {browser, close}. */
export async function launchBrowser() {
  const profile = await mkdtemp(path.join(tmpdir(), "mdhub-e2e-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 900 },
    colorScheme: "dark",
    baseURL: BASE_URL,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Log in through the login form and wait for the status page. */
export async function login(page, { user = USER, password = PASSWORD } = {}) {
  await page.goto("/login");
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await waitForLocation(page, (url) => url.pathname === "/");
  await page.getByRole("heading", { name: "Status", level: 1 }).waitFor();
}

const AXE_SOURCE = require("node:fs").readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Run axe-core in the page for WCAG 2.0/2.1 level A; returns the violations. */
export async function axeViolations(page) {
  const injected = await page.evaluate(() => typeof window.axe !== "undefined");
  if (!injected) await page.addScriptTag({ content: AXE_SOURCE });
  // A modal that has just closed leaves the page aria-hidden until its exit animation ends
  // (Radix hides the rest of the page while it is open): on a loaded machine axe can run in
  // between and see a hidden page with focusable content. With no dialog open, wait for
  // those marks to go first; if they stay, axe reports it. A closing dialog is still in the
  // DOM during that animation, with data-state="closed": only an open one counts.
  await page
    .waitForFunction(
      () =>
        document.querySelector('[role="dialog"][data-state="open"], [role="alertdialog"][data-state="open"]') !==
          null || document.querySelector('[data-aria-hidden="true"]') === null,
      null,
      { timeout: 5000 },
    )
    .catch(() => {});
  return page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag21a"] },
      resultTypes: ["violations"],
    });
    return result.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      nodes: violation.nodes.map((node) => `${node.target.join(" ")} — ${node.failureSummary}`),
    }));
  });
}

export function describeViolations(violations) {
  return violations
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.help}\n  ${violation.nodes.join("\n  ")}`)
    .join("\n");
}

/** Close every toast (they would hide part of the next screenshot) and wait until they are gone. */
export async function dismissToasts(page) {
  const toasts = page.locator("[data-sonner-toast]");
  for (let round = 0; round < 10 && (await toasts.count()) > 0; round += 1) {
    const close = page.locator("[data-sonner-toast] [data-close-button]");
    if ((await close.count()) > 0) await close.first().click({ force: true }).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  await waitFor(async () => (await toasts.count()) === 0, { timeoutMs: 10_000, what: "the toasts to close" });
}

export async function screenshot(page, name) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** Call the API from inside the page (same origin, session cookie, CSRF header). */
export async function apiFromPage(page, method, url, body) {
  return page.evaluate(
    async ({ method, url, body }) => {
      const token = document.cookie
        .split(";")
        .map((part) => part.trim())
        .find((part) => part.startsWith("csrftoken="))
        ?.slice("csrftoken=".length);
      const response = await fetch(url, {
        method,
        credentials: "include",
        headers: {
          Accept: "application/json",
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          ...(token ? { "X-CSRFToken": decodeURIComponent(token) } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let json = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = text;
      }
      return { status: response.status, body: json };
    },
    { method, url, body },
  );
}

/** Poll `probe` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(probe, { timeoutMs = 15_000, intervalMs = 200, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/**
 * Wait until the page's URL satisfies `predicate`. Polls `page.url()` rather than using
 * `page.waitForURL`: client-side navigations (Next's router, history API) fire no "load"
 * event, and `waitForURL` then times out even though the URL changed.
 */
export async function waitForLocation(page, predicate, { timeoutMs = 15_000 } = {}) {
  await waitFor(async () => predicate(new URL(page.url())), { timeoutMs, what: `URL (now ${page.url()})` });
}
