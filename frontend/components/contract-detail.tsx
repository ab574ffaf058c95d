"use client";

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { NativeSelect } from "@/components/ui/native-select";
import { usePolled } from "@/hooks/use-polled";
import { getBars, getSmile } from "@/lib/api";
import { EXCHANGE_TIME_NOTE, formatClock } from "@/lib/format";
import type { Bar, SmileExpiry } from "@/lib/types";

/** The intervals the chart offers: 1 minute by default; seconds bars where the hub makes them. */
export const CHART_INTERVALS = ["1m", "5m", "5s", "2s"] as const;

/** Bars as chart rows: x in epoch seconds (shown in exchange time), OHLC as lines. */
export function barRows(bars: Bar[]) {
  return bars.map((bar) => ({
    t: bar.datetime / 1e9,
    close: bar.close_price,
    high: bar.high_price,
    low: bar.low_price,
    volume: bar.volume,
  }));
}

/** One expiry's smile as chart rows: IV in percent by strike (calls and puts). */
export function smileRows(expiry: SmileExpiry) {
  const pct = (value: number | null) => (value === null ? null : Math.round(value * 10000) / 100);
  return expiry.points.map((point) => ({ strike: point.strike, call: pct(point.call_iv), put: pct(point.put_iv) }));
}

const SMILE_COLORS = ["#60a5fa", "#f472b6", "#34d399", "#fbbf24", "#a78bfa", "#f87171"];

/** A contract's live bar chart and, when options are written on it, its volatility smile. */
export function ContractDetail({
  symbol,
  interval,
  onInterval,
}: {
  symbol: string;
  interval: string;
  onInterval: (interval: string) => void;
}) {
  const bars = usePolled((signal) => getBars(symbol, interval, 120, signal), 2000, `${symbol}|${interval}`);
  const smile = usePolled((signal) => getSmile(symbol, signal), 3000, symbol);
  const rows = barRows(bars.data?.bars ?? []);
  const expiries = smile.data?.expiries ?? [];
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <Card data-testid="bar-chart">
        <CardHeader>
          <CardTitle className="font-mono">{symbol}</CardTitle>
          <CardDescription>
            Closed {interval} bars from the hub&apos;s bar service, aligned to the trading sections; time axis in{" "}
            {EXCHANGE_TIME_NOTE}.
          </CardDescription>
          <label className="mt-2 flex items-center gap-2 text-sm">
            Interval
            <NativeSelect
              aria-label="Bar interval"
              value={interval}
              onChange={(event) => onInterval(event.target.value)}
            >
              {CHART_INTERVALS.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </NativeSelect>
          </label>
        </CardHeader>
        <CardContent>
          {bars.error ? <p className="text-sm text-red-300">{bars.error}</p> : null}
          {bars.data?.hub === "offline" ? <p className="text-muted-foreground text-sm">The hub does not answer.</p> : null}
          {bars.data && rows.length === 0 ? (
            <p className="text-muted-foreground text-sm" data-testid="no-bars">
              No closed {interval} bar yet (the bar service publishes a bar when it closes).
            </p>
          ) : null}
          {rows.length ? (
            <div className="h-64" data-testid="bar-count" data-count={rows.length}>
              <ResponsiveContainer width="100%" height="100%">
                <LineChart data={rows}>
                  <CartesianGrid strokeDasharray="3 3" stroke="#334155" />
                  <XAxis dataKey="t" type="number" domain={["dataMin", "dataMax"]} tickFormatter={(t: number) => formatClock(t).slice(0, 8)} />
                  <YAxis domain={["auto", "auto"]} width={70} />
                  <Tooltip labelFormatter={(t) => `${formatClock(Number(t))} ${EXCHANGE_TIME_NOTE}`} />
                  <Legend />
                  <Line type="stepAfter" dataKey="close" name="close" stroke="#60a5fa" dot={false} isAnimationActive={false} />
                  <Line type="stepAfter" dataKey="high" name="high" stroke="#34d399" dot={false} strokeOpacity={0.5} isAnimationActive={false} />
                  <Line type="stepAfter" dataKey="low" name="low" stroke="#f87171" dot={false} strokeOpacity={0.5} isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </div>
          ) : null}
        </CardContent>
      </Card>
      {expiries.length ? (
        <Card data-testid="smile-chart">
          <CardHeader>
            <CardTitle>Volatility smile</CardTitle>
            <CardDescription>
              Implied volatility (%) by strike of the options on {symbol}, per expiry, from the Greeks service (mid, else
              last).
            </CardDescription>
          </CardHeader>
          <CardContent className="space-y-4">
            {expiries.map((expiry, index) => (
              <div key={expiry.expiry} data-testid="smile-expiry" data-expiry={expiry.expiry}>
                <p className="text-sm tabular-nums">
                  Expiry {expiry.expiry}
                  {expiry.days_to_expiry !== null ? ` · ${expiry.days_to_expiry.toFixed(1)} days` : ""}
                  {expiry.forward !== null ? ` · forward ${expiry.forward.toFixed(2)}` : ""}
                </p>
                <div className="h-48">
                  <ResponsiveContainer width="100%" height="100%">
                    <LineChart data={smileRows(expiry)}>
                      <CartesianGrid strokeDasharray="3 3" stroke="#334155" />
                      <XAxis dataKey="strike" type="number" domain={["dataMin", "dataMax"]} />
                      <YAxis unit="%" width={60} domain={["auto", "auto"]} />
                      <Tooltip />
                      <Legend />
                      <Line dataKey="call" name="call IV" stroke={SMILE_COLORS[index % SMILE_COLORS.length]} connectNulls isAnimationActive={false} />
                      <Line dataKey="put" name="put IV" stroke={SMILE_COLORS[(index + 1) % SMILE_COLORS.length]} strokeDasharray="4 2" connectNulls isAnimationActive={false} />
                    </LineChart>
                  </ResponsiveContainer>
                </div>
              </div>
            ))}
          </CardContent>
        </Card>
      ) : null}
    </div>
  );
}
