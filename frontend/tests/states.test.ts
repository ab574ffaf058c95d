import { describe, expect, it } from "vitest";

import { tickRateOf } from "@/lib/states";

import { gateway } from "./support/fixtures";

describe("tickRateOf", () => {
  it("is the measured rate while the source has a process", () => {
    expect(tickRateOf(gateway({ state: "healthy", pid: 1001, tick_rate: 120.5 }))).toBe(120.5);
    expect(tickRateOf(gateway({ state: "stale", pid: 1001, tick_rate: 3.2 }))).toBe(3.2);
  });

  it("is 0, not the last measured rate, when the source has no process", () => {
    expect(tickRateOf(gateway({ state: "restarting", pid: null, tick_rate: 118.4 }))).toBe(0);
    expect(tickRateOf(gateway({ state: "unhealthy", pid: null, tick_rate: 50 }))).toBe(0);
    // A hub.event turned it "restarting" before the snapshot dropped its pid.
    expect(tickRateOf(gateway({ state: "restarting", pid: 1001, tick_rate: 118.4 }))).toBe(0);
    expect(tickRateOf(gateway({ state: "stopped", pid: 1001, tick_rate: 10 }))).toBe(0);
  });

  it("stays unknown when nothing was ever measured (engine offline)", () => {
    expect(tickRateOf(gateway({ state: "stopped", pid: null, tick_rate: null }))).toBeNull();
  });
});
