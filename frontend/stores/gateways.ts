import { create } from "zustand";

import {
  GATEWAY_STATES,
  type BridgeStatus,
  type EngineState,
  type Failover,
  type GatewayCommand,
  type GatewayState,
  type GatewayStatus,
  type GatewaysSnapshot,
  type HubEvent,
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

export interface StateChange {
  state: GatewayState;
  reason: string;
  /** Hub clock, epoch seconds. */
  ts: number;
}

export interface GatewaysState {
  engine: EngineState | "unknown";
  mode: string | null;
  primary: string | null;
  /** Hub clock of the last snapshot (epoch seconds). */
  updatedAt: number | null;
  gateways: GatewayStatus[];
  /** The JetStream bridges beside the hub (empty while the engine is offline). */
  bridges: BridgeStatus[];
  /** An initial snapshot (API or socket), or the socket's engine.offline, has arrived. */
  loaded: boolean;
  /** A gateway.status frame from the socket has been applied: the API answer is older. */
  live: boolean;
  loadError: string | null;
  socket: SocketState;
  pending: Record<string, PendingCommand>;
  /** Most recent first, at most MAX_FAILOVERS. */
  failovers: Failover[];
  metrics: Record<string, unknown> | null;
  /**
   * State changes from hub.event frames newer than the last snapshot, per source. The hub
   * sends them as they happen, the snapshot only every second: a brief state (restarting)
   * shows only thanks to them, and a snapshot taken before the change must not undo it.
   */
  stateChanges: Record<string, StateChange>;

  /** A gateway.status frame from the socket: the newest state there is. */
  applySnapshot: (snapshot: GatewaysSnapshot) => void;
  /**
   * The GET /api/gateways answer at start-up. Ignored once a socket snapshot arrived (that
   * is at least as new). After the socket's engine.offline (which carries no sources) it
   * still fills in the sources the server lists, but the engine stays offline.
   */
  applyInitialSnapshot: (snapshot: GatewaysSnapshot) => void;
  setEngineOffline: () => void;
  /** A hub.event frame: a state change of one source shows at once. */
  applyEvent: (event: HubEvent) => void;
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

export const useGatewaysStore = create<GatewaysState>()((set, get) => {
  const applyGateways = (snapshot: GatewaysSnapshot): void => {
    // A state change seen in a hub.event after this snapshot was taken is newer: keep it.
    const taken = snapshot.updated_at ?? 0;
    const stateChanges: Record<string, StateChange> = {};
    const gateways = (snapshot.gateways ?? [])
      .map((gateway) => {
        const change = get().stateChanges[gateway.id];
        if (!change || change.ts <= taken || change.ts <= (gateway.state_since ?? 0)) return gateway;
        stateChanges[gateway.id] = change;
        return { ...gateway, state: change.state, state_reason: change.reason, state_since: change.ts };
      })
      .sort((a, b) => a.priority - b.priority || a.id.localeCompare(b.id));
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
      bridges: snapshot.bridges ?? [],
      loaded: true,
      loadError: null,
      pending,
      stateChanges,
    });
  };

  return {
    engine: "unknown",
    mode: null,
    primary: null,
    updatedAt: null,
    gateways: [],
    bridges: [],
    loaded: false,
    live: false,
    loadError: null,
    socket: "closed",
    pending: {},
    failovers: [],
    metrics: null,
    stateChanges: {},

    applySnapshot(snapshot) {
      applyGateways(snapshot);
      set({ live: true });
    },

    applyInitialSnapshot(snapshot) {
      if (get().live) return;
      const offline = get().engine === "offline";
      applyGateways(snapshot);
      if (offline) set({ engine: "offline" });
    },

    setEngineOffline() {
      set({ engine: "offline", loaded: true, bridges: [] });
    },

    applyEvent(event) {
      if (!event || event.kind !== "state" || !event.account || typeof event.ts !== "number") return;
      const state = event.state_to as GatewayState | null;
      if (!state || !GATEWAY_STATES.includes(state)) return;
      const id = event.account;
      const current = get().gateways.find((gateway) => gateway.id === id);
      // Unknown source: the next snapshot lists it. Older than what is shown: nothing new.
      if (!current || event.ts < (current.state_since ?? 0)) return;
      const known = get().stateChanges[id];
      if (known && known.ts > event.ts) return;
      const change: StateChange = { state, reason: event.reason ?? "", ts: event.ts };
      const { [id]: _acted, ...pending } = get().pending; // the hub acted on it
      set({
        gateways: get().gateways.map((gateway) =>
          gateway.id === id ? { ...gateway, state, state_reason: change.reason, state_since: change.ts } : gateway,
        ),
        stateChanges: { ...get().stateChanges, [id]: change },
        pending,
      });
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
  };
});

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
