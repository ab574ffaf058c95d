"use client";

import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { formatDateTime } from "@/lib/format";
import { useGatewaysStore } from "@/stores/gateways";

/** Changes of primary source seen since this page opened (`hub.failover` frames). */
export function FailoverList() {
  const failovers = useGatewaysStore((state) => state.failovers);
  if (failovers.length === 0) return null;
  return (
    <Card className="gap-3 py-4">
      <CardHeader className="px-4">
        <CardTitle>
          <h2 className="text-base">Recent failovers</h2>
        </CardTitle>
      </CardHeader>
      <CardContent className="px-4">
        <ol className="grid gap-1 text-sm" data-testid="failovers">
          {failovers.map((failover, index) => (
            <li key={`${failover.ts}-${index}`} className="flex flex-wrap gap-x-3">
              <time className="text-muted-foreground tabular-nums">{formatDateTime(failover.ts)}</time>
              <span>
                {failover.from ?? "no primary yet"} → <strong>{failover.to ?? "no primary"}</strong>
              </span>
              <span className="text-muted-foreground">{failover.reason}</span>
            </li>
          ))}
        </ol>
      </CardContent>
    </Card>
  );
}
