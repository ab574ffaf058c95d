// The one typed module that talks to the mdhub REST API (docs/api.md).
//
// Same origin as Django: the session cookie authenticates every call, and unsafe methods
// carry the CSRF token Django put in the `csrftoken` cookie. A 401 or 403 that means
// "not logged in" sends the user to /login (see `handleForbidden` for 403).

import type {
  Account,
  AccountInput,
  CommandAccepted,
  GatewayCommand,
  GatewayTypeInfo,
  GatewaysSnapshot,
  HubEvent,
  LogLevel,
  LogRecord,
  Bars,
  ContractRow,
  HistoryAnswer,
  Recording,
  Smile,
  ConnectedStreamClients,
  StreamClient,
  StreamClientInput,
  Paged,
  SpeedAnswer,
  TimelineAnswer,
  User,
} from "@/lib/types";

export type * from "@/lib/types";

/** An HTTP answer that was not 2xx; `body` is the parsed JSON (or text) of the answer. */
export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, body: unknown, message?: string) {
    super(message ?? describeError(status, body));
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

interface ApiConfig {
  /** Prefix for every path; "" means the page's own origin. */
  baseUrl: string;
  fetch: typeof fetch;
  /** Where cookies are read from (document.cookie in the browser). */
  cookies: () => string;
  /** Called when the session is gone. Default: go to /login, coming back here after. */
  onUnauthorized: () => void;
}

function defaultUnauthorized(): void {
  if (typeof window === "undefined") return;
  const { pathname, search } = window.location;
  if (pathname === "/login" || pathname.startsWith("/login/")) return;
  const next = encodeURIComponent(pathname + search);
  window.location.assign(`/login?next=${next}`);
}

const defaults: ApiConfig = {
  baseUrl: "",
  fetch: (...args) => globalThis.fetch(...args),
  cookies: () => (typeof document === "undefined" ? "" : document.cookie),
  onUnauthorized: defaultUnauthorized,
};

let config: ApiConfig = { ...defaults };

/** Override parts of the configuration (tests; a non-default deployment). */
export function configureApi(overrides: Partial<ApiConfig>): void {
  config = { ...config, ...overrides };
}

export function resetApiConfig(): void {
  config = { ...defaults };
}

/** Tell the app the session is gone (also used by the socket hook on close code 4401). */
export function notifyUnauthorized(): void {
  config.onUnauthorized();
}

export function readCookie(name: string, cookieString: string = config.cookies()): string | null {
  for (const part of cookieString.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      return decodeURIComponent(part.slice(eq + 1).trim());
    }
  }
  return null;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** false: a 401/403 is just an error (login form, session probe); no redirect. */
  authRedirect?: boolean;
}

async function parseBody(response: Response): Promise<unknown> {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

async function ensureCsrfCookie(signal?: AbortSignal): Promise<string | null> {
  let token = readCookie("csrftoken");
  if (token) return token;
  // GET /api/auth/session sets the cookie (ensure_csrf_cookie), logged in or not.
  await config.fetch(`${config.baseUrl}/api/auth/session`, {
    credentials: "include",
    headers: { Accept: "application/json" },
    signal,
  });
  token = readCookie("csrftoken");
  return token;
}

/** Low-level call: JSON in, JSON out, errors as ApiError. */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = (options.method ?? "GET").toUpperCase();
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (!SAFE_METHODS.has(method)) {
    const token = await ensureCsrfCookie(options.signal);
    if (token) headers["X-CSRFToken"] = token;
  }
  let response: Response;
  try {
    response = await config.fetch(`${config.baseUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "include",
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error)?.name === "AbortError") throw error;
    throw new ApiError(0, null, "Cannot reach the mdhub server: check that it is running, then retry.");
  }
  const body = await parseBody(response);
  if (response.ok) return body as T;

  const authRedirect = options.authRedirect ?? true;
  if (authRedirect && response.status === 401) {
    config.onUnauthorized();
  } else if (authRedirect && response.status === 403) {
    await handleForbidden(body);
  }
  throw new ApiError(response.status, body);
}

// DRF answers 403 both to "not logged in" (session auth has no WWW-Authenticate challenge)
// and to "logged in, but not allowed" (a viewer pressing an operator's button, a stale CSRF
// token). Only the first should send the user to the login page, so ask who we are.
async function handleForbidden(body: unknown): Promise<void> {
  const detail = detailOf(body) ?? "";
  if (/credentials were not provided|not authenticated/i.test(detail)) {
    config.onUnauthorized();
    return;
  }
  try {
    const probe = await config.fetch(`${config.baseUrl}/api/auth/session`, {
      credentials: "include",
      headers: { Accept: "application/json" },
    });
    if (probe.status === 401 || probe.status === 403) config.onUnauthorized();
  } catch {
    // Server unreachable: the caller shows the 403 itself.
  }
}

function detailOf(body: unknown): string | null {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    return typeof detail === "string" ? detail : null;
  }
  return null;
}

function describeError(status: number, body: unknown): string {
  const detail = detailOf(body);
  if (detail) return detail;
  if (status === 400) return "The server rejected the request: see the highlighted fields.";
  if (status === 403) return "You are not allowed to do that: operator (staff) rights are needed.";
  if (status === 404) return "Not found: this part of the API is not available on the server.";
  if (status >= 500) return `The server failed (HTTP ${status}): see the hub logs, then retry.`;
  return `Request failed (HTTP ${status}).`;
}

/**
 * Flatten a DRF validation body into `{field: message}`. Nested settings errors become
 * `settings.<name>`; errors not tied to a field go under `_form`.
 *
 *   {"settings": {"mdAddress": ["'x' is not an address"]}, "priority": ["..."]}
 *   → {"settings.mdAddress": "'x' is not an address", "priority": "..."}
 */
export function fieldErrors(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const text = (value: unknown): string | null => {
    if (typeof value === "string") return value;
    if (Array.isArray(value) && value.every((item) => typeof item === "string")) {
      return value.join(" ");
    }
    return null;
  };
  const walk = (value: unknown, prefix: string): void => {
    const message = text(value);
    if (message !== null) {
      const key = prefix || "_form";
      out[key] = out[key] ? `${out[key]} ${message}` : message;
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item) => walk(item, prefix));
      return;
    }
    if (value && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) {
        const isFormLevel = key === "non_field_errors" || key === "detail";
        // {"settings": {"settings": "must be a JSON object"}} names the settings object itself.
        const name = isFormLevel ? prefix : prefix && key === prefix ? prefix : prefix ? `${prefix}.${key}` : key;
        walk(inner, name);
      }
    }
  };
  walk(body, "");
  return out;
}

// ---------------------------------------------------------------------------------------
// Auth

/** Who is logged in, or null. Also makes Django set the `csrftoken` cookie. */
export async function getSession(signal?: AbortSignal): Promise<User | null> {
  try {
    return await request<User>("/api/auth/session", { signal, authRedirect: false });
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return null;
    throw error;
  }
}

export function login(username: string, password: string): Promise<User> {
  return request<User>("/api/auth/session", {
    method: "POST",
    body: { username, password },
    authRedirect: false,
  });
}

export async function logout(): Promise<void> {
  await request<null>("/api/auth/session", { method: "DELETE", authRedirect: false });
}

// ---------------------------------------------------------------------------------------
// Accounts

function samePath(url: string): string {
  // `next` links are absolute; keep only path + query so they go through our origin (and,
  // under `next dev`, through its proxy).
  const parsed = new URL(url, "http://placeholder");
  return parsed.pathname + parsed.search;
}

/** Every account, following the pages. */
export async function listAccounts(signal?: AbortSignal): Promise<Account[]> {
  const accounts: Account[] = [];
  let path: string | null = "/api/accounts?limit=500";
  while (path) {
    const page: Paged<Account> = await request<Paged<Account>>(path, { signal });
    accounts.push(...page.results);
    path = page.next ? samePath(page.next) : null;
  }
  return accounts;
}

const enc = encodeURIComponent;

export function getAccount(id: string, signal?: AbortSignal): Promise<Account> {
  return request<Account>(`/api/accounts/${enc(id)}`, { signal });
}

export function createAccount(input: AccountInput): Promise<Account> {
  return request<Account>("/api/accounts", { method: "POST", body: input });
}

export function updateAccount(id: string, input: AccountInput): Promise<Account> {
  return request<Account>(`/api/accounts/${enc(id)}`, { method: "PATCH", body: input });
}

export function setAccountEnabled(id: string, isEnabled: boolean): Promise<Account> {
  return updateAccount(id, { is_enabled: isEnabled });
}

export async function deleteAccount(id: string): Promise<void> {
  await request<null>(`/api/accounts/${enc(id)}`, { method: "DELETE" });
}

/** The gateway types and the settings each takes, as the server checks them. */
export function getGatewayTypes(signal?: AbortSignal): Promise<GatewayTypeInfo[]> {
  return request<GatewayTypeInfo[]>("/api/gateway-types", { signal });
}

// ---------------------------------------------------------------------------------------
// Gateways, events, logs (live state from the hub)

export function gatewayCommand(id: string, command: GatewayCommand): Promise<CommandAccepted> {
  return request<CommandAccepted>(`/api/accounts/${enc(id)}/${command}`, { method: "POST" });
}

export function getGateways(signal?: AbortSignal): Promise<GatewaysSnapshot> {
  return request<GatewaysSnapshot>("/api/gateways", { signal });
}

function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export interface LogQuery {
  level?: LogLevel | null;
  account?: string | null;
  limit?: number;
}

export async function getLogs(params: LogQuery = {}, signal?: AbortSignal): Promise<LogRecord[]> {
  const answer = await request<{ results: LogRecord[] }>(
    `/api/logs${query({ level: params.level, account: params.account, limit: params.limit })}`,
    { signal },
  );
  return answer?.results ?? [];
}

export interface EventQuery {
  account?: string | null;
  kind?: HubEvent["kind"] | null;
  limit?: number;
  offset?: number;
}

export function getEvents(params: EventQuery = {}, signal?: AbortSignal): Promise<Paged<HubEvent>> {
  return request<Paged<HubEvent>>(`/api/events${query({ ...params })}`, { signal });
}

export function getSpeed(signal?: AbortSignal): Promise<SpeedAnswer> {
  return request<SpeedAnswer>("/api/sources/speed", { signal });
}

export function getSourceHistory(minutes: number, signal?: AbortSignal): Promise<HistoryAnswer> {
  return request<HistoryAnswer>(`/api/sources/history${query({ minutes })}`, { signal });
}

export function getStateTimeline(minutes: number, signal?: AbortSignal): Promise<TimelineAnswer> {
  return request<TimelineAnswer>(`/api/sources/timeline${query({ minutes })}`, { signal });
}

export interface ContractQuery {
  q?: string | null;
  limit?: number;
  offset?: number;
}

export function getContracts(params: ContractQuery = {}, signal?: AbortSignal): Promise<Paged<ContractRow>> {
  return request<Paged<ContractRow>>(`/api/contracts${query({ ...params })}`, { signal });
}

export function getBars(symbol: string, interval = "1m", limit = 120, signal?: AbortSignal): Promise<Bars> {
  return request<Bars>(`/api/bars${query({ symbol, interval, limit })}`, { signal });
}

export function getSmile(underlying: string, signal?: AbortSignal): Promise<Smile> {
  return request<Smile>(`/api/smile${query({ underlying })}`, { signal });
}

export function getRecording(signal?: AbortSignal): Promise<Recording> {
  return request<Recording>("/api/recording", { signal });
}

// ---------------------------------------------------------------------------------------
// Stream clients: who may read the tick stream (docs/access.md)

/** Every stream client identity, following the pages. */
export async function listStreamClients(signal?: AbortSignal): Promise<StreamClient[]> {
  const clients: StreamClient[] = [];
  let path: string | null = "/api/stream-clients?limit=500";
  while (path) {
    const page: Paged<StreamClient> = await request<Paged<StreamClient>>(path, { signal });
    clients.push(...page.results);
    path = page.next ? samePath(page.next) : null;
  }
  return clients;
}

/** Without `public_key` the hub makes the key pair: the answer's `secret_key` is its only copy. */
export function createStreamClient(input: StreamClientInput): Promise<StreamClient> {
  return request<StreamClient>("/api/stream-clients", { method: "POST", body: input });
}

export function updateStreamClient(name: string, input: StreamClientInput): Promise<StreamClient> {
  return request<StreamClient>(`/api/stream-clients/${enc(name)}`, { method: "PATCH", body: input });
}

export async function deleteStreamClient(name: string): Promise<void> {
  await request<null>(`/api/stream-clients/${enc(name)}`, { method: "DELETE" });
}

/** The clients the running hub has seen (refreshed by the hub every second). */
export function getConnectedStreamClients(signal?: AbortSignal): Promise<ConnectedStreamClients> {
  return request<ConnectedStreamClients>("/api/stream-clients/connected", { signal });
}
