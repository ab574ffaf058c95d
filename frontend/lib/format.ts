// Number and time formatting for the dashboard. Every function takes null/undefined and
// answers an en dash, so a source with no data yet reads "–", not "NaN".

const DASH = "–";

function finite(value: number | null | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** 120.5 → "120.5"; 3 → "3.0"; 1234 → "1,234". */
export function formatRate(value: number | null | undefined): string {
  if (!finite(value)) return DASH;
  if (value >= 1000) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(1);
}

/** Seconds → "0.2 s", "12 s", "3 m 05 s", "2 h 10 m". */
export function formatAge(seconds: number | null | undefined): string {
  if (!finite(seconds)) return DASH;
  if (seconds < 0) return "0.0 s";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) {
    const minutes = Math.floor(seconds / 60);
    const rest = Math.floor(seconds % 60);
    return `${minutes} m ${String(rest).padStart(2, "0")} s`;
  }
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return `${hours} h ${String(minutes).padStart(2, "0")} m`;
}

/** 0.61 → "61.0 %". */
export function formatShare(share: number | null | undefined): string {
  if (!finite(share)) return DASH;
  return `${(share * 100).toFixed(1)} %`;
}

/** 0.3 → "0.30", 12.345 → "12.3". */
export function formatMs(ms: number | null | undefined): string {
  if (!finite(ms)) return DASH;
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

export function formatInt(value: number | null | undefined): string {
  if (!finite(value)) return DASH;
  return Math.round(value).toLocaleString("en-US");
}

/** Epoch seconds → local "HH:MM:SS.mmm" (log lines). */
export function formatClock(ts: number | null | undefined): string {
  if (!finite(ts)) return DASH;
  const date = new Date(ts * 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** Epoch seconds → local "YYYY-MM-DD HH:MM:SS" (tooltips, titles). */
export function formatDateTime(ts: number | null | undefined): string {
  if (!finite(ts)) return DASH;
  const date = new Date(ts * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
