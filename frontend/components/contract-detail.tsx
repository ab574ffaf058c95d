"use client";

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { NativeSelect } from "@/components/ui/native-select";
import { usePolled } from "@/hooks/use-polled";
import { getBars, getSmile } from "@/lib/api";
import { EXCHANGE_TIME_NOTE, formatClock } from "@/lib/format";
import type { Bar, SmileExpiry, SmilePoint } from "@/lib/types";

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

/** IV as a percent with two decimals, or a dash. */
export function formatIv(value: number | null): string {
  return value === null ? "—" : `${(value * 100).toFixed(2)} %`;
}

/** Why the options at a strike have no IV, in words: "call IO2612-C-4600.CFFEX: no quote". */
export function noIvNotes(point: SmilePoint): string[] {
  const notes: string[] = [];
  if (point.call && point.call_iv === null) notes.push(`call ${point.call}: ${point.call_reason ?? "no IV"}`);
  if (point.put && point.put_iv === null) notes.push(`put ${point.put}: ${point.put_reason ?? "no IV"}`);
  return notes;
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
  const last = bars.data?.bars.at(-1);
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
          {last ? (
            <p
              className="text-muted-foreground mb-2 text-xs tabular-nums"
              data-testid="last-bar"
              data-start={last.datetime}
              data-open={last.open_price}
              data-high={last.high_price}
              data-low={last.low_price}
              data-close={last.close_price}
            >
              Last bar {formatClock(last.datetime / 1e9).slice(0, 8)}–{formatClock(last.end / 1e9).slice(0, 8)}{" "}
              {EXCHANGE_TIME_NOTE}: O {last.open_price} H {last.high_price} L {last.low_price} C {last.close_price} · volume{" "}
              {last.volume}
              {last.flat ? " · flat (no trade)" : ""}
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
      {smile.data?.hub === "online" && expiries.length === 0 ? (
        <p className="text-muted-foreground text-sm" data-testid="no-smile">
          No option on {symbol} has Greeks from the hub: none in the stream is written on it, or the Greeks service
          (MDHUB_SERVICES) is off.
        </p>
      ) : null}
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
                <table className="mt-2 w-full text-xs tabular-nums [&_td]:pr-3 [&_th]:pr-3">
                  <caption className="sr-only">Implied volatility by strike, expiry {expiry.expiry}</caption>
                  <thead>
                    <tr className="text-muted-foreground text-left">
                      <th scope="col" className="font-normal">Strike</th>
                      <th scope="col" className="font-normal">Call IV</th>
                      <th scope="col" className="font-normal">Put IV</th>
                      <th scope="col" className="font-normal">Why no IV</th>
                    </tr>
                  </thead>
                  <tbody>
                    {expiry.points.map((point) => (
                      <tr
                        key={point.strike}
                        data-testid="smile-point"
                        data-strike={point.strike}
                        data-call-iv={point.call_iv ?? ""}
                        data-put-iv={point.put_iv ?? ""}
                      >
                        <td>{point.strike}</td>
                        <td>{formatIv(point.call_iv)}</td>
                        <td>{formatIv(point.put_iv)}</td>
                        <td data-testid="no-iv-reason">{noIvNotes(point).join("; ")}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ))}
          </CardContent>
        </Card>
      ) : null}
    </div>
  );
}
