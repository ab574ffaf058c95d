"use client";

import { Plus, RefreshCw, TriangleAlert } from "lucide-react";
import { useEffect, useState } from "react";
import { toast } from "sonner";

import { StreamClientDialog } from "@/components/stream-client-dialog";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { Switch } from "@/components/ui/switch";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import type { StreamClient } from "@/lib/types";
import { cn } from "@/lib/utils";
import { selectIsOperator, useSessionStore } from "@/stores/session";
import { useStreamClientsStore } from "@/stores/stream-clients";

function EnableSwitch({ client, disabled }: { client: StreamClient; disabled: boolean }) {
  const setEnabled = useStreamClientsStore((state) => state.setEnabled);
  const busy = useStreamClientsStore((state) => Boolean(state.toggling[client.name]));
  async function onChange(checked: boolean) {
    try {
      await setEnabled(client.name, checked);
      toast.success(checked ? `${client.name} enabled: its key may connect.` : `${client.name} disabled: cut off within a second.`);
    } catch (error) {
      toast.error(`Could not ${checked ? "enable" : "disable"} ${client.name}: ${(error as Error).message}`);
    }
  }
  return (
    <div className="flex items-center gap-2">
      <Switch
        checked={client.is_enabled}
        onCheckedChange={onChange}
        disabled={disabled || busy}
        aria-label={`Enable ${client.name}`}
        data-testid={`enable-client-${client.name}`}
      />
      <span className={cn("text-xs", client.is_enabled ? "text-emerald-300" : "text-muted-foreground")} aria-hidden="true">
        {client.is_enabled ? "on" : "off"}
      </span>
    </div>
  );
}

/** Every stream client identity (GET /api/stream-clients): entitlements, quotas, enable, add. */
export function StreamClientsTable() {
  const clients = useStreamClientsStore((state) => state.clients);
  const loaded = useStreamClientsStore((state) => state.loaded);
  const loadError = useStreamClientsStore((state) => state.loadError);
  const load = useStreamClientsStore((state) => state.load);
  const isOperator = useSessionStore(selectIsOperator);
  const [adding, setAdding] = useState(false);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <Card className="gap-3 py-4" aria-labelledby="identities-title">
      <CardHeader className="flex flex-wrap items-start justify-between gap-3 px-4">
        <div className="grid gap-1.5">
          <CardTitle>
            <h2 id="identities-title" className="text-base">
              Identities
            </h2>
          </CardTitle>
          <CardDescription>
            Who may read the stream: a CURVE key, the topics it may read, its quotas.
            {!isOperator ? " You are a viewer: only operators (staff users) can add or disable clients." : ""}
          </CardDescription>
        </div>
        <div className="flex items-center gap-2">
          <Button variant="outline" size="sm" onClick={() => void load()}>
            <RefreshCw aria-hidden="true" />
            Reload
          </Button>
          {isOperator ? (
            <Button size="sm" onClick={() => setAdding(true)}>
              <Plus aria-hidden="true" />
              Add client
            </Button>
          ) : null}
        </div>
      </CardHeader>
      <CardContent className="grid gap-3 px-4">
        {loadError ? (
          <Alert className="border-amber-500/40 text-amber-200">
            <TriangleAlert aria-hidden="true" />
            <AlertTitle>Stream clients could not be loaded</AlertTitle>
            <AlertDescription className="text-amber-100/90">{loadError}</AlertDescription>
          </Alert>
        ) : null}
        <Table aria-label="Stream client identities">
          <TableHeader>
            <TableRow>
              <TableHead scope="col">Client</TableHead>
              <TableHead scope="col">Enabled</TableHead>
              <TableHead scope="col">Topic prefixes</TableHead>
              <TableHead scope="col" className="text-right">
                Max subscriptions
              </TableHead>
              <TableHead scope="col" className="text-right">
                Max upstream
              </TableHead>
              <TableHead scope="col" className="text-right">
                Requests/s
              </TableHead>
              <TableHead scope="col">Public key</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {!loaded
              ? Array.from({ length: 2 }, (_, index) => (
                  <TableRow key={`skeleton-${index}`}>
                    <TableCell colSpan={7}>
                      <Skeleton className="h-6 w-full" />
                    </TableCell>
                  </TableRow>
                ))
              : null}
            {loaded && clients.length === 0 && !loadError ? (
              <TableRow>
                <TableCell colSpan={7} className="text-muted-foreground py-8 text-center">
                  No stream clients yet{isOperator ? ": add one with “Add client”." : "."}
                </TableCell>
              </TableRow>
            ) : null}
            {clients.map((client) => (
              <TableRow key={client.name} data-testid={`client-row-${client.name}`} data-enabled={client.is_enabled}>
                <TableCell className="max-w-64 whitespace-normal">
                  <div className="font-medium">{client.name}</div>
                  {client.description ? <div className="text-muted-foreground line-clamp-2 text-xs">{client.description}</div> : null}
                </TableCell>
                <TableCell>
                  <EnableSwitch client={client} disabled={!isOperator} />
                </TableCell>
                <TableCell className="font-mono text-xs whitespace-normal">{client.prefixes.join(", ")}</TableCell>
                <TableCell className="text-right tabular-nums">{client.max_subscriptions}</TableCell>
                <TableCell className="text-right tabular-nums">{client.max_upstream}</TableCell>
                <TableCell className="text-right tabular-nums">{client.requests_per_second}</TableCell>
                <TableCell className="text-muted-foreground max-w-48 truncate font-mono text-xs" title={client.public_key}>
                  {client.public_key}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </CardContent>
      <StreamClientDialog open={adding} onOpenChange={setAdding} />
    </Card>
  );
}
