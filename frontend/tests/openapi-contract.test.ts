// lib/types.ts checked against the OpenAPI schema the server generates: the enums (states,
// commands, event kinds, gateway types, setting kinds) and every field of the documents the
// dashboard reads, with whether it may be absent or null. A server change that the types
// do not follow fails here, not in an operator's browser.
//
// Each `*_FIELDS` table below is checked twice: by the TypeScript compiler against the
// interface (`npm run typecheck`: a field added, dropped or made optional/nullable there
// without changing the table is a type error) and by this test against the schema.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  ENGINE_STATES,
  EVENT_KINDS,
  GATEWAY_COMMANDS,
  GATEWAY_STATES,
  GATEWAY_TYPES,
  SETTING_KINDS,
  type Account,
  type BridgeStatus,
  type Bar,
  type Bars,
  type RecordedDay,
  type Recording,
  type Smile,
  type SmileExpiry,
  type SmilePoint,
  type CommandAccepted,
  type GatewayStatus,
  type GatewayTypeInfo,
  type GatewaysSnapshot,
  type ServiceStatus,
  type HubEvent,
  type LogRecord,
  type SettingSpec,
  type ConnectedStreamClient,
  type ConnectedStreamClients,
  type StreamClient,
  type User,
} from "@/lib/types";

type Presence = "required" | "optional" | "required|null" | "optional|null";

/** What each field of T is, computed from the interface: the table must say the same. */
type FieldTable<T> = {
  [K in keyof T]-?: `${{} extends Pick<T, K> ? "optional" : "required"}${null extends T[K] ? "|null" : ""}`;
};

const GATEWAY_STATUS_FIELDS = {
  id: "required",
  gateway_type: "required",
  priority: "required",
  is_enabled: "required",
  state: "required",
  state_reason: "required",
  state_since: "required|null",
  is_primary: "required",
  pid: "required|null",
  tick_rate: "required|null",
  last_tick_age: "required|null",
  canaries: "required",
  first_share: "required|null",
  latency_ms: "required|null",
  restarts: "required",
  drops: "optional",
} as const satisfies FieldTable<GatewayStatus>;

const GATEWAYS_SNAPSHOT_FIELDS = {
  engine: "required",
  updated_at: "required|null",
  mode: "required|null",
  primary: "required|null",
  gateways: "required",
  services: "optional",
  bridges: "optional",
} as const satisfies FieldTable<GatewaysSnapshot>;

const BRIDGE_STATUS_FIELDS = {
  name: "required",
  hub: "required",
  stream: "required",
  online: "required",
  connected: "required",
  behind_hub: "required",
  lag_s: "required",
  age_s: "required",
  read: "required",
  sent: "required",
  stored: "required",
  duplicates: "required",
  failures: "required",
  resent: "required",
  bad: "required",
  buffered: "required",
  inflight: "required",
  hub_let_go: "required",
  hub_gaps: "required",
} as const satisfies FieldTable<BridgeStatus>;

const SERVICE_STATUS_FIELDS = {
  id: "required",
  service: "required",
  state: "required",
  state_reason: "required",
  state_since: "required|null",
  pid: "required|null",
  restarts: "required",
  last_heartbeat_age: "required|null",
  ticks: "required",
  records: "required",
  forwarded: "required",
  dropped: "required",
  handler_errors: "required",
} as const satisfies FieldTable<ServiceStatus>;

const ACCOUNT_FIELDS = {
  id: "required",
  gateway_type: "required",
  settings: "required",
  secrets_set: "required",
  priority: "required",
  is_enabled: "required",
  description: "required",
  canaries: "required",
  created_at: "required",
  updated_at: "required",
} as const satisfies FieldTable<Account>;

const EVENT_FIELDS = {
  id: "required",
  ts: "required",
  account: "required|null",
  kind: "required",
  state_from: "required|null",
  state_to: "required|null",
  reason: "required",
} as const satisfies FieldTable<HubEvent>;

const LOG_RECORD_FIELDS = {
  ts: "required",
  level: "required",
  account: "required|null",
  logger: "required",
  msg: "required",
} as const satisfies FieldTable<LogRecord>;

const COMMAND_ACCEPTED_FIELDS = {
  accepted: "required",
  command: "required",
  account: "required",
} as const satisfies FieldTable<CommandAccepted>;

const GATEWAY_TYPE_FIELDS = {
  gateway_type: "required",
  label: "required",
  settings: "required",
} as const satisfies FieldTable<GatewayTypeInfo>;

const SETTING_SPEC_FIELDS = {
  name: "required",
  label: "required",
  kind: "required",
  required: "required",
  help: "required",
} as const satisfies FieldTable<SettingSpec>;

const USER_FIELDS = { username: "required", is_staff: "required" } as const satisfies FieldTable<User>;

const BAR_FIELDS = {
  datetime: "required",
  end: "required",
  open_price: "required",
  high_price: "required",
  low_price: "required",
  close_price: "required",
  volume: "required",
  flat: "required",
  complete: "required",
} as const satisfies FieldTable<Bar>;
const RECORDED_DAY_FIELDS = { day: "required", bytes: "required", ticks: "required|null", holes: "required|null" } as const satisfies FieldTable<RecordedDay>;
const RECORDING_FIELDS = {
  days: "required",
  bytes: "required",
  first_day: "required|null",
  last_day: "required|null",
  retention_days: "required",
  recorded: "required",
} as const satisfies FieldTable<Recording>;
const BARS_FIELDS = { hub: "required", symbol: "required", interval: "required", bars: "required" } as const satisfies FieldTable<Bars>;
const SMILE_POINT_FIELDS = {
  strike: "required",
  call_iv: "required|null",
  put_iv: "required|null",
  call: "required|null",
  put: "required|null",
  call_reason: "required|null",
  put_reason: "required|null",
} as const satisfies FieldTable<SmilePoint>;
const SMILE_EXPIRY_FIELDS = {
  expiry: "required",
  days_to_expiry: "required|null",
  forward: "required|null",
  points: "required",
} as const satisfies FieldTable<SmileExpiry>;
const STREAM_CLIENT_FIELDS = {
  name: "required",
  public_key: "required",
  secret_key: "required|null",
  is_enabled: "required",
  prefixes: "required",
  max_subscriptions: "required",
  max_upstream: "required",
  requests_per_second: "required",
  description: "required",
  created_at: "required",
  updated_at: "required",
} as const satisfies FieldTable<StreamClient>;
const CONNECTED_STREAM_CLIENT_FIELDS = {
  name: "required",
  enabled: "required",
  addresses: "required",
  connections: "required",
  open_connections: "required",
  subscriptions: "required",
  subscription_count: "required",
  upstream: "required",
  refused_subscriptions: "required",
  requests: "required",
  refused_requests: "required",
  quota_refusals: "required",
  drops: "required",
  conflation_ms: "required",
  last_activity: "required",
} as const satisfies FieldTable<ConnectedStreamClient>;
const CONNECTED_STREAM_CLIENTS_FIELDS = {
  engine: "required",
  curve: "required",
  updated_at: "required|null",
  clients: "required",
} as const satisfies FieldTable<ConnectedStreamClients>;
const SMILE_FIELDS = { hub: "required", underlying: "required", expiries: "required" } as const satisfies FieldTable<Smile>;

interface SchemaNode {
  $ref?: string;
  allOf?: SchemaNode[];
  enum?: string[];
  type?: string;
  nullable?: boolean;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
}

interface OpenApi {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: SchemaNode }> }> }>>;
  components: { schemas: Record<string, SchemaNode> };
}

const REPO = path.resolve(__dirname, "..", "..");
let workDir = "";
let schema: OpenApi;

function python(): string {
  const candidate = process.env.MDHUB_PYTHON ?? path.join(REPO, ".venv", "bin", "python");
  if (!existsSync(candidate)) {
    throw new Error(`No Python at ${candidate}: run ./dev setup (or set MDHUB_PYTHON) so the schema can be generated.`);
  }
  return candidate;
}

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), "mdhub-schema-"));
  const file = path.join(workDir, "schema.json");
  execFileSync(python(), ["manage.py", "spectacular", "--format", "openapi-json", "--file", file], {
    cwd: REPO,
    stdio: ["ignore", "ignore", "pipe"],
    timeout: 60_000,
  });
  schema = JSON.parse(readFileSync(file, "utf8")) as OpenApi;
}, 90_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** Follow `$ref`s and drf-spectacular's lone-`allOf` wrapper (a described enum or nested object). */
function resolve(node: SchemaNode): SchemaNode {
  let current = node;
  for (;;) {
    if (current.$ref) current = schema.components.schemas[current.$ref.split("/").pop() as string];
    else if (current.allOf?.length === 1) current = { ...current.allOf[0], nullable: current.nullable || current.allOf[0].nullable };
    else return current;
  }
}

function component(name: string): SchemaNode {
  const found = schema.components.schemas[name];
  if (!found) throw new Error(`The schema has no component ${name}; it has ${Object.keys(schema.components.schemas).join(", ")}`);
  return found;
}

/** The schema's answer for a field, in the table's words. */
function presenceIn(node: SchemaNode, field: string): Presence {
  const property = node.properties?.[field];
  const direct = property?.nullable ?? false;
  const nullable = direct || (property ? Boolean(resolve(property).nullable) : false);
  return `${node.required?.includes(field) ? "required" : "optional"}${nullable ? "|null" : ""}` as Presence;
}

/**
 * Same field names, and every field the schema requires is required in TypeScript, with
 * the same nullability. (A field TypeScript requires may be optional in the schema where
 * DRF fills a default in every answer, e.g. an account's `priority`.)
 */
function expectFields(name: string, table: Record<string, Presence>): void {
  const node = component(name);
  expect(Object.keys(table).sort(), `${name}: field names`).toEqual(Object.keys(node.properties ?? {}).sort());
  for (const [field, ours] of Object.entries(table)) {
    const theirs = presenceIn(node, field);
    expect(ours.endsWith("|null"), `${name}.${field}: nullable in TypeScript (${ours}) vs schema (${theirs})`).toBe(
      theirs.endsWith("|null"),
    );
    if (theirs.startsWith("required")) {
      expect(ours.startsWith("required"), `${name}.${field}: the schema requires it, TypeScript has it ${ours}`).toBe(true);
    }
  }
}

function enumOf(name: string): string[] {
  const values = resolve(component(name)).enum;
  if (!values) throw new Error(`${name} is not an enum in the schema`);
  return values;
}

describe("lib/types.ts against the server's OpenAPI schema", () => {
  it("has the same states, commands, event kinds, gateway types, setting kinds and engine states", () => {
    expect([...GATEWAY_STATES]).toEqual(enumOf("StateEnum"));
    expect([...GATEWAY_COMMANDS]).toEqual(enumOf("CommandEnum"));
    expect([...EVENT_KINDS]).toEqual(enumOf("EventKindEnum"));
    expect([...GATEWAY_TYPES]).toEqual(enumOf("GatewayTypeEnum"));
    expect([...SETTING_KINDS]).toEqual(enumOf("SettingSpecKindEnum"));
    expect([...ENGINE_STATES]).toEqual(enumOf("EngineEnum"));
  });

  it("has every field of the documents it reads, with the schema's presence and nullability", () => {
    expectFields("GatewayStatus", GATEWAY_STATUS_FIELDS);
    expectFields("GatewaysSnapshot", GATEWAYS_SNAPSHOT_FIELDS);
    expectFields("ServiceStatus", SERVICE_STATUS_FIELDS);
    expectFields("BridgeStatus", BRIDGE_STATUS_FIELDS);
    expectFields("MarketDataAccount", ACCOUNT_FIELDS);
    expectFields("Event", EVENT_FIELDS);
    expectFields("LogRecord", LOG_RECORD_FIELDS);
    expectFields("CommandAccepted", COMMAND_ACCEPTED_FIELDS);
    expectFields("GatewayType", GATEWAY_TYPE_FIELDS);
    expectFields("SettingSpec", SETTING_SPEC_FIELDS);
    expectFields("User", USER_FIELDS);
    expectFields("Bar", BAR_FIELDS);
    expectFields("Bars", BARS_FIELDS);
    expectFields("RecordedDay", RECORDED_DAY_FIELDS);
    expectFields("Recording", RECORDING_FIELDS);
    expectFields("SmilePoint", SMILE_POINT_FIELDS);
    expectFields("SmileExpiry", SMILE_EXPIRY_FIELDS);
    expectFields("Smile", SMILE_FIELDS);
    expectFields("StreamClient", STREAM_CLIENT_FIELDS);
    expectFields("ConnectedStreamClient", CONNECTED_STREAM_CLIENT_FIELDS);
    expectFields("ConnectedStreamClients", CONNECTED_STREAM_CLIENTS_FIELDS);
  });

  it("reads each document from the path lib/api.ts calls", () => {
    const answer = (route: string, method = "get", status = "200"): SchemaNode => {
      const operation = schema.paths[route]?.[method];
      if (!operation) throw new Error(`The schema has no ${method.toUpperCase()} ${route}`);
      const body = operation.responses[status]?.content?.["application/json"]?.schema;
      if (!body) throw new Error(`${method.toUpperCase()} ${route} documents no JSON ${status} answer`);
      return body;
    };
    expect(answer("/api/gateways/").$ref).toMatch(/\/GatewaysSnapshot$/);
    expect(resolve(answer("/api/gateway-types/")).items?.$ref).toMatch(/\/GatewayType$/);
    expect(answer("/api/accounts/{id}/").$ref).toMatch(/\/MarketDataAccount$/);
    expect(answer("/api/accounts/{id}/restart/", "post", "202").$ref).toMatch(/\/CommandAccepted$/);
    expect(answer("/api/events/").$ref).toMatch(/\/PaginatedEventList$/);
    expect(answer("/api/logs/").$ref).toMatch(/\/Logs$/);
    expect(answer("/api/bars/").$ref).toMatch(/\/Bars$/);
    expect(answer("/api/smile/").$ref).toMatch(/\/Smile$/);
    expect(answer("/api/stream-clients/").$ref).toMatch(/\/PaginatedStreamClientList$/);
    expect(answer("/api/stream-clients/", "post", "201").$ref).toMatch(/\/StreamClient$/);
    expect(answer("/api/stream-clients/{name}/", "patch").$ref).toMatch(/\/StreamClient$/);
    expect(answer("/api/stream-clients/connected/").$ref).toMatch(/\/ConnectedStreamClients$/);
  });
});
