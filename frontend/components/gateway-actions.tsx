"use client";

import { Loader2, Play, RotateCw, Square } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";

import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogHeader,
  AlertDialogTitle,
} from "@/components/ui/alert-dialog";
import { Button } from "@/components/ui/button";
import { gatewayCommand } from "@/lib/api";
import type { GatewayCommand, GatewayStatus } from "@/lib/types";
import { useGatewaysStore } from "@/stores/gateways";
import { selectIsOperator, useSessionStore } from "@/stores/session";

const COPY: Record<GatewayCommand, { verb: string; doing: string; title: (id: string) => string; body: string }> = {
  start: {
    verb: "Start",
    doing: "Starting…",
    title: (id) => `Start ${id}?`,
    body: "The hub launches a fresh worker process for this source and logs it in.",
  },
  stop: {
    verb: "Stop",
    doing: "Stopping…",
    title: (id) => `Stop ${id}?`,
    body:
      "The worker process is terminated and the source stops delivering ticks. If it is the primary, the next healthy source takes over. It stays stopped until you start it again.",
  },
  restart: {
    verb: "Restart",
    doing: "Restarting…",
    title: (id) => `Hard-restart ${id}?`,
    body:
      "The worker process is terminated (SIGTERM, then SIGKILL after a grace period) and a fresh one is launched and logged in. Ticks from this source pause meanwhile; other sources keep the stream going.",
  },
};

const ICONS: Record<GatewayCommand, typeof Play> = { start: Play, stop: Square, restart: RotateCw };

/** Which buttons make sense in a state. */
export function allowedCommands(gateway: Pick<GatewayStatus, "state">): Record<GatewayCommand, boolean> {
  const stopped = gateway.state === "stopped";
  return {
    start: stopped || gateway.state === "failed",
    stop: !stopped,
    restart: !stopped,
  };
}

/** Start / Stop / Hard restart for one source, each behind a confirmation. */
export function GatewayActions({ gateway }: { gateway: GatewayStatus }) {
  const [confirming, setConfirming] = useState<GatewayCommand | null>(null);
  const pending = useGatewaysStore((state) => state.pending[gateway.id]);
  const engine = useGatewaysStore((state) => state.engine);
  const isOperator = useSessionStore(selectIsOperator);
  const allowed = allowedCommands(gateway);

  async function run(command: GatewayCommand) {
    const store = useGatewaysStore.getState();
    store.markPending(gateway.id, command);
    try {
      await gatewayCommand(gateway.id, command);
      toast.success(`${COPY[command].verb} of ${gateway.id} accepted: waiting for the hub.`);
    } catch (error) {
      useGatewaysStore.getState().clearPending(gateway.id);
      toast.error(`${COPY[command].verb} of ${gateway.id} failed: ${(error as Error).message}`);
    }
  }

  const blockedReason = !isOperator
    ? "Operators (staff users) only."
    : engine === "offline"
      ? "The hub engine is offline."
      : null;

  return (
    <div className="flex items-center justify-end gap-1.5" role="group" aria-label={`Controls for ${gateway.id}`}>
      {(Object.keys(COPY) as GatewayCommand[]).map((command) => {
        const Icon = ICONS[command];
        const busy = pending?.command === command;
        const disabled = Boolean(blockedReason) || Boolean(pending) || !allowed[command];
        return (
          <Button
            key={command}
            size="sm"
            variant={command === "restart" ? "secondary" : "outline"}
            disabled={disabled}
            title={blockedReason ?? undefined}
            onClick={() => setConfirming(command)}
            data-testid={`${command}-${gateway.id}`}
          >
            {busy ? <Loader2 className="animate-spin" aria-hidden="true" /> : <Icon aria-hidden="true" />}
            {busy ? COPY[command].doing : COPY[command].verb}
            <span className="sr-only"> {gateway.id}</span>
          </Button>
        );
      })}
      <AlertDialog open={confirming !== null} onOpenChange={(open) => !open && setConfirming(null)}>
        <AlertDialogContent>
          {confirming ? (
            <>
              <AlertDialogHeader>
                <AlertDialogTitle>{COPY[confirming].title(gateway.id)}</AlertDialogTitle>
                <AlertDialogDescription>{COPY[confirming].body}</AlertDialogDescription>
              </AlertDialogHeader>
              <AlertDialogFooter>
                <AlertDialogCancel>Cancel</AlertDialogCancel>
                <AlertDialogAction
                  className={confirming === "start" ? undefined : "bg-red-600 text-white hover:bg-red-700"}
                  onClick={() => {
                    const command = confirming;
                    setConfirming(null);
                    void run(command);
                  }}
                >
                  {confirming === "restart" ? "Hard restart" : COPY[confirming].verb}
                </AlertDialogAction>
              </AlertDialogFooter>
            </>
          ) : null}
        </AlertDialogContent>
      </AlertDialog>
    </div>
  );
}
