"use client";

import { useEffect, useState } from "react";

import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { getRecording } from "@/lib/api";
import { formatInt } from "@/lib/format";
import { formatBytes, recordedDayRows, retentionText } from "@/lib/recording";
import type { Recording } from "@/lib/types";

/** The recording's figures and its newest days, as given (no fetching): testable alone. */
export function RecordingSummary({ recording }: { recording: Recording }) {
  const rows = recordedDayRows(recording);
  return (
    <div className="grid gap-3">
      <dl className="flex flex-wrap gap-x-6 gap-y-1 text-sm" data-testid="recording-figures">
        <div>
          <dt className="text-muted-foreground">Trading days</dt>
          <dd className="tabular-nums">{recording.days}</dd>
        </div>
        <div>
          <dt className="text-muted-foreground">On disk</dt>
          <dd className="tabular-nums">{formatBytes(recording.bytes)}</dd>
        </div>
        <div>
          <dt className="text-muted-foreground">Last day</dt>
          <dd className="tabular-nums">{recording.last_day ?? "none yet"}</dd>
        </div>
        <div>
          <dt className="text-muted-foreground">Kept</dt>
          <dd>{retentionText(recording.retention_days)}</dd>
        </div>
      </dl>
      {rows.length === 0 ? (
        <p className="text-muted-foreground text-sm">
          Nothing recorded yet: each trading day is recorded after it closes (18:05 exchange time).
        </p>
      ) : (
        <Table data-testid="recorded-days">
          <TableHeader>
            <TableRow>
              <TableHead scope="col">Trading day</TableHead>
              <TableHead scope="col" className="text-right">Ticks</TableHead>
              <TableHead scope="col" className="text-right">On disk</TableHead>
              <TableHead scope="col" className="text-right">Bytes/tick</TableHead>
              <TableHead scope="col" className="text-right">Journal holes</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {rows.map((row) => (
              <TableRow key={row.day}>
                <TableCell className="tabular-nums">{row.day}</TableCell>
                <TableCell className="text-right tabular-nums">{formatInt(row.ticks)}</TableCell>
                <TableCell className="text-right tabular-nums">{formatBytes(row.bytes)}</TableCell>
                <TableCell className="text-right tabular-nums">{row.bytesPerTick ?? "—"}</TableCell>
                <TableCell className={`text-right tabular-nums ${row.holes ? "text-destructive font-medium" : ""}`}>
                  {row.holes ?? "—"}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </div>
  );
}

/** GET /api/recording on the status page: where yesterday is, and what it takes on disk. */
export function RecordingCard() {
  const [recording, setRecording] = useState<Recording | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    getRecording(controller.signal)
      .then(setRecording)
      .catch((reason: unknown) => {
        if (!controller.signal.aborted) setError(reason instanceof Error ? reason.message : String(reason));
      });
    return () => controller.abort();
  }, []);
  return (
    <Card className="gap-3 py-4" aria-labelledby="recording-title">
      <CardHeader className="px-4">
        <CardTitle>
          <h2 id="recording-title" className="text-base">
            Recording
          </h2>
        </CardTitle>
      </CardHeader>
      <CardContent className="px-4">
        {error ? (
          <p className="text-destructive text-sm">The recording could not be read: {error}</p>
        ) : recording ? (
          <RecordingSummary recording={recording} />
        ) : (
          <p className="text-muted-foreground text-sm">Loading…</p>
        )}
      </CardContent>
    </Card>
  );
}
