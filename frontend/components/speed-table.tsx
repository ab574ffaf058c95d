"use client";

import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { usePolled } from "@/hooks/use-polled";
import { getSpeed } from "@/lib/api";
import { formatMs, formatShare, formatTime } from "@/lib/format";

/** Which source is fastest for which exchange, product and session (since the hub started). */
export function SpeedTable() {
  const { data, error } = usePolled((signal) => getSpeed(signal), 5000, "speed");
  const rows = data?.fastest ?? [];
  return (
    <Card>
      <CardHeader>
        <CardTitle className="text-base">Fastest source per product</CardTitle>
        <CardDescription>
          Since the hub started; night is 18:00–06:00 exchange time.
          {data?.updated_at ? ` Updated ${formatTime(data.updated_at)}.` : ""}
        </CardDescription>
      </CardHeader>
      <CardContent>
        {error ? <p className="text-sm text-red-300">{error}</p> : null}
        {data && rows.length === 0 ? (
          <p className="text-muted-foreground text-sm">
            {data.engine === "offline" ? "Engine offline: no figures." : "No ticks yet."}
          </p>
        ) : null}
        {rows.length ? (
          <Table data-testid="speed-table">
            <TableHeader>
              <TableRow>
                <TableHead>Exchange</TableHead>
                <TableHead>Product</TableHead>
                <TableHead>Session</TableHead>
                <TableHead>Fastest</TableHead>
                <TableHead className="text-right">First share</TableHead>
                <TableHead>Runner-up</TableHead>
                <TableHead className="text-right">Runner-up late (p50)</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {rows.map((row) => (
                <TableRow key={`${row.exchange}-${row.product}-${row.session}`}>
                  <TableCell>{row.exchange}</TableCell>
                  <TableCell className="font-mono">{row.product}</TableCell>
                  <TableCell>{row.session}</TableCell>
                  <TableCell className="font-mono">{row.source}</TableCell>
                  <TableCell className="text-right tabular-nums">{formatShare(row.first_share)}</TableCell>
                  <TableCell className="font-mono">{row.runner_up ?? "—"}</TableCell>
                  <TableCell className="text-right tabular-nums">{formatMs(row.runner_up_late_p50_ms)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        ) : null}
      </CardContent>
    </Card>
  );
}
