"use client";

import { useEffect, useRef } from "react";

import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { usePolled } from "@/hooks/use-polled";
import { getConnectedStreamClients } from "@/lib/api";
import { formatAgeTitle, formatDateTime, formatInt, formatTime } from "@/lib/format";
import { conflationText, refusalText, subscriptionSummary } from "@/lib/stream-clients";
import type { ConnectedStreamClients } from "@/lib/types";
import { cn } from "@/lib/utils";
import { useStreamClientsStore } from "@/stores/stream-clients";

/** The hub's own readers (aggregation/curve.py INTERNAL_CLIENT): not in the identities table. */
const INTERNAL_CLIENT = "mdhub-internal";

/** How often the page asks; the hub refreshes the list every second. */
const POLL_MS = 2000;

/** Why the list is empty, in words, or null when it has rows to show. */
function emptyReason(answer: ConnectedStreamClients): string | null {
  if (answer.engine !== "online") return "The hub is not running: start it to see who reads the stream.";
  if (!answer.curve) {
    return "The hub runs without CURVE (MDHUB_CURVE off): it does not know who reads the stream. Turn CURVE on to list clients.";
  }
  if (answer.clients.length === 0) return "No stream client has connected since the hub started.";
  return null;
}

/** The connected clients as given (no fetching): testable alone. */
export function ConnectedClientsTable({ answer }: { answer: ConnectedStreamClients }) {
  const reason = emptyReason(answer);
  if (reason) {
    return (
      <p className="text-muted-foreground text-sm" data-testid="connected-empty">
        {reason}
      </p>
    );
  }
  const now = answer.updated_at ?? Date.now() / 1000;
  return (
    <Table aria-label="Connected stream clients" data-testid="connected-clients">
      <TableHeader>
        <TableRow>
          <TableHead scope="col">Client</TableHead>
          <TableHead scope="col">From</TableHead>
          <TableHead scope="col" className="text-right">
            Open / accepted
          </TableHead>
          <TableHead scope="col">Subscriptions</TableHead>
          <TableHead scope="col" className="text-right">
            Upstream
          </TableHead>
          <TableHead scope="col" className="text-right">
            Requests
          </TableHead>
          <TableHead scope="col">Refused</TableHead>
          <TableHead scope="col">Conflation</TableHead>
          <TableHead scope="col" className="text-right">
            Drops
          </TableHead>
          <TableHead scope="col">Last activity</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {answer.clients.map((client) => {
          const subscriptions = subscriptionSummary(client);
          const refused = refusalText(client);
          return (
            <TableRow
              key={client.name}
              data-testid={`connected-${client.name}`}
              data-open={client.open_connections}
              data-enabled={client.enabled}
            >
              <TableCell>
                <div className="font-medium">{client.name}</div>
                {!client.enabled ? <div className="text-xs text-amber-300">disabled: cut off</div> : null}
                {client.name === INTERNAL_CLIENT ? (
                  <div className="text-muted-foreground text-xs">the hub&apos;s own services and bridge</div>
                ) : null}
              </TableCell>
              <TableCell className="font-mono text-xs whitespace-normal">
                {client.addresses.length ? client.addresses.join(", ") : <span className="text-muted-foreground">–</span>}
              </TableCell>
              <TableCell className="text-right tabular-nums" title="Open now from its hosts (shared by clients on one host) / accepted since the hub started">
                <span className={client.open_connections ? "text-emerald-300" : "text-muted-foreground"}>
                  {formatInt(client.open_connections)}
                </span>{" "}
                / {formatInt(client.connections)}
              </TableCell>
              <TableCell className="max-w-72 font-mono text-xs whitespace-normal" data-testid="subscriptions">
                {subscriptions.items.length === 0 ? <span className="text-muted-foreground">none</span> : subscriptions.items.join(", ")}
                {subscriptions.more ? <span className="text-muted-foreground"> +{subscriptions.more} more</span> : null}
              </TableCell>
              <TableCell className="text-right tabular-nums">{formatInt(client.upstream)}</TableCell>
              <TableCell className="text-right tabular-nums">{formatInt(client.requests)}</TableCell>
              <TableCell className={cn("text-xs whitespace-normal", refused ? "text-amber-300" : "text-muted-foreground")}>
                {refused ?? "none"}
              </TableCell>
              <TableCell className="text-xs" data-testid="conflation">
                {conflationText(client.conflation_ms)}
              </TableCell>
              <TableCell className={cn("text-right tabular-nums", client.drops ? "text-destructive font-medium" : "")}>
                {formatInt(client.drops)}
              </TableCell>
              <TableCell className="tabular-nums" title={formatAgeTitle(now - client.last_activity, now)}>
                {formatTime(client.last_activity)}
              </TableCell>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}

/** A connected name the identities table does not know was added elsewhere (the admin, the
 * API): reload that table once per such name, rather than polling it and racing its toggles. */
function useReloadIdentitiesForNewNames(answer: ConnectedStreamClients | null) {
  const asked = useRef(new Set<string>());
  const known = useStreamClientsStore((state) => state.clients);
  const loaded = useStreamClientsStore((state) => state.loaded);
  useEffect(() => {
    if (!answer || !loaded) return;
    const names = new Set(known.map((client) => client.name));
    const fresh = answer.clients
      .map((client) => client.name)
      .filter((name) => name !== INTERNAL_CLIENT && !names.has(name) && !asked.current.has(name));
    if (fresh.length === 0) return;
    for (const name of fresh) asked.current.add(name);
    void useStreamClientsStore.getState().load();
  }, [answer, known, loaded]);
}

/** GET /api/stream-clients/connected, polled: who reads the stream now. */
export function ConnectedClients() {
  const { data, error } = usePolled(getConnectedStreamClients, POLL_MS, "connected");
  useReloadIdentitiesForNewNames(data);
  return (
    <Card className="gap-3 py-4" aria-labelledby="connected-title">
      <CardHeader className="px-4">
        <CardTitle>
          <h2 id="connected-title" className="text-base">
            Connected
          </h2>
        </CardTitle>
        <CardDescription>
          Every client the running hub has seen since it started.
          {data?.updated_at ? ` As of ${formatDateTime(data.updated_at)}.` : ""}
        </CardDescription>
      </CardHeader>
      <CardContent className="px-4">
        {error ? (
          <p className="text-destructive mb-2 text-sm" role="alert">
            The connected clients could not be read: {error}
          </p>
        ) : null}
        {data ? <ConnectedClientsTable answer={data} /> : !error ? <p className="text-muted-foreground text-sm">Loading…</p> : null}
      </CardContent>
    </Card>
  );
}
