import { describe, expect, it } from "vitest";

import { barRows, formatIv, noIvNotes, smileRows } from "@/components/contract-detail";
import type { SmilePoint } from "@/lib/types";

const point = (over: Partial<SmilePoint>): SmilePoint => ({
  strike: 4600,
  call_iv: 0.1793,
  put_iv: 0.1794,
  call: "IO2612-C-4600.CFFEX",
  put: "IO2612-P-4600.CFFEX",
  call_reason: null,
  put_reason: null,
  ...over,
});

describe("the contract detail's smile and bar rows", () => {
  it("shows IV as a percent and a dash, never a made-up number, where there is none", () => {
    expect(formatIv(0.17926)).toBe("17.93 %");
    expect(formatIv(null)).toBe("—");
    expect(smileRows({ expiry: "2026-12-18", days_to_expiry: 16, forward: 4601, points: [point({ put_iv: null })] })).toEqual([
      { strike: 4600, call: 17.93, put: null },
    ]);
  });

  it("says why each listed side has no IV, and nothing for a side that has one or is not listed", () => {
    expect(noIvNotes(point({}))).toEqual([]);
    expect(noIvNotes(point({ call_iv: null, call_reason: "no underlying price" }))).toEqual([
      "call IO2612-C-4600.CFFEX: no underlying price",
    ]);
    expect(noIvNotes(point({ put: null, put_iv: null, call_iv: null, call_reason: null }))).toEqual([
      "call IO2612-C-4600.CFFEX: no IV",
    ]);
  });

  it("puts bars on an epoch-seconds axis", () => {
    const bar = {
      datetime: 1_796_168_160_000_000_000,
      end: 1_796_168_220_000_000_000,
      open_price: 4600,
      high_price: 4600.2,
      low_price: 4599.6,
      close_price: 4600.2,
      volume: 448,
      flat: false,
      complete: true,
    };
    expect(barRows([bar])).toEqual([{ t: 1_796_168_160, close: 4600.2, high: 4600.2, low: 4599.6, volume: 448 }]);
  });
});
