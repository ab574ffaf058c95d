"use client";

import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useState } from "react";

import { ContractDetail } from "@/components/contract-detail";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { usePolled } from "@/hooks/use-polled";
import { getContracts } from "@/lib/api";
import { EXCHANGE_TIME_NOTE, formatAge, formatClock, formatInt, formatMs } from "@/lib/format";

const PAGE = 50;

/** Per contract: last price and age, seq, which source wins and how late the others are. */
export function ContractsTable() {
  const [search, setSearch] = useState("");
  const [offset, setOffset] = useState(0);
  // The contract whose chart (and smile) shows: chosen by clicking its row, or named in the
  // URL (?symbol=IF2612.CFFEX), so a chart can be linked to, also for an underlying that has
  // no row (an ETF the hub does not receive, whose options it prices).
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const [selected, setSelectedState] = useState<string | null>(params.get("symbol") || null);
  function setSelected(symbol: string) {
    setSelectedState(symbol);
    router.replace(`${pathname}?${new URLSearchParams({ symbol })}`, { scroll: false });
  }
  const [barInterval, setBarInterval] = useState("1m");
  const { data, error } = usePolled(
    (signal) => getContracts({ q: search, limit: PAGE, offset }, signal),
    5000,
    `${search}|${offset}`,
  );
  const now = Date.now() / 1000;
  const rows = data?.results ?? [];
  const count = data?.count ?? 0;
  return (
    <div className="space-y-4">
    {selected ? <ContractDetail symbol={selected} interval={barInterval} onInterval={setBarInterval} /> : null}
    <Card>
      <CardHeader>
        <CardTitle>Contracts</CardTitle>
        <CardDescription>
          The most active contracts of the current session (refreshed every 5 s). Exchange time column: {EXCHANGE_TIME_NOTE}.
        </CardDescription>
        <Input
          aria-label="Search contracts"
          placeholder="Search, e.g. rb26 or .SHFE"
          className="mt-2 max-w-xs"
          value={search}
          onChange={(event) => {
            setSearch(event.target.value);
            setOffset(0);
          }}
        />
      </CardHeader>
      <CardContent>
        {error ? <p className="text-sm text-red-300">{error}</p> : null}
        {data && rows.length === 0 ? <p className="text-muted-foreground text-sm">No contracts.</p> : null}
        {rows.length ? (
          <Table data-testid="contracts-table">
            <TableHeader>
              <TableRow>
                <TableHead>Contract</TableHead>
                <TableHead className="text-right">Last price</TableHead>
                <TableHead>Exchange time</TableHead>
                <TableHead className="text-right">Age</TableHead>
                <TableHead className="text-right">Seq</TableHead>
                <TableHead>Winner</TableHead>
                <TableHead>Others late (p50)</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {rows.map((row) => (
                <TableRow
                  key={row.vt_symbol}
                  data-testid="contract-row"
                  data-state={row.vt_symbol === selected ? "selected" : undefined}
                  className="cursor-pointer"
                  onClick={() => setSelected(row.vt_symbol)}
                >
                  <TableCell className="font-mono">
                    <button
                      type="button"
                      className="underline-offset-2 hover:underline"
                      aria-label={`Show the chart of ${row.vt_symbol}`}
                      onClick={() => setSelected(row.vt_symbol)}
                    >
                      {row.vt_symbol}
                    </button>
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{row.last_price ?? "—"}</TableCell>
                  <TableCell className="tabular-nums">{formatClock(row.exchange_time)}</TableCell>
                  <TableCell className="text-right tabular-nums">
                    {row.received_at ? formatAge(Math.max(0, now - row.received_at)) : "—"}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{formatInt(row.seq)}</TableCell>
                  <TableCell className="font-mono">{row.winner}</TableCell>
                  <TableCell className="tabular-nums">
                    {row.sources
                      .filter((source) => source.source !== row.winner)
                      .map((source) => `${source.source} ${formatMs(source.late_p50_ms)}`)
                      .join(", ") || "—"}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        ) : null}
        <div className="mt-3 flex items-center gap-2 text-sm">
          <Button variant="outline" size="sm" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Previous
          </Button>
          <span className="tabular-nums">
            {count ? `${offset + 1}–${Math.min(offset + PAGE, count)} of ${count}` : "0"}
          </span>
          <Button variant="outline" size="sm" disabled={offset + PAGE >= count} onClick={() => setOffset(offset + PAGE)}>
            Next
          </Button>
        </div>
      </CardContent>
    </Card>
    </div>
  );
}
