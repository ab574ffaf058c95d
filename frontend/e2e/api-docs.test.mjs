// /api/docs renders Swagger UI with no internet: its files come from the project
// (drf-spectacular-sidecar, served by WhiteNoise), and the browser is not let out of this
// machine — any request to another host is refused and fails the test.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { launchBrowser, login, missingEnv, skipReason } from "./helpers.mjs";

const skip = skipReason("API docs browser test", missingEnv());

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

describe("API docs (Swagger UI)", { skip: skip ?? false }, () => {
  let browser;
  let page;
  const local = [];
  const outside = [];

  before(async () => {
    browser = await launchBrowser();
    // Every request the pages make, answered only when it stays on this machine.
    await browser.context.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (LOCAL_HOSTS.has(url.hostname)) {
        local.push(url.pathname);
        return route.continue();
      }
      outside.push(url.href);
      return route.abort("blockedbyclient");
    });
    page = await browser.context.newPage();
    await login(page);
  });

  after(async () => {
    await browser?.close();
  });

  test("renders the operations from local files only, and Try it out answers", async () => {
    await page.goto("/api/docs");
    const operations = page.locator(".opblock");
    await operations.first().waitFor({ timeout: 20_000 });
    assert.ok((await operations.count()) >= 18, `only ${await operations.count()} operations listed`);
    for (const path of ["/api/accounts/", "/api/gateways/", "/api/events/", "/api/logs/", "/api/health"]) {
      assert.ok(
        (await page.locator(".opblock-summary-path", { hasText: path }).count()) > 0,
        `${path} is not listed`,
      );
    }
    assert.equal(await page.getByText("Failed to load API definition").count(), 0);
    assert.ok(local.some((path) => path.endsWith("swagger-ui-bundle.js")), "Swagger UI did not come from here");
    assert.ok(local.some((path) => path === "/api/schema"), "the schema was not fetched");

    // The session cookie of the dashboard's login works in the docs as well.
    const health = page.locator(".opblock-get", { has: page.locator(".opblock-summary-path", { hasText: "/api/health" }) });
    await health.locator(".opblock-summary").click();
    await health.getByRole("button", { name: "Try it out" }).click();
    await health.getByRole("button", { name: "Execute" }).click();
    await health.locator(".live-responses-table .response-col_status", { hasText: "200" }).waitFor({ timeout: 15_000 });

    assert.deepEqual(outside, [], `requests left this machine: ${outside.join(", ")}`);
  });
});
