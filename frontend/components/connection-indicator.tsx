"use client";

import { cn } from "@/lib/utils";
import { useGatewaysStore } from "@/stores/gateways";

const LABELS = {
  open: { text: "Live", dot: "bg-emerald-400", help: "Live updates connected." },
  connecting: { text: "Connecting…", dot: "bg-amber-400 animate-pulse", help: "Connecting to live updates." },
  closed: { text: "Reconnecting…", dot: "bg-red-400", help: "Live updates lost; reconnecting by itself." },
} as const;

/** The WebSocket's state: whether what the screens show is live. */
export function ConnectionIndicator() {
  const socket = useGatewaysStore((state) => state.socket);
  const label = LABELS[socket];
  return (
    <span
      className="text-muted-foreground flex items-center gap-2 text-sm"
      role="status"
      title={label.help}
      data-testid="socket-state"
      data-state={socket}
    >
      <span className={cn("inline-block size-2 rounded-full", label.dot)} aria-hidden="true" />
      {label.text}
    </span>
  );
}
