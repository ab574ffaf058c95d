// Browser tests of what works without a running hub engine: login, accounts (create with a
// validation error, fix, toggle, edit, delete), the logs page's filters, session expiry,
// the WCAG 2.0/2.1 A audit of every screen, and a screenshot of each.
//
//   MDHUB_E2E_URL=http://127.0.0.1:8011 MDHUB_E2E_USER=alice MDHUB_E2E_PASSWORD=... npm run test:e2e

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

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

const skip = skipReason("dashboard browser tests", missingEnv());

async function assertAccessible(page, screen) {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, `WCAG A violations on ${screen}:\n${describeViolations(violations)}`);
}

describe("dashboard in a real browser", { skip: skip ?? false }, () => {
  let browser;
  let page;
  const accountId = `e2e-${Date.now().toString(36)}`;

  before(async () => {
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
  });

  after(async () => {
    if (page) {
      // Leave the database as we found it, even when a test failed half-way.
      await apiFromPage(page, "DELETE", `/api/accounts/${accountId}`).catch(() => {});
    }
    await browser?.close();
  });

  test("the login page passes the WCAG A audit and says so when the password is wrong", async () => {
    await page.goto("/login");
    await page.getByRole("button", { name: "Log in" }).waitFor();
    await assertAccessible(page, "login");
    await screenshot(page, "login");

    // A new name each run: django-axes locks a name out after repeated failures.
    await page.getByLabel("Username").fill(`nobody-${Date.now().toString(36)}`);
    await page.getByLabel("Password").fill("wrong-password");
    await page.getByRole("button", { name: "Log in" }).click();
    // The login throttle (per address) may answer first when the suite runs back to back.
    await page.getByRole("alert").filter({ hasText: /wrong username or password|too many login attempts/i }).waitFor();
    assert.equal(new URL(page.url()).pathname, "/login");
    await assertAccessible(page, "login with an error");
  });

  test("an operator logs in and lands on the status page, which passes the audit", async () => {
    await login(page);
    // Settled: either live rows, the empty state, or the "live state unavailable" notice.
    await page
      .locator("[data-testid^='gateway-row-'], [data-testid='gateways-error'], [data-testid='gateways-empty']")
      .first()
      .waitFor();
    await assertAccessible(page, "status");
    await screenshot(page, "status");
  });

  test("the accounts page lists the accounts and passes the audit", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" }).click();
    await waitForLocation(page, (url) => url.pathname === "/accounts");
    await page.getByRole("heading", { name: "Accounts", level: 1 }).waitFor();
    await page.getByRole("table", { name: "Accounts" }).waitFor();
    await waitFor(async () => (await page.locator("[data-slot='skeleton']").count()) === 0, {
      what: "the accounts to load",
    });
    await assertAccessible(page, "accounts");
  });

  test("creating an account shows the server's validation error at the field, then saves once fixed", async () => {
    await page.getByRole("button", { name: "New account" }).click();
    const dialog = page.getByRole("dialog", { name: "New account" });
    await dialog.waitFor();

    await dialog.getByLabel("ID", { exact: true }).fill(accountId);
    await dialog.getByLabel("Type").selectOption("ctp");
    await dialog.getByLabel("Priority").fill("7");
    await dialog.getByLabel("Canary contracts").fill("rb2501.SHFE");
    await dialog.getByLabel(/^User ID/).fill("0001");
    await dialog.getByLabel(/^Password/).fill("s3cret-e2e");
    await dialog.getByLabel(/^Broker ID/).fill("9999");
    const md = dialog.getByLabel(/^Market-data front/);
    await md.fill("not-an-address");
    await dialog.getByRole("button", { name: "Create account" }).click();

    // The 400 body's message appears at the field, tied to it for screen readers.
    const error = dialog.locator("#account-settings-mdAddress-error");
    await error.waitFor();
    assert.match(await error.innerText(), /not an address like tcp:\/\/host:port/);
    assert.equal(await md.getAttribute("aria-invalid"), "true");
    assert.match((await md.getAttribute("aria-describedby")) ?? "", /account-settings-mdAddress-error/);
    await waitFor(async () => md.evaluate((element) => element === document.activeElement), {
      what: "focus on the invalid field",
    });
    await assertAccessible(page, "account form with an error");
    await screenshot(page, "account-form");

    await md.fill("tcp://127.0.0.1:10131");
    await dialog.getByRole("button", { name: "Create account" }).click();
    await dialog.waitFor({ state: "hidden" });

    const row = page.getByTestId(`account-row-${accountId}`);
    await row.waitFor();
    assert.match(await row.innerText(), /password: set/);
    assert.equal(await row.getAttribute("data-enabled"), "false");

    const saved = await apiFromPage(page, "GET", `/api/accounts/${accountId}`);
    assert.equal(saved.status, 200);
    assert.equal(saved.body.priority, 7);
    assert.equal(saved.body.settings.mdAddress, "tcp://127.0.0.1:10131");
    assert.equal(saved.body.settings.password, undefined, "secrets never come back");
    assert.equal(saved.body.secrets_set.password, true);

    await page.mouse.move(0, 0);
    await assertAccessible(page, "accounts with a row");
    await screenshot(page, "accounts");
  });

  test("the enable toggle saves is_enabled and survives a reload", async () => {
    const toggle = page.getByRole("switch", { name: `Enable ${accountId}` });
    assert.equal(await toggle.getAttribute("aria-checked"), "false");
    await toggle.focus();
    await page.keyboard.press("Space"); // keyboard, like an operator without a mouse
    await waitFor(async () => (await apiFromPage(page, "GET", `/api/accounts/${accountId}`)).body?.is_enabled === true, {
      what: "is_enabled=true on the server",
    });
    await page.reload();
    await waitFor(async () => (await toggle.getAttribute("aria-checked")) === "true", { what: "the switch on after reload" });

    await toggle.click();
    await waitFor(async () => (await apiFromPage(page, "GET", `/api/accounts/${accountId}`)).body?.is_enabled === false, {
      what: "is_enabled=false on the server",
    });
    assert.equal(await toggle.getAttribute("aria-checked"), "false");
  });

  test("editing with the password left blank keeps the stored secret", async () => {
    await page.getByRole("button", { name: `Edit ${accountId}` }).click();
    const dialog = page.getByRole("dialog", { name: `Edit ${accountId}` });
    await dialog.waitFor();
    assert.equal(await dialog.getByTestId("secret-state-password").innerText(), "set");
    assert.equal(await dialog.getByLabel(/^Password/).inputValue(), "");
    await dialog.getByLabel("Priority").fill("-1");
    await dialog.getByRole("button", { name: "Save" }).click();
    const priorityError = dialog.locator("#account-priority-error");
    await priorityError.waitFor();
    assert.match(await priorityError.innerText(), /greater than or equal to 0/);

    await dialog.getByLabel("Priority").fill("42");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "hidden" });
    const saved = await apiFromPage(page, "GET", `/api/accounts/${accountId}`);
    assert.equal(saved.body.priority, 42);
    assert.equal(saved.body.secrets_set.password, true);
  });

  test("the logs page takes its filters from the URL (drill-down) and passes the audit", async () => {
    await page.goto(`/logs?account=${accountId}&level=WARNING`);
    await page.getByRole("heading", { name: "Logs", level: 1 }).waitFor();
    assert.equal(await page.getByLabel("Level").inputValue(), "WARNING");
    await waitFor(async () => (await page.getByLabel("Source").inputValue()) === accountId, { what: "source filter" });

    await page.getByLabel("Level").selectOption("ERROR");
    await waitForLocation(page, (url) => url.searchParams.get("level") === "ERROR");

    const pause = page.getByTestId("log-pause");
    await pause.click();
    assert.equal(await pause.getAttribute("aria-pressed"), "true");
    await pause.click();
    assert.equal(await pause.getAttribute("aria-pressed"), "false");

    await page.getByLabel("Level").selectOption("INFO");
    await page.getByLabel("Source").selectOption("");
    await waitForLocation(page, (url) => url.search === "");
    await assertAccessible(page, "logs");
    await screenshot(page, "logs");
  });

  test("an account can be deleted from its edit dialog, after a confirmation", async () => {
    await page.goto("/accounts");
    await page.getByRole("button", { name: `Edit ${accountId}` }).click();
    const dialog = page.getByRole("dialog", { name: `Edit ${accountId}` });
    await dialog.getByRole("button", { name: "Delete" }).click();
    const confirm = page.getByRole("alertdialog", { name: `Delete ${accountId}?` });
    await confirm.getByRole("button", { name: "Delete" }).click();
    await page.getByTestId(`account-row-${accountId}`).waitFor({ state: "detached" });
    assert.equal((await apiFromPage(page, "GET", `/api/accounts/${accountId}`)).status, 404);
  });

  test("an expired session sends the user back to the login page, and back after logging in", async () => {
    await browser.context.clearCookies();
    await page.getByRole("button", { name: "Reload" }).click();
    await waitForLocation(page, (url) => url.pathname === "/login");
    assert.equal(new URL(page.url()).searchParams.get("next"), "/accounts");

    await page.getByLabel("Username").fill(process.env.MDHUB_E2E_USER ?? "alice");
    await page.getByLabel("Password").fill(process.env.MDHUB_E2E_PASSWORD ?? "");
    await page.getByRole("button", { name: "Log in" }).click();
    await waitForLocation(page, (url) => url.pathname === "/accounts");
  });

  test("logging out ends the session", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await waitForLocation(page, (url) => url.pathname === "/login");
    assert.equal((await apiFromPage(page, "GET", "/api/auth/session")).status, 401);
    await page.goto("/");
    await waitForLocation(page, (url) => url.pathname === "/login");
  });
});
