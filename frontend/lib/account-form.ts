// The account form's strings ↔ the JSON the API takes. The settings a gateway type takes
// come from the server (GET /api/gateway-types), never from a copy kept here.

import type { GatewayType, GatewayTypeInfo, SettingSpec } from "@/lib/types";

export function specsFor(types: readonly GatewayTypeInfo[], gatewayType: GatewayType): SettingSpec[] {
  return types.find((type) => type.gateway_type === gatewayType)?.settings ?? [];
}

/** The form's strings → the JSON settings to send. Blank fields are left out (a blank secret keeps the stored one). */
export function buildSettings(
  types: readonly GatewayTypeInfo[],
  gatewayType: GatewayType,
  values: Record<string, string>,
  existing: Record<string, unknown> = {},
): Record<string, unknown> {
  const known = new Set(types.flatMap((type) => type.settings.map((spec) => spec.name)));
  const settings: Record<string, unknown> = {};
  // Settings no gateway type lists (added by the admin or a newer server) survive an edit.
  for (const [name, value] of Object.entries(existing)) {
    if (!known.has(name)) settings[name] = value;
  }
  for (const spec of specsFor(types, gatewayType)) {
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

/** "rb2601.SHFE, IF2612.CFFEX" or one per line → ["rb2601.SHFE", "IF2612.CFFEX"]. */
export function parseCanaries(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((item) => item.trim())
    .filter(Boolean);
}
