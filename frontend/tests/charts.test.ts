import { describe, expect, it } from "vitest";

import { hasData, historyRows, sourceColor, timelineBars } from "@/lib/charts";
import type { HistoryAnswer } from "@/lib/types";

// 2026-03-02 10:00:00 in Shanghai (UTC+8) is 02:00:00 UTC.
const T0 = Date.UTC(2026, 2, 2, 2, 0, 0) / 1000;

const answer: HistoryAnswer = {
  step_seconds: 5,
  sources: ["sim-a", "sim-b"],
  points: [
    {
      ts: T0,
      values: {
        "sim-a": { tick_rate: 50, latency_p50_ms: null, latency_p99_ms: null, first_share: null, state: "healthy" },
        "sim-b": { tick_rate: 48, latency_p50_ms: 1.5, latency_p99_ms: 6, first_share: null, state: "healthy" },
      },
    },
    {
      ts: T0 + 5,
      values: {
        "sim-a": { tick_rate: 51, latency_p50_ms: 0.8, latency_p99_ms: 2, first_share: 0.7, state: "healthy" },
      },
    },
  ],
};

describe("historyRows", () => {
  it("makes one row per point with one key per source, labelled in exchange time", () => {
    const rows = historyRows(answer, "tick_rate");
    expect(rows).toEqual([
      { ts: T0, label: "10:00:00", "sim-a": 50, "sim-b": 48 },
      { ts: T0 + 5, label: "10:00:05", "sim-a": 51, "sim-b": null },
    ]);
  });

  it("leaves a gap (null), not a zero, where a source has no figure", () => {
    const rows = historyRows(answer, "first_share");
    expect(rows.map((row) => [row["sim-a"], row["sim-b"]])).toEqual([
      [null, null],
      [0.7, null],
    ]);
    expect(hasData(rows, answer.sources)).toBe(true);
    expect(hasData(historyRows({ ...answer, points: [answer.points[0]] }, "first_share"), answer.sources)).toBe(false);
    expect(historyRows(null, "tick_rate")).toEqual([]);
  });
});

describe("timelineBars", () => {
  it("places segments as percentages of the window and clips what lies outside", () => {
    const bars = timelineBars(
      {
        id: "sim-a",
        segments: [
          { state: "healthy", start: 50, end: 150, reason: "" },
          { state: "stale", start: 150, end: 175, reason: "canary" },
          { state: "healthy", start: 175, end: 250, reason: "" },
        ],
      },
      100,
      200,
    );
    expect(bars.map((bar) => [bar.state, bar.left, bar.width])).toEqual([
      ["healthy", 0, 50],
      ["stale", 50, 25],
      ["healthy", 75, 25],
    ]);
    expect(timelineBars({ id: "x", segments: [] }, 200, 100)).toEqual([]);
  });
});

describe("sourceColor", () => {
  it("gives a source the same colour whatever order the list comes in", () => {
    expect(sourceColor(["sim-b", "sim-a"], "sim-b")).toBe(sourceColor(["sim-a", "sim-b"], "sim-b"));
    expect(sourceColor(["sim-a", "sim-b"], "sim-a")).not.toBe(sourceColor(["sim-a", "sim-b"], "sim-b"));
  });
});
