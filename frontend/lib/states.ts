import type { GatewayState } from "@/lib/types";

export type Tone = "ok" | "info" | "warn" | "bad" | "off";

/** Each state has a colour and always its word too: colour alone carries no meaning. */
export const STATE_TONE: Record<GatewayState, Tone> = {
  healthy: "ok",
  connected: "info",
  starting: "info",
  restarting: "warn",
  stale: "warn",
  disconnected: "bad",
  unhealthy: "bad",
  failed: "bad",
  stopped: "off",
};

export const STATE_HELP: Record<GatewayState, string> = {
  stopped: "Not running (disabled or stopped by an operator).",
  starting: "Worker process launched, logging in.",
  connected: "Logged in; waiting for canary ticks.",
  healthy: "Connected and canary ticks are flowing.",
  stale: "Connected, but its canary ticks stopped while the session is open.",
  disconnected: "Lost its connection to the front; the gateway is reconnecting.",
  unhealthy: "Not delivering; a hard restart follows after the cool-down.",
  restarting: "Worker being terminated and relaunched.",
  failed: "Restart budget exhausted; retrying with backoff.",
};

/** Classes for the coloured dot and text of a tone (contrast ≥ 4.5:1 on the dark card). */
export const TONE_CLASSES: Record<Tone, { dot: string; text: string; ring: string }> = {
  ok: { dot: "bg-emerald-400", text: "text-emerald-300", ring: "border-emerald-500/40 bg-emerald-500/10" },
  info: { dot: "bg-sky-400", text: "text-sky-300", ring: "border-sky-500/40 bg-sky-500/10" },
  warn: { dot: "bg-amber-400", text: "text-amber-300", ring: "border-amber-500/40 bg-amber-500/10" },
  bad: { dot: "bg-red-400", text: "text-red-300", ring: "border-red-500/50 bg-red-500/15" },
  off: { dot: "bg-zinc-400", text: "text-zinc-300", ring: "border-zinc-500/40 bg-zinc-500/10" },
};

export function toneOf(state: string): Tone {
  return STATE_TONE[state as GatewayState] ?? "off";
}

/** States in which a source has no worker process delivering ticks (or is being killed). */
const NO_PROCESS_STATES: ReadonlySet<GatewayState> = new Set<GatewayState>(["stopped", "restarting", "failed"]);

/**
 * A source with no process receives nothing: its rate is 0, not the last rate the hub
 * measured before the process went (which a snapshot or a hub.event may still carry).
 */
export function tickRateOf(gateway: { state: GatewayState; pid: number | null; tick_rate: number | null }): number | null {
  if (gateway.pid === null || NO_PROCESS_STATES.has(gateway.state)) return gateway.tick_rate === null ? null : 0;
  return gateway.tick_rate;
}

/** A canary older than this (seconds) is shown as late. */
export const CANARY_LATE_SECONDS = 5;

