// @vitest-environment jsdom
//
// The status page's recording card: figures, newest day first, bytes per tick, holes marked.

import { cleanup, render, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import { RecordingSummary } from "@/components/recording-card";
import { formatBytes, recordedDayRows, retentionText } from "@/lib/recording";
import type { Recording } from "@/lib/types";

afterEach(cleanup);

const RECORDING: Recording = {
  days: 2,
  bytes: 5_242_880 + 1_000,
  first_day: "2026-11-30",
  last_day: "2026-12-01",
  retention_days: 730,
  recorded: [
    { day: "2026-11-30", bytes: 1_000, ticks: null, holes: null },
    { day: "2026-12-01", bytes: 5_242_880, ticks: 160_000, holes: 2 },
  ],
};

describe("recording shaping", () => {
  it("puts the newest day first and works out bytes per tick", () => {
    const rows = recordedDayRows(RECORDING);
    expect(rows.map((r) => r.day)).toEqual(["2026-12-01", "2026-11-30"]);
    expect(rows[0].bytesPerTick).toBe(33);
    expect(rows[1].bytesPerTick).toBeNull();
  });

  it("writes bytes and retention as people read them", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(5_242_880)).toBe("5.0 MiB");
    expect(formatBytes(null)).toBe("—");
    expect(retentionText(730)).toBe("730 days");
    expect(retentionText(0)).toBe("all days");
  });
});

describe("RecordingSummary", () => {
  it("shows the figures and one row per day, holes marked", () => {
    const { getByTestId } = render(<RecordingSummary recording={RECORDING} />);
    const figures = getByTestId("recording-figures").textContent ?? "";
    expect(figures).toContain("Trading days2");
    expect(figures).toContain("Last day2026-12-01");
    expect(figures).toContain("730 days");
    const rows = within(getByTestId("recorded-days")).getAllByRole("row");
    expect(rows).toHaveLength(3); // the header and two days
    expect(rows[1].textContent).toContain("2026-12-01");
    expect(rows[1].querySelector(".text-destructive")?.textContent).toBe("2");
  });

  it("says when nothing is recorded yet", () => {
    const empty: Recording = { ...RECORDING, days: 0, bytes: 0, first_day: null, last_day: null, recorded: [] };
    const { getByText, queryByTestId } = render(<RecordingSummary recording={empty} />);
    expect(getByText(/Nothing recorded yet/)).toBeTruthy();
    expect(queryByTestId("recorded-days")).toBeNull();
  });
});
