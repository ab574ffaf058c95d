import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { buildSettings, parseCanaries } from "@/lib/account-form";
import {
  EXCHANGE_TIME_NOTE,
  formatAge,
  formatAgeTitle,
  formatClock,
  formatDateTime,
  formatMs,
  formatRate,
  formatShare,
  formatTime,
} from "@/lib/format";
import { safeNext } from "@/lib/navigation";
import type { GatewayTypeInfo } from "@/lib/types";

// What GET /api/gateway-types answers (shortened): the form's specs come from there.
const TYPES: GatewayTypeInfo[] = [
  {
    gateway_type: "ctp",
    label: "CTP (futures)",
    settings: [
      { name: "userID", label: "User ID", kind: "text", required: true, help: "" },
      { name: "password", label: "Password", kind: "secret", required: true, help: "" },
      { name: "brokerID", label: "Broker ID", kind: "text", required: true, help: "" },
      { name: "mdAddress", label: "Market-data front", kind: "address", required: true, help: "" },
      { name: "appID", label: "App ID", kind: "text", required: false, help: "" },
    ],
  },
  {
    gateway_type: "sim",
    label: "Simulated exchange",
    settings: [
      { name: "latency_ms", label: "Latency (ms)", kind: "number", required: false, help: "" },
      { name: "jitter_ms", label: "Jitter (ms)", kind: "number", required: false, help: "" },
      { name: "loss", label: "Loss (0..1)", kind: "fraction", required: false, help: "" },
    ],
  },
];

describe("times are exchange time (Asia/Shanghai), whatever the browser's zone", () => {
  const before = process.env.TZ;
  // 2026-12-01 02:15:02.123 UTC = 10:15:02.123 in China = 21:15:02 on Nov 30 in New York.
  const ts = Date.UTC(2026, 11, 1, 2, 15, 2, 123) / 1000;

  beforeAll(() => {
    process.env.TZ = "America/New_York";
  });
  afterAll(() => {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  });

  it("runs in New York here: a local-time formatter would show 21:15", () => {
    expect(new Date(ts * 1000).getHours()).toBe(21);
  });

  it("shows China time and says so", () => {
    expect(formatClock(ts)).toBe("10:15:02.123");
    expect(formatDateTime(ts)).toBe("2026-12-01 10:15:02 CST (exchange time)");
    expect(formatTime(ts)).toBe("10:15:02 CST (exchange time)");
    expect(EXCHANGE_TIME_NOTE).toBe("CST (exchange time)");
    expect(formatAgeTitle(4.2, ts + 4.2)).toBe("4.2 s ago, since 10:15:02 CST (exchange time)");
    expect(formatAgeTitle(null, ts)).toBeUndefined();
  });

  it("crosses midnight in China, not in the browser's zone", () => {
    const lateUtc = Date.UTC(2026, 11, 1, 16, 0, 0, 5) / 1000; // 00:00:00.005 on Dec 2 in China
    expect(formatClock(lateUtc)).toBe("00:00:00.005");
    expect(formatDateTime(lateUtc)).toBe("2026-12-02 00:00:00 CST (exchange time)");
    expect(formatClock(null)).toBe("–");
  });
});

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

describe("account form settings, from the served specs", () => {
  it("leaves blank fields out, so a blank secret keeps the stored one", () => {
    expect(
      buildSettings(TYPES, "ctp", { userID: " 0001 ", password: "", brokerID: "9999", mdAddress: "tcp://h:1", appID: "" }),
    ).toEqual({ userID: "0001", brokerID: "9999", mdAddress: "tcp://h:1" });
  });

  it("sends numbers as numbers, and what is not a number as typed (the server explains)", () => {
    expect(buildSettings(TYPES, "sim", { latency_ms: "5", loss: "0.1", jitter_ms: "fast" })).toEqual({
      latency_ms: 5,
      loss: 0.1,
      jitter_ms: "fast",
    });
  });

  it("keeps settings the form does not know, drops other types' fields", () => {
    expect(buildSettings(TYPES, "sim", { latency_ms: "1" }, { latency_ms: 9, userID: "x", custom: true })).toEqual({
      latency_ms: 1,
      custom: true,
    });
  });

  it("sends nothing for a type the server does not list", () => {
    expect(buildSettings(TYPES, "sopt", { userID: "1" })).toEqual({});
  });

  it("splits canaries on commas, spaces and new lines", () => {
    expect(parseCanaries("rb2601.SHFE, IF2612.CFFEX\nag2602.SHFE,,")).toEqual(["rb2601.SHFE", "IF2612.CFFEX", "ag2602.SHFE"]);
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
