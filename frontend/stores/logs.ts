import { create } from "zustand";

import { LOG_LEVELS, type LogLevel, type LogRecord } from "@/lib/types";

/** How many records the dashboard keeps: older ones fall off the front of the ring. */
export const LOG_CAPACITY = 2000;

export interface LogsState {
  /** The ring, oldest first, never longer than `capacity`. */
  records: LogRecord[];
  capacity: number;
  /** While paused the view shows `frozen`; new records still enter the ring. */
  paused: boolean;
  frozen: LogRecord[] | null;
  /** Records that arrived since pausing (they are in the ring, not on screen). */
  missed: number;

  append: (incoming: LogRecord[]) => void;
  pause: () => void;
  resume: () => void;
  clear: () => void;
  setCapacity: (capacity: number) => void;
}

/** Identity of a record, to drop the copies a reconnect's backlog repeats. */
export function logKey(record: LogRecord): string {
  return `${record.ts}\u0000${record.level}\u0000${record.account ?? ""}\u0000${record.logger}\u0000${record.msg}`;
}

/**
 * Merge `incoming` into `ring` (both oldest first), drop duplicates, keep the newest
 * `capacity`. Live records usually come in order, so the common path is an append.
 */
export function mergeRing(ring: LogRecord[], incoming: LogRecord[], capacity: number): LogRecord[] {
  if (incoming.length === 0) return ring;
  const seen = new Set(ring.map(logKey));
  const fresh: LogRecord[] = [];
  for (const record of incoming) {
    const key = logKey(record);
    if (seen.has(key)) continue;
    seen.add(key);
    fresh.push(record);
  }
  if (fresh.length === 0) return ring;
  let merged = ring.concat(fresh);
  const lastOld = ring.length ? ring[ring.length - 1].ts : -Infinity;
  const inOrder = fresh.every((record, index) =>
    index === 0 ? record.ts >= lastOld : record.ts >= fresh[index - 1].ts,
  );
  if (!inOrder) {
    // A backlog or a backfill from the API: a stable sort keeps same-ts records in order.
    merged = merged
      .map((record, index) => ({ record, index }))
      .sort((a, b) => a.record.ts - b.record.ts || a.index - b.index)
      .map(({ record }) => record);
  }
  return merged.length > capacity ? merged.slice(merged.length - capacity) : merged;
}

export const useLogsStore = create<LogsState>()((set, get) => ({
  records: [],
  capacity: LOG_CAPACITY,
  paused: false,
  frozen: null,
  missed: 0,

  append(incoming) {
    const { records, capacity, paused, missed } = get();
    const next = mergeRing(records, incoming, capacity);
    if (next === records) return;
    set({
      records: next,
      missed: paused ? Math.min(capacity, missed + countNew(records, next)) : 0,
    });
  },

  pause() {
    if (get().paused) return;
    set({ paused: true, frozen: get().records, missed: 0 });
  },

  resume() {
    set({ paused: false, frozen: null, missed: 0 });
  },

  clear() {
    set({ records: [], frozen: get().paused ? [] : null, missed: 0 });
  },

  setCapacity(capacity) {
    const records = get().records;
    set({
      capacity,
      records: records.length > capacity ? records.slice(records.length - capacity) : records,
    });
  },
}));

/** How many records of `next` are not in `previous` (the ring only grows at the end). */
function countNew(previous: LogRecord[], next: LogRecord[]): number {
  if (previous.length === 0) return next.length;
  const last = logKey(previous[previous.length - 1]);
  for (let index = next.length - 1; index >= 0; index -= 1) {
    if (logKey(next[index]) === last) return next.length - 1 - index;
  }
  return next.length;
}

/** What the log view shows: the frozen copy while paused, the live ring otherwise. */
export const selectVisible = (state: LogsState): LogRecord[] =>
  state.paused && state.frozen ? state.frozen : state.records;

const LEVEL_RANK: Record<string, number> = Object.fromEntries(
  LOG_LEVELS.map((level, index) => [level, index]),
);
LEVEL_RANK.WARN = LEVEL_RANK.WARNING;
LEVEL_RANK.FATAL = LEVEL_RANK.CRITICAL;

export function levelRank(level: string): number {
  return LEVEL_RANK[level.toUpperCase()] ?? LEVEL_RANK.INFO;
}

/** Source filter value for records of the hub itself (no account). */
export const HUB_SOURCE = "__hub__";

export interface LogFilter {
  /** Minimum level, like the API's `level`. */
  level: LogLevel;
  /** Account id, HUB_SOURCE, or null for every source. */
  account: string | null;
}

export function filterLogs(records: LogRecord[], filter: LogFilter): LogRecord[] {
  const min = levelRank(filter.level);
  return records.filter((record) => {
    if (levelRank(record.level) < min) return false;
    if (filter.account === null) return true;
    if (filter.account === HUB_SOURCE) return !record.account;
    return record.account === filter.account;
  });
}
