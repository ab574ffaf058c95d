import type { RecordedDay, Recording } from "@/lib/types";

/** Bytes as people read them (KiB, MiB, GiB: powers of 1024). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export interface RecordedDayRow extends RecordedDay {
  bytesPerTick: number | null;
}

/** The per-day table: newest day first, with bytes per tick where the day knows its ticks. */
export function recordedDayRows(recording: Recording, limit = 10): RecordedDayRow[] {
  return [...recording.recorded]
    .sort((a, b) => (a.day < b.day ? 1 : a.day > b.day ? -1 : 0))
    .slice(0, limit)
    .map((day) => ({ ...day, bytesPerTick: day.ticks ? Math.round(day.bytes / day.ticks) : null }));
}

/** "730 days" or "all days" (retention 0 keeps everything). */
export function retentionText(days: number): string {
  return days > 0 ? `${days} days` : "all days";
}
