import type { GatewayStatus, GatewaysSnapshot, LogRecord } from "@/lib/types";

/** A healthy sim source; override what the test is about. */
export function gateway(overrides: Partial<GatewayStatus> = {}): GatewayStatus {
  return {
    id: "sim-a",
    gateway_type: "sim",
    priority: 10,
    is_enabled: true,
    state: "healthy",
    state_reason: "canary ticks flowing",
    state_since: 1763690000,
    is_primary: false,
    pid: 1001,
    tick_rate: 120.5,
    last_tick_age: 0.2,
    canaries: { "rb2501.SHFE": 0.4 },
    first_share: 0.5,
    latency_ms: { p50: 0.3, p99: 1.2 },
    restarts: 0,
    drops: {},
    ...overrides,
  };
}

export function snapshot(gateways: GatewayStatus[], overrides: Partial<GatewaysSnapshot> = {}): GatewaysSnapshot {
  return { engine: "online", updated_at: 1763690001, mode: "hot", primary: gateways[0]?.id ?? null, gateways, ...overrides };
}

let clock = 1763690000;

export function record(overrides: Partial<LogRecord> = {}): LogRecord {
  clock += 0.001;
  return { ts: clock, level: "INFO", account: "sim-a", logger: "mdhub.hub", msg: `line ${clock.toFixed(3)}`, ...overrides };
}
