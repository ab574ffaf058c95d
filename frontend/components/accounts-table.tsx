"use client";

import { Pencil, Plus, RefreshCw, TriangleAlert } from "lucide-react";
import { useEffect, useState } from "react";
import { toast } from "sonner";

import { AccountFormDialog } from "@/components/account-form-dialog";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { Switch } from "@/components/ui/switch";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import type { Account } from "@/lib/types";
import { cn } from "@/lib/utils";
import { useAccountsStore } from "@/stores/accounts";
import { selectIsOperator, useSessionStore } from "@/stores/session";

/** The few settings that identify an account at a glance (never a secret). */
function settingsSummary(account: Account): string {
  const s = account.settings ?? {};
  if (account.gateway_type === "sim") {
    const parts = [
      s.latency_ms !== undefined ? `latency ${s.latency_ms} ms` : null,
      s.jitter_ms !== undefined ? `jitter ${s.jitter_ms} ms` : null,
      s.loss !== undefined ? `loss ${s.loss}` : null,
      s.exchange ? String(s.exchange) : null,
    ].filter(Boolean);
    return parts.join(" · ") || "defaults";
  }
  return [s.brokerID ? `broker ${s.brokerID}` : null, s.userID ? `user ${s.userID}` : null, s.mdAddress ? String(s.mdAddress) : null]
    .filter(Boolean)
    .join(" · ");
}

function SecretsCell({ secrets }: { secrets: Record<string, boolean> }) {
  const entries = Object.entries(secrets ?? {});
  if (entries.length === 0) return <span className="text-muted-foreground">–</span>;
  return (
    <ul className="flex flex-col gap-0.5 text-xs">
      {entries.map(([name, isSet]) => (
        <li key={name}>
          {name}: <span className={isSet ? "text-emerald-300" : "text-amber-300"}>{isSet ? "set" : "not set"}</span>
        </li>
      ))}
    </ul>
  );
}

function EnableSwitch({ account, disabled }: { account: Account; disabled: boolean }) {
  const setEnabled = useAccountsStore((state) => state.setEnabled);
  const busy = useAccountsStore((state) => Boolean(state.toggling[account.id]));
  async function onChange(checked: boolean) {
    try {
      await setEnabled(account.id, checked);
      toast.success(checked ? `${account.id} enabled: the hub starts it.` : `${account.id} disabled: the hub stops it.`);
    } catch (error) {
      toast.error(`Could not ${checked ? "enable" : "disable"} ${account.id}: ${(error as Error).message}`);
    }
  }
  return (
    <div className="flex items-center gap-2">
      <Switch
        checked={account.is_enabled}
        onCheckedChange={onChange}
        disabled={disabled || busy}
        aria-label={`Enable ${account.id}`}
        data-testid={`enable-${account.id}`}
      />
      <span className={cn("text-xs", account.is_enabled ? "text-emerald-300" : "text-muted-foreground")} aria-hidden="true">
        {account.is_enabled ? "on" : "off"}
      </span>
    </div>
  );
}

/** All accounts: enable toggles, priority, create and edit. */
export function AccountsTable() {
  const accounts = useAccountsStore((state) => state.accounts);
  const loaded = useAccountsStore((state) => state.loaded);
  const loadError = useAccountsStore((state) => state.loadError);
  const load = useAccountsStore((state) => state.load);
  const isOperator = useSessionStore(selectIsOperator);
  const [editing, setEditing] = useState<Account | null>(null);
  const [dialogOpen, setDialogOpen] = useState(false);

  useEffect(() => {
    void load();
  }, [load]);

  function openEditor(account: Account | null) {
    setEditing(account);
    setDialogOpen(true);
  }

  return (
    <>
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">Accounts</h1>
        <div className="flex items-center gap-2">
          <Button variant="outline" size="sm" onClick={() => void load()}>
            <RefreshCw aria-hidden="true" />
            Reload
          </Button>
          {isOperator ? (
            <Button size="sm" onClick={() => openEditor(null)}>
              <Plus aria-hidden="true" />
              New account
            </Button>
          ) : null}
        </div>
      </div>
      {!isOperator ? (
        <p className="text-muted-foreground text-sm">You are a viewer: only operators (staff users) can change accounts.</p>
      ) : null}

      {loadError ? (
        <Alert className="border-amber-500/40 text-amber-200">
          <TriangleAlert aria-hidden="true" />
          <AlertTitle>Accounts could not be loaded</AlertTitle>
          <AlertDescription className="text-amber-100/90">{loadError}</AlertDescription>
        </Alert>
      ) : null}

      <Card className="py-2">
        <CardContent className="px-2">
          <Table aria-label="Accounts">
            <TableHeader>
              <TableRow>
                <TableHead scope="col">Account</TableHead>
                <TableHead scope="col">Type</TableHead>
                <TableHead scope="col" className="text-right">
                  Priority
                </TableHead>
                <TableHead scope="col">Enabled</TableHead>
                <TableHead scope="col">Settings</TableHead>
                <TableHead scope="col">Secrets</TableHead>
                <TableHead scope="col">Canaries</TableHead>
                <TableHead scope="col" className="text-right">
                  <span className="sr-only">Actions</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {!loaded
                ? Array.from({ length: 3 }, (_, index) => (
                    <TableRow key={`skeleton-${index}`}>
                      <TableCell colSpan={8}>
                        <Skeleton className="h-6 w-full" />
                      </TableCell>
                    </TableRow>
                  ))
                : null}
              {loaded && accounts.length === 0 && !loadError ? (
                <TableRow>
                  <TableCell colSpan={8} className="text-muted-foreground py-8 text-center">
                    No accounts yet{isOperator ? ": create one with “New account”." : "."}
                  </TableCell>
                </TableRow>
              ) : null}
              {accounts.map((account) => (
                <TableRow key={account.id} data-testid={`account-row-${account.id}`} data-enabled={account.is_enabled}>
                  <TableCell className="max-w-72 whitespace-normal">
                    <div className="font-medium">{account.id}</div>
                    {account.description ? (
                      <div className="text-muted-foreground line-clamp-2 text-xs">{account.description}</div>
                    ) : null}
                  </TableCell>
                  <TableCell className="font-mono text-xs uppercase">{account.gateway_type}</TableCell>
                  <TableCell className="text-right tabular-nums">{account.priority}</TableCell>
                  <TableCell>
                    <EnableSwitch account={account} disabled={!isOperator} />
                  </TableCell>
                  <TableCell className="text-muted-foreground max-w-80 truncate font-mono text-xs" title={settingsSummary(account)}>
                    {settingsSummary(account)}
                  </TableCell>
                  <TableCell>
                    <SecretsCell secrets={account.secrets_set} />
                  </TableCell>
                  <TableCell className="font-mono text-xs whitespace-normal">
                    {account.canaries?.length ? account.canaries.join(", ") : <span className="text-muted-foreground">none</span>}
                  </TableCell>
                  <TableCell className="text-right">
                    <Button variant="ghost" size="sm" onClick={() => openEditor(account)} data-testid={`edit-${account.id}`}>
                      <Pencil aria-hidden="true" />
                      {isOperator ? "Edit" : "View"}
                      <span className="sr-only"> {account.id}</span>
                    </Button>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </CardContent>
      </Card>

      <AccountFormDialog open={dialogOpen} onOpenChange={setDialogOpen} account={editing} readOnly={!isOperator} />
    </>
  );
}
