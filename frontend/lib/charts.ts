// Chart data shaping for the sources page: pure functions, tested in tests/charts.test.ts.
//
// recharts draws one row per x value with one key per line: the history answer (points with
// values by source) becomes rows of { ts, label, [source]: number | null }; a null leaves a
// gap in the line (a hub restart, a source that was not running) rather than a false zero.

import { formatClock } from "@/lib/format";
import type { HistoryAnswer, HistoryValue, SourceTimeline } from "@/lib/types";

export type HistoryMetric = "tick_rate" | "latency_p50_ms" | "latency_p99_ms" | "first_share";

export interface ChartRow {
  ts: number;
  /** The x-axis label: exchange time (Asia/Shanghai), HH:MM:SS. */
  label: string;
  [source: string]: number | string | null;
}

export function historyRows(answer: HistoryAnswer | null, metric: HistoryMetric): ChartRow[] {
  if (!answer) return [];
  return answer.points.map((point) => {
    const row: ChartRow = { ts: point.ts, label: formatClock(point.ts).slice(0, 8) };
    for (const source of answer.sources) {
      const value: HistoryValue | undefined = point.values[source];
      const number = value ? value[metric] : null;
      row[source] = typeof number === "number" && Number.isFinite(number) ? number : null;
    }
    return row;
  });
}

/** Whether any source has any number for the metric (else the chart says "no data yet"). */
export function hasData(rows: ChartRow[], sources: string[]): boolean {
  return rows.some((row) => sources.some((source) => typeof row[source] === "number"));
}

export interface TimelineBar {
  state: string;
  reason: string;
  start: number;
  end: number;
  /** Where the bar starts and how wide it is, in percent of the window. */
  left: number;
  width: number;
}

/** A source's segments as bars across [since, until]; segments outside are clipped. */
export function timelineBars(timeline: SourceTimeline, since: number, until: number): TimelineBar[] {
  const span = until - since;
  if (!(span > 0)) return [];
  const bars: TimelineBar[] = [];
  for (const segment of timeline.segments) {
    const start = Math.max(segment.start, since);
    const end = Math.min(segment.end, until);
    if (end <= start) continue;
    bars.push({
      state: segment.state,
      reason: segment.reason,
      start,
      end,
      left: ((start - since) / span) * 100,
      width: ((end - start) / span) * 100,
    });
  }
  return bars;
}

/** One colour per source, stable by its place in the sorted list. */
const PALETTE = ["#60a5fa", "#f59e0b", "#34d399", "#f472b6", "#a78bfa", "#f87171", "#22d3ee", "#facc15"];

export function sourceColor(sources: string[], source: string): string {
  const index = [...sources].sort().indexOf(source);
  return PALETTE[(index < 0 ? 0 : index) % PALETTE.length];
}

/** Tailwind background per state, for the timeline. */
export const STATE_COLORS: Record<string, string> = {
  healthy: "bg-emerald-500",
  connected: "bg-emerald-800",
  starting: "bg-sky-600",
  stale: "bg-amber-500",
  disconnected: "bg-orange-600",
  unhealthy: "bg-red-500",
  restarting: "bg-violet-500",
  failed: "bg-red-800",
  stopped: "bg-zinc-600",
};
