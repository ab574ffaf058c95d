// Shaping for the Clients page (docs/access.md): the add-client form's values into the API's
// input, and the connected clients' figures into words. Pure: tested without a browser.

import type { ConnectedStreamClient, StreamClientInput } from "@/lib/types";

/** The server's defaults (aggregation/access.py Quotas), shown in a new client's form. */
export const DEFAULT_QUOTAS = { max_subscriptions: "200", max_upstream: "50", requests_per_second: "5" } as const;

export interface StreamClientFormValues {
  name: string;
  prefixes: string;
  public_key: string;
  is_enabled: boolean;
  max_subscriptions: string;
  max_upstream: string;
  requests_per_second: string;
  description: string;
}

export function emptyStreamClientForm(): StreamClientFormValues {
  return { name: "", prefixes: "", public_key: "", is_enabled: true, description: "", ...DEFAULT_QUOTAS };
}

/** "tick.rb, tick.au" or one per line → ["tick.rb", "tick.au"] (blanks and repeats dropped). */
export function parsePrefixes(text: string): string[] {
  const seen: string[] = [];
  for (const part of text.split(/[\s,]+/)) {
    const prefix = part.trim();
    if (prefix && !seen.includes(prefix)) seen.push(prefix);
  }
  return seen;
}

/** A whole number stays a number; anything else goes as typed, so the server names the field. */
function numberOrText(text: string): number | string {
  const trimmed = text.trim();
  const value = Number(trimmed);
  return trimmed !== "" && Number.isFinite(value) ? value : trimmed;
}

/** What POST /api/stream-clients gets. No public key: the hub makes the pair and answers the secret once. */
export function streamClientInput(values: StreamClientFormValues): StreamClientInput {
  const input: StreamClientInput = {
    name: values.name.trim(),
    prefixes: parsePrefixes(values.prefixes),
    is_enabled: values.is_enabled,
    max_subscriptions: numberOrText(values.max_subscriptions),
    max_upstream: numberOrText(values.max_upstream),
    requests_per_second: numberOrText(values.requests_per_second),
    description: values.description,
  };
  const key = values.public_key.trim();
  if (key) input.public_key = key;
  return input;
}

/** Mistakes the form can name before asking the server (which checks everything again). */
export function localErrors(values: StreamClientFormValues): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!values.name.trim()) errors.name = "Give the client a short unique name, e.g. cta-desk.";
  if (parsePrefixes(values.prefixes).length === 0) {
    errors.prefixes = "Name at least one topic prefix it may read, e.g. tick.rb (tick. is every contract).";
  }
  return errors;
}

/** 0 → "every tick"; 250 → "every 250 ms"; 1500 → "every 1.5 s". */
export function conflationText(ms: number): string {
  if (!ms) return "every tick";
  if (ms < 1000) return `every ${ms} ms`;
  const seconds = ms / 1000;
  return `every ${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}

/** The subscriptions a cell shows (the rest counted), conflated ones named as such. */
export function subscriptionSummary(client: ConnectedStreamClient, shown = 3): { items: string[]; more: number } {
  const items = client.subscriptions.slice(0, shown).map((s) => s.replace(/^conflated:(.*)$/, "$1 (conflated)"));
  return { items, more: Math.max(0, client.subscription_count - items.length) };
}

/** Refusals in words, or null when there were none. */
export function refusalText(client: ConnectedStreamClient): string | null {
  const parts = [
    client.refused_subscriptions ? `${client.refused_subscriptions} subscriptions` : null,
    client.refused_requests ? `${client.refused_requests} requests` : null,
    client.quota_refusals ? `${client.quota_refusals} over quota` : null,
  ].filter((part): part is string => part !== null);
  return parts.length ? parts.join(", ") : null;
}
