import { describe, expect, it } from "vitest";

import { buildSettings, parseCanaries } from "@/lib/account-settings";
import { formatAge, formatMs, formatRate, formatShare } from "@/lib/format";
import { safeNext } from "@/lib/navigation";

describe("formatting", () => {
  it("shows a dash, not NaN, when there is no number yet", () => {
    for (const format of [formatAge, formatMs, formatRate, formatShare]) {
      expect(format(null)).toBe("–");
      expect(format(undefined)).toBe("–");
      expect(format(Number.NaN)).toBe("–");
    }
  });

  it("formats ages, rates, shares and milliseconds for the status table", () => {
    expect(formatAge(0.24)).toBe("0.2 s");
    expect(formatAge(42.4)).toBe("42 s");
    expect(formatAge(185)).toBe("3 m 05 s");
    expect(formatAge(7800)).toBe("2 h 10 m");
    expect(formatRate(120.54)).toBe("120.5");
    expect(formatRate(12345.6)).toBe("12,346");
    expect(formatShare(0.6123)).toBe("61.2 %");
    expect(formatMs(0.3)).toBe("0.30");
    expect(formatMs(31.46)).toBe("31.5");
  });
});

describe("account settings", () => {
  it("leaves blank fields out, so a blank secret keeps the stored one", () => {
    expect(
      buildSettings("ctp", { userID: " 0001 ", password: "", brokerID: "9999", mdAddress: "tcp://h:1", appID: "" }),
    ).toEqual({ userID: "0001", brokerID: "9999", mdAddress: "tcp://h:1" });
  });

  it("sends numbers as numbers, and what is not a number as typed (the server explains)", () => {
    expect(buildSettings("sim", { latency_ms: "5", loss: "0.1", jitter_ms: "fast" })).toEqual({
      latency_ms: 5,
      loss: 0.1,
      jitter_ms: "fast",
    });
  });

  it("keeps settings the form does not know, drops other types' fields", () => {
    expect(buildSettings("sim", { latency_ms: "1" }, { latency_ms: 9, userID: "x", custom: true })).toEqual({
      latency_ms: 1,
      custom: true,
    });
  });

  it("splits canaries on commas, spaces and new lines", () => {
    expect(parseCanaries("rb2501.SHFE, IF2412.CFFEX\nag2502.SHFE,,")).toEqual(["rb2501.SHFE", "IF2412.CFFEX", "ag2502.SHFE"]);
  });
});

describe("safeNext", () => {
  it("follows only paths on this site", () => {
    expect(safeNext("/logs?account=sim-a")).toBe("/logs?account=sim-a");
    expect(safeNext("https://evil.example/")).toBe("/");
    expect(safeNext("//evil.example/")).toBe("/");
    expect(safeNext("/login?next=/")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });
});
