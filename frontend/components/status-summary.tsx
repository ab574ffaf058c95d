"use client";

import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { formatRate } from "@/lib/format";
import { tickRateOf } from "@/lib/states";
import { cn } from "@/lib/utils";
import { useGatewaysStore } from "@/stores/gateways";

function Stat({ label, value, tone, testId }: { label: string; value: React.ReactNode; tone?: string; testId?: string }) {
  return (
    <Card className="gap-1 py-4">
      <CardHeader className="px-4">
        <CardDescription>{label}</CardDescription>
      </CardHeader>
      <CardContent className="px-4">
        <CardTitle className={cn("text-xl tabular-nums", tone)} data-testid={testId}>
          {value}
        </CardTitle>
      </CardContent>
    </Card>
  );
}

/** The hub at a glance: engine, how many sources are healthy, primary, mode, tick rate. */
export function StatusSummary() {
  const engine = useGatewaysStore((state) => state.engine);
  const gateways = useGatewaysStore((state) => state.gateways);
  const primary = useGatewaysStore((state) => state.primary);
  const mode = useGatewaysStore((state) => state.mode);

  const running = gateways.filter((gateway) => gateway.state !== "stopped");
  const healthy = gateways.filter((gateway) => gateway.state === "healthy").length;
  const rate = gateways.reduce((sum, gateway) => sum + (tickRateOf(gateway) ?? 0), 0);
  const engineTone = engine === "online" ? "text-emerald-300" : engine === "offline" ? "text-red-300" : "text-muted-foreground";

  return (
    <section aria-label="Summary" className="grid grid-cols-2 gap-3 md:grid-cols-5">
      <Stat label="Engine" value={engine === "unknown" ? "unknown" : engine} tone={engineTone} testId="engine-state" />
      <Stat
        label="Healthy sources"
        value={`${healthy} / ${running.length}`}
        tone={running.length > 0 && healthy === 0 ? "text-red-300" : undefined}
        testId="healthy-count"
      />
      <Stat label="Primary source" value={primary ?? "none"} testId="primary-source" />
      <Stat label="Failover mode" value={mode ?? "–"} />
      <Stat label="Ticks received / s" value={gateways.length ? formatRate(rate) : "–"} />
    </section>
  );
}
