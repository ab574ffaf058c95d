import { create } from "zustand";

import type {
  EngineState,
  Failover,
  GatewayCommand,
  GatewayState,
  GatewayStatus,
  GatewaysSnapshot,
} from "@/lib/types";

export type SocketState = "connecting" | "open" | "closed";

/** A start/stop/restart the user asked for whose effect has not shown up yet. */
export interface PendingCommand {
  command: GatewayCommand;
  /** ms since epoch, when the command was sent. */
  since: number;
  /** What the source looked like then; any change of it means the hub acted. */
  fingerprint: string;
}

export interface GatewaysState {
  engine: EngineState | "unknown";
  mode: string | null;
  primary: string | null;
  /** Hub clock of the last snapshot (epoch seconds). */
  updatedAt: number | null;
  gateways: GatewayStatus[];
  /** An initial snapshot (API or socket) has arrived. */
  loaded: boolean;
  loadError: string | null;
  socket: SocketState;
  pending: Record<string, PendingCommand>;
  /** Most recent first, at most MAX_FAILOVERS. */
  failovers: Failover[];
  metrics: Record<string, unknown> | null;

  applySnapshot: (snapshot: GatewaysSnapshot) => void;
  setEngineOffline: () => void;
  setLoadError: (message: string | null) => void;
  setSocketState: (state: SocketState) => void;
  markPending: (id: string, command: GatewayCommand, now?: number) => void;
  clearPending: (id: string) => void;
  /** Forget commands older than PENDING_TIMEOUT_MS (the hub never reacted). */
  expirePending: (now?: number) => string[];
  addFailover: (failover: Failover) => void;
  setMetrics: (metrics: Record<string, unknown>) => void;
}

export const MAX_FAILOVERS = 20;
export const PENDING_TIMEOUT_MS = 30_000;

function fingerprint(gateway: GatewayStatus | undefined): string {
  if (!gateway) return "absent";
  return [gateway.state, gateway.state_since ?? "", gateway.pid ?? "", gateway.restarts].join("|");
}

export const useGatewaysStore = create<GatewaysState>()((set, get) => ({
  engine: "unknown",
  mode: null,
  primary: null,
  updatedAt: null,
  gateways: [],
  loaded: false,
  loadError: null,
  socket: "closed",
  pending: {},
  failovers: [],
  metrics: null,

  applySnapshot(snapshot) {
    const gateways = [...(snapshot.gateways ?? [])].sort(
      (a, b) => a.priority - b.priority || a.id.localeCompare(b.id),
    );
    const byId = new Map(gateways.map((gateway) => [gateway.id, gateway]));
    const pending: Record<string, PendingCommand> = {};
    for (const [id, entry] of Object.entries(get().pending)) {
      // Keep waiting only while the source looks exactly as it did when we asked.
      if (fingerprint(byId.get(id)) === entry.fingerprint) pending[id] = entry;
    }
    set({
      engine: snapshot.engine ?? "online",
      mode: snapshot.mode ?? get().mode,
      primary: snapshot.primary ?? null,
      updatedAt: snapshot.updated_at ?? get().updatedAt,
      gateways,
      loaded: true,
      loadError: null,
      pending,
    });
  },

  setEngineOffline() {
    set({ engine: "offline", loaded: true });
  },

  setLoadError(message) {
    set({ loadError: message });
  },

  setSocketState(socket) {
    set({ socket });
  },

  markPending(id, command, now = Date.now()) {
    const gateway = get().gateways.find((item) => item.id === id);
    set({
      pending: { ...get().pending, [id]: { command, since: now, fingerprint: fingerprint(gateway) } },
    });
  },

  clearPending(id) {
    const { [id]: _dropped, ...rest } = get().pending;
    set({ pending: rest });
  },

  expirePending(now = Date.now()) {
    const expired: string[] = [];
    const pending: Record<string, PendingCommand> = {};
    for (const [id, entry] of Object.entries(get().pending)) {
      if (now - entry.since > PENDING_TIMEOUT_MS) expired.push(id);
      else pending[id] = entry;
    }
    if (expired.length) set({ pending });
    return expired;
  },

  addFailover(failover) {
    set({ failovers: [failover, ...get().failovers].slice(0, MAX_FAILOVERS) });
  },

  setMetrics(metrics) {
    set({ metrics });
  },
}));

/** States that deserve a look: the status page links them to their WARNING+ logs. */
export const TROUBLED_STATES: ReadonlySet<GatewayState> = new Set<GatewayState>([
  "stale",
  "disconnected",
  "unhealthy",
  "failed",
]);

export function isTroubled(gateway: Pick<GatewayStatus, "state">): boolean {
  return TROUBLED_STATES.has(gateway.state);
}
