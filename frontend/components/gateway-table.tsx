"use client";

import { Star, TriangleAlert } from "lucide-react";
import Link from "next/link";

import { CanaryList } from "@/components/canary-list";
import { GatewayActions } from "@/components/gateway-actions";
import { GatewayStateBadge } from "@/components/gateway-state-badge";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { EXCHANGE_TIME_NOTE, formatAge, formatAgeTitle, formatDateTime, formatInt, formatMs, formatRate, formatShare } from "@/lib/format";
import { tickRateOf } from "@/lib/states";
import type { GatewayStatus } from "@/lib/types";
import { cn } from "@/lib/utils";
import { isTroubled, useGatewaysStore } from "@/stores/gateways";

/** Where a source's logs are; troubled sources open on their warnings and errors. */
export function logsHref(gateway: Pick<GatewayStatus, "id" | "state">): string {
  const params = new URLSearchParams({ account: gateway.id });
  if (isTroubled(gateway)) params.set("level", "WARNING");
  return `/logs?${params.toString()}`;
}

const NUMERIC = "text-right tabular-nums";
// On narrower screens (tablets) the table scrolls sideways; the controls stay in view.
const STICKY = "bg-card sticky right-0 shadow-[-8px_0_8px_-8px_rgba(0,0,0,0.6)] xl:static xl:shadow-none";

function GatewayRow({ gateway, now }: { gateway: GatewayStatus; now: number | null }) {
  const troubled = isTroubled(gateway);
  return (
    <TableRow
      data-testid={`gateway-row-${gateway.id}`}
      data-state={gateway.state}
      className={cn(troubled && "bg-red-500/5")}
    >
      <TableCell className="font-medium">
        <div className="flex items-center gap-2">
          <Link
            href={logsHref(gateway)}
            className="focus-visible:ring-ring/50 rounded-sm underline-offset-4 outline-none hover:underline focus-visible:ring-[3px]"
            title={`Logs of ${gateway.id}`}
          >
            {gateway.id}
          </Link>
          {gateway.is_primary ? (
            <Badge variant="outline" className="border-sky-500/50 text-sky-300" data-testid="primary-marker">
              <Star aria-hidden="true" className="fill-current" />
              primary
            </Badge>
          ) : null}
        </div>
      </TableCell>
      <TableCell className="font-mono text-xs uppercase">{gateway.gateway_type}</TableCell>
      <TableCell className={NUMERIC}>{gateway.priority}</TableCell>
      <TableCell className="max-w-64 whitespace-normal">
        <div className="flex flex-col items-start gap-1">
          <GatewayStateBadge
            state={gateway.state}
            reason={gateway.state_reason}
            href={troubled ? logsHref(gateway) : undefined}
            label={troubled ? `${gateway.state}: view warnings and errors of ${gateway.id}` : undefined}
          />
          {gateway.state_reason ? (
            <span
              className="text-muted-foreground line-clamp-2 text-xs"
              title={gateway.state_since ? `Since ${formatDateTime(gateway.state_since)}` : undefined}
            >
              {gateway.state_reason}
            </span>
          ) : null}
        </div>
      </TableCell>
      <TableCell className={NUMERIC} data-testid="tick-rate">
        {formatRate(tickRateOf(gateway))}
      </TableCell>
      <TableCell className={NUMERIC} title={now === null ? undefined : formatAgeTitle(gateway.last_tick_age, now)}>
        {formatAge(gateway.last_tick_age)}
      </TableCell>
      <TableCell>
        <CanaryList canaries={gateway.canaries} now={now} />
      </TableCell>
      <TableCell className={NUMERIC}>{formatShare(gateway.first_share)}</TableCell>
      <TableCell className={NUMERIC}>
        {formatMs(gateway.latency_ms?.p50)} / {formatMs(gateway.latency_ms?.p99)}
      </TableCell>
      <TableCell className={NUMERIC}>{formatInt(gateway.restarts)}</TableCell>
      <TableCell className={STICKY}>
        <GatewayActions gateway={gateway} />
      </TableCell>
    </TableRow>
  );
}

/** Every source of the pool with its live health, updated by `gateway.status` frames. */
export function GatewayTable() {
  const gateways = useGatewaysStore((state) => state.gateways);
  const loaded = useGatewaysStore((state) => state.loaded);
  const loadError = useGatewaysStore((state) => state.loadError);
  // Ages are measured at the hub's snapshot time, so tooltips count back from that clock.
  const updatedAt = useGatewaysStore((state) => state.updatedAt);

  return (
    <Card className="gap-3 py-4">
      <CardHeader className="px-4">
        <CardTitle>
          <h2 className="text-base">Sources</h2>
        </CardTitle>
      </CardHeader>
      <CardContent className="px-2">
        {loadError && !loaded ? (
          <Alert className="mx-2 mb-3 border-amber-500/40 text-amber-200" data-testid="gateways-error">
            <TriangleAlert aria-hidden="true" />
            <AlertTitle>Live state unavailable</AlertTitle>
            <AlertDescription className="text-amber-100/90">{loadError}</AlertDescription>
          </Alert>
        ) : null}
        <Table aria-label="Sources">
          <caption className="text-muted-foreground caption-bottom pt-2 text-left text-xs">
            Ages are seconds before the hub&apos;s last report
            {updatedAt ? ` (${formatDateTime(updatedAt)})` : ""}; hover one for its time, in {EXCHANGE_TIME_NOTE}.
          </caption>
          <TableHeader>
            <TableRow>
              <TableHead scope="col">Source</TableHead>
              <TableHead scope="col">Type</TableHead>
              <TableHead scope="col" className="text-right">
                Priority
              </TableHead>
              <TableHead scope="col">State</TableHead>
              <TableHead scope="col" className="text-right">
                Ticks/s
              </TableHead>
              <TableHead scope="col" className="text-right">
                Last tick
              </TableHead>
              <TableHead scope="col">Canaries (age)</TableHead>
              <TableHead scope="col" className="text-right">
                First arrival
              </TableHead>
              <TableHead scope="col" className="text-right">
                Latency p50 / p99 ms
              </TableHead>
              <TableHead scope="col" className="text-right">
                Restarts
              </TableHead>
              <TableHead scope="col" className={cn("text-right", STICKY)}>
                Controls
              </TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {gateways.map((gateway) => (
              <GatewayRow key={gateway.id} gateway={gateway} now={updatedAt} />
            ))}
            {!loaded && !loadError
              ? Array.from({ length: 3 }, (_, index) => (
                  <TableRow key={`skeleton-${index}`}>
                    <TableCell colSpan={11}>
                      <Skeleton className="h-6 w-full" />
                    </TableCell>
                  </TableRow>
                ))
              : null}
            {(loaded || loadError) && gateways.length === 0 ? (
              <TableRow data-testid="gateways-empty">
                <TableCell colSpan={11} className="text-muted-foreground py-8 text-center whitespace-normal">
                  No sources yet. Enable accounts on the{" "}
                  <Link className="text-foreground underline underline-offset-4" href="/accounts">
                    Accounts
                  </Link>{" "}
                  page; the hub starts them.
                </TableCell>
              </TableRow>
            ) : null}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}
