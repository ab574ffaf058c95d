"use client";

import { ServerOff } from "lucide-react";

import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { formatDateTime } from "@/lib/format";
import { useGatewaysStore } from "@/stores/gateways";

/** Shown on every screen while the hub engine (manage.py runhub) is not running. */
export function EngineBanner() {
  const engine = useGatewaysStore((state) => state.engine);
  const updatedAt = useGatewaysStore((state) => state.updatedAt);
  if (engine !== "offline") return null;
  return (
    <Alert variant="destructive" data-testid="engine-offline" className="border-red-500/50 bg-red-500/10 text-red-200">
      <ServerOff aria-hidden="true" />
      <AlertTitle>Engine offline</AlertTitle>
      <AlertDescription className="text-red-200">
        The hub engine is not running, so no source is delivering ticks and states below are the last known.
        Start it with <code className="font-mono">manage.py runhub</code> (or the service that runs it).
        {updatedAt ? ` Last report: ${formatDateTime(updatedAt)}.` : null}
      </AlertDescription>
    </Alert>
  );
}
