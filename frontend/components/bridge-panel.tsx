"use client";

import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { formatAge, formatInt } from "@/lib/format";
import type { BridgeStatus } from "@/lib/types";
import { useGatewaysStore } from "@/stores/gateways";

// A lag above this is worth a look (NATS slow, or a catch-up from the journal under way).
const LAG_WARN_S = 2;

/** What one bridge is doing, in words: offline, NATS down, catching up, or keeping up. */
export function bridgeState(bridge: BridgeStatus): { label: string; tone: string } {
  if (!bridge.online) return { label: "bridge offline", tone: "text-red-300" };
  if (!bridge.connected) return { label: "NATS unreachable", tone: "text-red-300" };
  if (bridge.behind_hub || bridge.lag_s > LAG_WARN_S) return { label: "catching up", tone: "text-amber-300" };
  return { label: "in step", tone: "text-emerald-300" };
}

/** The JetStream bridges beside the hub, as given (no store): testable alone. */
export function BridgeTable({ bridges }: { bridges: BridgeStatus[] }) {
  return (
    <Table data-testid="bridges">
      <TableHeader>
        <TableRow>
          <TableHead scope="col">Bridge</TableHead>
          <TableHead scope="col">State</TableHead>
          <TableHead scope="col" className="text-right">Lag</TableHead>
          <TableHead scope="col" className="text-right">Waiting</TableHead>
          <TableHead scope="col" className="text-right">Stored</TableHead>
          <TableHead scope="col" className="text-right">Already stored</TableHead>
          <TableHead scope="col" className="text-right">Journal catch-ups</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {bridges.map((bridge) => {
          const state = bridgeState(bridge);
          return (
            <TableRow key={bridge.name} data-testid={`bridge-${bridge.name}`}>
              <TableCell>
                <span className="font-medium">{bridge.name}</span>
                <span className="text-muted-foreground ml-2 text-xs">→ {bridge.stream}</span>
              </TableCell>
              <TableCell className={state.tone} data-testid="bridge-state">
                {state.label}
                {!bridge.online && (
                  <span className="text-muted-foreground ml-1 text-xs">(last heard {formatAge(bridge.age_s)} ago)</span>
                )}
              </TableCell>
              <TableCell
                className={`text-right tabular-nums ${bridge.online && bridge.lag_s > LAG_WARN_S ? "text-amber-300" : ""}`}
                data-testid="bridge-lag"
              >
                {bridge.online ? formatAge(bridge.lag_s) : "–"}
              </TableCell>
              <TableCell className="text-right tabular-nums">{formatInt(bridge.buffered + bridge.inflight)}</TableCell>
              <TableCell className="text-right tabular-nums">{formatInt(bridge.stored)}</TableCell>
              <TableCell className="text-right tabular-nums">{formatInt(bridge.duplicates)}</TableCell>
              <TableCell className="text-right tabular-nums">{formatInt(bridge.hub_let_go)}</TableCell>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}

/** On the status page when the hub has JetStream bridges (docs/jetstream.md); nothing otherwise. */
export function BridgePanel() {
  const bridges = useGatewaysStore((state) => state.bridges);
  if (bridges.length === 0) return null;
  return (
    <Card className="gap-3 py-4" aria-labelledby="bridges-title">
      <CardHeader className="px-4">
        <CardTitle>
          <h2 id="bridges-title" className="text-base">
            JetStream bridges
          </h2>
        </CardTitle>
      </CardHeader>
      <CardContent className="px-4">
        <BridgeTable bridges={bridges} />
        <p className="text-muted-foreground mt-2 text-xs">
          Lag: how long the oldest tick not yet stored in JetStream has waited. ZeroMQ clients are never held up by it.
        </p>
      </CardContent>
    </Card>
  );
}
