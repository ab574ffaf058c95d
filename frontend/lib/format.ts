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

// Times shown to people are exchange time (China, Asia/Shanghai), whatever the browser's
// zone: the hub, its logs and the exchanges all keep that clock. Intl does the conversion,
// so an operator abroad or a browser in UTC reads the same time as the hub's log.
export const EXCHANGE_TIME_ZONE = "Asia/Shanghai";
/** What a label says about a time: China Standard Time, UTC+8, no daylight saving. */
export const EXCHANGE_ZONE_LABEL = "CST";
export const EXCHANGE_TIME_NOTE = `${EXCHANGE_ZONE_LABEL} (exchange time)`;

const exchangeParts = new Intl.DateTimeFormat("en-CA", {
  timeZone: EXCHANGE_TIME_ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

function exchangeClock(ts: number): { date: string; time: string; ms: string } {
  const parts: Record<string, string> = {};
  for (const part of exchangeParts.formatToParts(new Date(ts * 1000))) parts[part.type] = part.value;
  const ms = String(Math.floor((((ts * 1000) % 1000) + 1000) % 1000)).padStart(3, "0");
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}:${parts.second}`, ms };
}

/** Epoch seconds → exchange-time "HH:MM:SS.mmm" (log lines, under a "Time (Asia/Shanghai)" header). */
export function formatClock(ts: number | null | undefined): string {
  if (!finite(ts)) return DASH;
  const { time, ms } = exchangeClock(ts);
  return `${time}.${ms}`;
}

/** Epoch seconds → "YYYY-MM-DD HH:MM:SS CST (exchange time)" (tooltips, banners, lists). */
export function formatDateTime(ts: number | null | undefined): string {
  if (!finite(ts)) return DASH;
  const { date, time } = exchangeClock(ts);
  return `${date} ${time} ${EXCHANGE_TIME_NOTE}`;
}

/** Epoch seconds → "HH:MM:SS CST (exchange time)". */
export function formatTime(ts: number | null | undefined): string {
  if (!finite(ts)) return DASH;
  return `${exchangeClock(ts).time} ${EXCHANGE_TIME_NOTE}`;
}

/** An age with the exchange time it points back to, for a tooltip: "4.2 s ago, since 10:15:02 CST (exchange time)". */
export function formatAgeTitle(seconds: number | null | undefined, now: number): string | undefined {
  if (!finite(seconds)) return undefined;
  return `${formatAge(seconds)} ago, since ${formatTime(now - seconds)}`;
}
