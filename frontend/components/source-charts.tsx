"use client";

import { useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { NativeSelect } from "@/components/ui/native-select";
import { usePolled } from "@/hooks/use-polled";
import { getSourceHistory, getStateTimeline } from "@/lib/api";
import { STATE_COLORS, hasData, historyRows, sourceColor, timelineBars, type HistoryMetric } from "@/lib/charts";
import { EXCHANGE_TIME_NOTE, formatTime } from "@/lib/format";

const WINDOWS = [15, 60, 180, 360] as const;

const CHARTS: { metric: HistoryMetric; title: string; unit: string; share?: boolean }[] = [
  { metric: "tick_rate", title: "Tick rate", unit: "ticks/s" },
  { metric: "latency_p50_ms", title: "Latency p50", unit: "ms behind the first copy" },
  { metric: "latency_p99_ms", title: "Latency p99", unit: "ms behind the first copy" },
  { metric: "first_share", title: "First-arrival share", unit: "share of forwarded ticks", share: true },
];

/** Per source tick rate, latency p50/p99 and first-arrival share over the chosen window,
 * and the state timeline below them. */
export function SourceCharts() {
  const [minutes, setMinutes] = useState<number>(180);
  const history = usePolled((signal) => getSourceHistory(minutes, signal), 5000, `h${minutes}`);
  const timeline = usePolled((signal) => getStateTimeline(minutes, signal), 10000, `t${minutes}`);
  const sources = history.data?.sources ?? [];

  return (
    <section aria-label="Charts" className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 className="text-lg font-semibold">Over time</h2>
        <label className="flex items-center gap-2 text-sm">
          Window
          <NativeSelect
            aria-label="Window"
            value={String(minutes)}
            onChange={(event) => setMinutes(Number(event.target.value))}
          >
            {WINDOWS.map((m) => (
              <option key={m} value={m}>
                last {m >= 60 ? `${m / 60} h` : `${m} min`}
              </option>
            ))}
          </NativeSelect>
        </label>
      </div>
      {history.error ? <p className="text-sm text-red-300">History: {history.error}</p> : null}
      <div className="grid gap-4 lg:grid-cols-2">
        {CHARTS.map((chart) => {
          const rows = historyRows(history.data, chart.metric);
          return (
            <Card key={chart.metric} data-testid={`chart-${chart.metric}`}>
              <CardHeader>
                <CardTitle className="text-base">{chart.title}</CardTitle>
                <CardDescription>
                  {chart.unit}; time axis {EXCHANGE_TIME_NOTE}
                </CardDescription>
              </CardHeader>
              <CardContent className="h-56">
                {hasData(rows, sources) ? (
                  <ResponsiveContainer width="100%" height="100%">
                    <LineChart data={rows} margin={{ top: 4, right: 8, bottom: 4, left: 0 }}>
                      <CartesianGrid strokeDasharray="3 3" stroke="#3f3f46" />
                      <XAxis dataKey="label" minTickGap={40} tick={{ fontSize: 11, fill: "#a1a1aa" }} />
                      <YAxis
                        width={48}
                        tick={{ fontSize: 11, fill: "#a1a1aa" }}
                        domain={chart.share ? [0, 1] : ["auto", "auto"]}
                      />
                      <Tooltip contentStyle={{ background: "#18181b", border: "1px solid #3f3f46" }} />
                      <Legend />
                      {sources.map((source) => (
                        <Line
                          key={source}
                          type="monotone"
                          dataKey={source}
                          stroke={sourceColor(sources, source)}
                          dot={false}
                          isAnimationActive={false}
                          connectNulls={false}
                        />
                      ))}
                    </LineChart>
                  </ResponsiveContainer>
                ) : (
                  <p className="text-muted-foreground text-sm">No data yet: a point comes every 5 s while the hub runs.</p>
                )}
              </CardContent>
            </Card>
          );
        })}
      </div>
      <Card data-testid="state-timeline">
        <CardHeader>
          <CardTitle className="text-base">State timeline</CardTitle>
          <CardDescription>
            {timeline.data
              ? `${formatTime(timeline.data.since)} – ${formatTime(timeline.data.until)}`
              : `Times ${EXCHANGE_TIME_NOTE}`}
            {timeline.data?.truncated ? " (the oldest changes are left out)" : ""}
          </CardDescription>
        </CardHeader>
        <CardContent className="space-y-2">
          {timeline.error ? <p className="text-sm text-red-300">Timeline: {timeline.error}</p> : null}
          {timeline.data && timeline.data.sources.length === 0 ? (
            <p className="text-muted-foreground text-sm">No state changes stored in this window.</p>
          ) : null}
          {timeline.data?.sources.map((source) => (
            <div key={source.id} className="flex items-center gap-3">
              <span className="w-24 shrink-0 truncate font-mono text-sm">{source.id}</span>
              <div className="relative h-5 flex-1 overflow-hidden rounded bg-zinc-800" role="list" aria-label={`${source.id} states`}>
                {timelineBars(source, timeline.data!.since, timeline.data!.until).map((bar) => (
                  <div
                    key={`${bar.start}-${bar.state}`}
                    role="listitem"
                    data-state={bar.state}
                    className={`absolute top-0 h-full ${STATE_COLORS[bar.state] ?? "bg-zinc-500"}`}
                    style={{ left: `${bar.left}%`, width: `${Math.max(bar.width, 0.3)}%` }}
                    title={`${bar.state} from ${formatTime(bar.start)} to ${formatTime(bar.end)}${bar.reason ? `: ${bar.reason}` : ""}`}
                  />
                ))}
              </div>
            </div>
          ))}
          <p className="text-muted-foreground flex flex-wrap gap-3 text-xs">
            {Object.entries(STATE_COLORS).map(([state, color]) => (
              <span key={state} className="flex items-center gap-1">
                <span className={`inline-block size-3 rounded-sm ${color}`} aria-hidden /> {state}
              </span>
            ))}
          </p>
        </CardContent>
      </Card>
    </section>
  );
}
