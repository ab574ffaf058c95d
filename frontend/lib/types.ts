// Shapes of the mdhub web API (docs/api.md at the repository root is the contract).
// tests/openapi-contract.test.ts checks these against the OpenAPI schema the server
// generates (`manage.py spectacular`): every enum below and every field of the documents.

export const GATEWAY_TYPES = ["ctp", "sopt", "sim"] as const;
export type GatewayType = (typeof GATEWAY_TYPES)[number];

export const SETTING_KINDS = ["text", "secret", "address", "number", "fraction"] as const;
export type SettingKind = (typeof SETTING_KINDS)[number];

/** One setting a gateway type takes (GET /api/gateway-types; accounts/gateway_settings.py). */
export interface SettingSpec {
  name: string;
  label: string;
  kind: SettingKind;
  required: boolean;
  help: string;
}

export interface GatewayTypeInfo {
  gateway_type: GatewayType;
  label: string;
  /** In the order a form shows them. */
  settings: SettingSpec[];
}

export interface User {
  username: string;
  is_staff: boolean;
}

export interface Account {
  id: string;
  gateway_type: GatewayType;
  /** Public settings only: the API never returns `password` or `authCode`. */
  settings: Record<string, unknown>;
  /** Which secrets are stored, e.g. {"password": true, "authCode": false}. */
  secrets_set: Record<string, boolean>;
  priority: number;
  is_enabled: boolean;
  description: string;
  canaries: string[];
  created_at: string;
  updated_at: string;
}

/** What create/update sends: secrets may be included (blank or absent keeps the stored one). */
export interface AccountInput {
  id?: string;
  gateway_type?: GatewayType;
  settings?: Record<string, unknown>;
  priority?: number | string;
  is_enabled?: boolean;
  description?: string;
  canaries?: string[];
}

export interface Paged<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export const GATEWAY_STATES = [
  "stopped",
  "starting",
  "connected",
  "healthy",
  "stale",
  "disconnected",
  "unhealthy",
  "restarting",
  "failed",
] as const;

export type GatewayState = (typeof GATEWAY_STATES)[number];

export interface GatewayStatus {
  id: string;
  gateway_type: GatewayType;
  priority: number;
  is_enabled: boolean;
  state: GatewayState;
  state_reason: string;
  state_since: number | null;
  is_primary: boolean;
  /** null: no worker process (stopped, between restarts). */
  pid: number | null;
  /** Ticks per second received from this source. */
  tick_rate: number | null;
  /** Seconds since the last tick, null when none yet. */
  last_tick_age: number | null;
  /** Canary vt_symbol → seconds since its last tick (null: none yet). */
  canaries: Record<string, number | null>;
  /** Share (0..1) of forwarded ticks this source delivered first. */
  first_share: number | null;
  latency_ms: { p50: number | null; p99: number | null } | null;
  restarts: number;
  drops?: Record<string, number>;
}

export const ENGINE_STATES = ["online", "offline"] as const;
export type EngineState = (typeof ENGINE_STATES)[number];

/** A data service the hub supervises (bars, greeks): not a source. */
export interface ServiceStatus {
  /** Its account, svc-<service>: the source of its records. */
  id: string;
  service: string;
  state: GatewayState;
  state_reason: string;
  state_since: number | null;
  pid: number | null;
  restarts: number;
  last_heartbeat_age: number | null;
  ticks: number;
  records: number;
  forwarded: number;
  dropped: number;
  handler_errors: number;
}

export interface GatewaysSnapshot {
  engine: EngineState;
  updated_at: number | null;
  mode: string | null;
  primary: string | null;
  gateways: GatewayStatus[];
  /** Absent while the engine is offline. */
  services?: ServiceStatus[];
  /** The JetStream bridges beside the hub; absent while the engine is offline. */
  bridges?: BridgeStatus[];
}

/** A JetStream bridge beside the hub (docs/jetstream.md), from its status file. */
export interface BridgeStatus {
  name: string;
  hub: string;
  stream: string;
  /** False when its status is older than 3 s: the bridge is down. */
  online: boolean;
  /** Connected to NATS (false while offline). */
  connected: boolean;
  /** Its buffer filled: it let go of the hub and resumes from the journal. */
  behind_hub: boolean;
  /** Seconds the oldest tick not yet stored has waited; 0 when all is stored. */
  lag_s: number;
  age_s: number;
  read: number;
  sent: number;
  stored: number;
  duplicates: number;
  failures: number;
  resent: number;
  bad: number;
  buffered: number;
  inflight: number;
  hub_let_go: number;
  hub_gaps: number;
}

export const GATEWAY_COMMANDS = ["start", "stop", "restart"] as const;
export type GatewayCommand = (typeof GATEWAY_COMMANDS)[number];

export interface CommandAccepted {
  accepted: boolean;
  command: GatewayCommand;
  account: string;
}

export const LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogRecord {
  /** Epoch seconds (float). */
  ts: number;
  level: LogLevel | string;
  /** Account the record came from; null/empty for the hub itself. */
  account: string | null;
  logger: string;
  msg: string;
}

export const EVENT_KINDS = ["state", "failover", "restart", "command"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface HubEvent {
  id: number;
  ts: number;
  account: string | null;
  kind: EventKind;
  state_from: string | null;
  state_to: string | null;
  reason: string;
}

export interface Failover {
  from: string | null;
  to: string | null;
  reason: string;
  ts: number;
}

/** Frames the server sends on /ws/. */
export type HubFrame =
  | ({ type: "gateway.status" } & GatewaysSnapshot)
  | ({ type: "hub.failover" } & Failover)
  | { type: "hub.log"; records: LogRecord[] }
  | { type: "hub.metrics"; [key: string]: unknown }
  | { type: "hub.event"; event: HubEvent }
  | { type: "error"; detail: string }
  | { type: "engine.offline" };

/** Frames the client may send on /ws/. */
export type ClientFrame = { type: "logs.filter"; level: LogLevel };

// --- where each source's speed comes from (/api/sources/*, /api/contracts) ---------------

export const SESSIONS = ["day", "night"] as const;
export type Session = (typeof SESSIONS)[number];

export interface SpeedRow {
  source: string;
  exchange: string;
  product: string;
  session: Session;
  copies: number;
  first: number;
  late: number;
  too_late: number;
  first_share: number;
  late_p50_ms: number | null;
  late_p99_ms: number | null;
  late_hist: number[][];
}

export interface Fastest {
  exchange: string;
  product: string;
  session: Session;
  source: string;
  first_share: number;
  runner_up: string | null;
  runner_up_late_p50_ms: number | null;
}

export interface SpeedAnswer {
  engine: EngineState;
  updated_at: number | null;
  session: Session | null;
  rows: SpeedRow[];
  fastest: Fastest[];
}

export interface HistoryValue {
  tick_rate: number | null;
  latency_p50_ms: number | null;
  latency_p99_ms: number | null;
  first_share: number | null;
  state: string;
}

export interface HistoryPoint {
  ts: number;
  values: Record<string, HistoryValue>;
}

export interface HistoryAnswer {
  step_seconds: number;
  sources: string[];
  points: HistoryPoint[];
}

export interface Segment {
  state: GatewayState;
  start: number;
  end: number;
  reason: string;
}

export interface SourceTimeline {
  id: string;
  segments: Segment[];
}

export interface TimelineAnswer {
  since: number;
  until: number;
  truncated: boolean;
  sources: SourceTimeline[];
}

export interface ContractSource {
  source: string;
  first: number;
  late: number;
  late_p50_ms: number | null;
}

export interface ContractRow {
  vt_symbol: string;
  exchange: string;
  product: string;
  last_price: number | null;
  exchange_time: number | null;
  received_at: number | null;
  seq: number;
  winner: string;
  sources: ContractSource[];
}

/** GET /api/bars: a contract's recent closed bars (bar. records), oldest first. */
export interface Bar {
  datetime: number; // bar start, epoch ns
  end: number;
  open_price: number;
  high_price: number;
  low_price: number;
  close_price: number;
  volume: number;
  flat: boolean;
  complete: boolean;
}

export interface Bars {
  hub: "online" | "offline";
  symbol: string;
  interval: string;
  bars: Bar[];
}

/** GET /api/smile: an underlying's IV by strike per expiry (greeks. records). */
export interface SmilePoint {
  strike: number;
  call_iv: number | null;
  put_iv: number | null;
  call: string | null;
  put: string | null;
  call_reason: string | null; // why the call has no IV (the Greeks service's words)
  put_reason: string | null;
}

export interface SmileExpiry {
  expiry: string;
  days_to_expiry: number | null;
  forward: number | null;
  points: SmilePoint[];
}

export interface Smile {
  hub: "online" | "offline";
  underlying: string;
  expiries: SmileExpiry[];
}

/** GET /api/recording: one recorded trading day (docs/recording.md). */
export interface RecordedDay {
  day: string; // trading day, YYYY-MM-DD
  bytes: number;
  ticks: number | null;
  holes: number | null;
}

/** GET /api/recording: the recording's trading days and disk use. */
export interface Recording {
  days: number;
  bytes: number;
  first_day: string | null;
  last_day: string | null;
  retention_days: number;
  recorded: RecordedDay[];
}

// --- who may read the stream (docs/access.md) --------------------------------------------

/** GET/POST /api/stream-clients: a client of the tick stream, its CURVE key, entitlements and quotas. */
export interface StreamClient {
  name: string;
  public_key: string;
  /** Only in the answer that created the key pair; null ever after (it is not stored). */
  secret_key: string | null;
  is_enabled: boolean;
  /** Topic prefixes it may read, e.g. ["tick.rb", "tick.au"]. */
  prefixes: string[];
  max_subscriptions: number;
  max_upstream: number;
  requests_per_second: number;
  description: string;
  created_at: string;
  updated_at: string;
}

/** What create/update sends; no public_key at creation: the hub makes the pair. */
export interface StreamClientInput {
  name?: string;
  public_key?: string;
  is_enabled?: boolean;
  prefixes?: string[];
  max_subscriptions?: number | string;
  max_upstream?: number | string;
  requests_per_second?: number | string;
  description?: string;
}

/** GET /api/stream-clients/connected: one client the running hub has seen. */
export interface ConnectedStreamClient {
  name: string;
  enabled: boolean;
  addresses: string[];
  connections: number;
  /** From its hosts: clients on one host share this count. */
  open_connections: number;
  /** At most 100; conflated ones read conflated:<prefix>. */
  subscriptions: string[];
  subscription_count: number;
  upstream: number;
  refused_subscriptions: number;
  requests: number;
  refused_requests: number;
  quota_refusals: number;
  drops: number;
  /** 0: it reads every tick. */
  conflation_ms: number;
  /** Epoch seconds. */
  last_activity: number;
}

export interface ConnectedStreamClients {
  engine: EngineState;
  /** False: the hub runs without CURVE and does not know its readers. */
  curve: boolean;
  updated_at: number | null;
  clients: ConnectedStreamClient[];
}
