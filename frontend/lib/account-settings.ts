// The settings each gateway type takes, as the server checks them
// (accounts/gateway_settings.py). The form renders one field per entry.

import type { GatewayType } from "@/lib/types";

export type SettingKind = "text" | "secret" | "address" | "number" | "fraction";

export interface SettingSpec {
  name: string;
  label: string;
  kind: SettingKind;
  required: boolean;
  help: string;
}

const BROKER: SettingSpec[] = [
  { name: "userID", label: "User ID", kind: "text", required: true, help: "Investor (user) id given by the broker." },
  { name: "password", label: "Password", kind: "secret", required: true, help: "Password of that user." },
  { name: "brokerID", label: "Broker ID", kind: "text", required: true, help: "Broker id, e.g. 9999." },
  { name: "mdAddress", label: "Market-data front", kind: "address", required: true, help: "Address of the broker's market-data front." },
  {
    name: "tdAddress",
    label: "Trading front",
    kind: "address",
    required: false,
    help: "tcp://host:port. Optional: a trading login fills the contract map.",
  },
  { name: "appID", label: "App ID", kind: "text", required: false, help: "For terminal authentication." },
  { name: "authCode", label: "Auth code", kind: "secret", required: false, help: "For terminal authentication." },
];

const SIM: SettingSpec[] = [
  { name: "latency_ms", label: "Latency (ms)", kind: "number", required: false, help: "Fixed delay added to each snapshot." },
  { name: "jitter_ms", label: "Jitter (ms)", kind: "number", required: false, help: "Random extra delay, 0..jitter." },
  { name: "loss", label: "Loss (0..1)", kind: "fraction", required: false, help: "Share of snapshots dropped." },
  {
    name: "exchange",
    label: "Exchange address",
    kind: "address",
    required: false,
    help: "Simulated exchange to read from (default: the hub's).",
  },
];

export const SETTING_SPECS: Record<GatewayType, SettingSpec[]> = { ctp: BROKER, sopt: BROKER, sim: SIM };

export const GATEWAY_TYPES: { value: GatewayType; label: string }[] = [
  { value: "ctp", label: "CTP (futures)" },
  { value: "sopt", label: "SOPT (stock options)" },
  { value: "sim", label: "Simulated exchange" },
];

const ALL_SPEC_NAMES = new Set(Object.values(SETTING_SPECS).flatMap((specs) => specs.map((spec) => spec.name)));

export function isKnownSetting(name: string): boolean {
  return ALL_SPEC_NAMES.has(name);
}

/** The form's strings → the JSON settings to send. Blank secrets are left out (keep). */
export function buildSettings(
  gatewayType: GatewayType,
  values: Record<string, string>,
  existing: Record<string, unknown> = {},
): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  // Settings this form does not know (added by the admin or a newer server) survive an edit.
  for (const [name, value] of Object.entries(existing)) {
    if (!isKnownSetting(name)) settings[name] = value;
  }
  for (const spec of SETTING_SPECS[gatewayType]) {
    const raw = (values[spec.name] ?? "").trim();
    if (raw === "") continue;
    if (spec.kind === "number" || spec.kind === "fraction") {
      const number = Number(raw);
      // Not a number: send it as typed, so the server's message lands at the field.
      settings[spec.name] = Number.isFinite(number) ? number : raw;
    } else {
      settings[spec.name] = raw;
    }
  }
  return settings;
}

/** "rb2501.SHFE, IF2412.CFFEX" or one per line → ["rb2501.SHFE", "IF2412.CFFEX"]. */
export function parseCanaries(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((item) => item.trim())
    .filter(Boolean);
}
