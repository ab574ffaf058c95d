"use client";

import { Pause, Play, Trash2 } from "lucide-react";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";

import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { NativeSelect, NativeSelectOption } from "@/components/ui/native-select";
import { ApiError, getLogs } from "@/lib/api";
import { EXCHANGE_TIME_ZONE, formatClock, formatDateTime } from "@/lib/format";
import type { LogLevel, LogRecord } from "@/lib/types";
import { cn } from "@/lib/utils";
import { useAccountsStore } from "@/stores/accounts";
import { useGatewaysStore } from "@/stores/gateways";
import {
  HUB_SOURCE,
  LOG_CAPACITY,
  filterLogs,
  levelRank,
  logKey,
  selectVisible,
  useLogsStore,
  type LogFilter,
} from "@/stores/logs";

const LEVEL_OPTIONS: { value: LogLevel; label: string }[] = [
  { value: "INFO", label: "INFO and above" },
  { value: "WARNING", label: "WARNING and above" },
  { value: "ERROR", label: "ERROR only" },
];

function parseLevel(value: string | null): LogLevel {
  const upper = (value ?? "").toUpperCase();
  if (upper === "WARN") return "WARNING";
  return LEVEL_OPTIONS.some((option) => option.value === upper) ? (upper as LogLevel) : "INFO";
}

function levelClass(level: string): string {
  const rank = levelRank(level);
  if (rank >= levelRank("ERROR")) return "text-red-300 font-semibold";
  if (rank >= levelRank("WARNING")) return "text-amber-300";
  if (rank <= levelRank("DEBUG")) return "text-muted-foreground";
  return "text-sky-300";
}

const LogLine = memo(function LogLine({ record }: { record: LogRecord }) {
  const isError = levelRank(record.level) >= levelRank("ERROR");
  return (
    <li
      className={cn(
        "grid grid-cols-[9.5rem_5.5rem_8rem_minmax(0,1fr)] gap-x-3 border-l-2 px-3 py-0.5 font-mono text-xs leading-5",
        isError ? "border-red-400 bg-red-500/15" : "border-transparent",
      )}
      data-testid="log-line"
      data-level={record.level}
      data-account={record.account ?? ""}
    >
      <time className="text-muted-foreground tabular-nums" title={formatDateTime(record.ts)}>
        {formatClock(record.ts)}
      </time>
      <span className={levelClass(record.level)}>{record.level}</span>
      <span className="truncate" title={record.logger}>
        {record.account || "hub"}
      </span>
      <span className={cn("break-words whitespace-pre-wrap", isError && "text-red-100")}>
        <span className="text-muted-foreground">{record.logger}: </span>
        {record.msg}
      </span>
    </li>
  );
});

/** Live hub and gateway logs: level and source filters, ERROR highlighted, pause/resume. */
export function LogViewer() {
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const filter: LogFilter = useMemo(
    () => ({ level: parseLevel(params.get("level")), account: params.get("account") || null }),
    [params],
  );

  const visible = useLogsStore(selectVisible);
  const total = useLogsStore((state) => state.records.length);
  const paused = useLogsStore((state) => state.paused);
  const missed = useLogsStore((state) => state.missed);
  const socket = useGatewaysStore((state) => state.socket);
  const { pause, resume, clear, append } = useLogsStore.getState();
  const accounts = useAccountsStore((state) => state.accounts);
  const accountsLoaded = useAccountsStore((state) => state.loaded);
  const [historyNote, setHistoryNote] = useState<string | null>(null);

  const shown = useMemo(() => filterLogs(visible, filter), [visible, filter]);

  useEffect(() => {
    if (!accountsLoaded) void useAccountsStore.getState().load();
  }, [accountsLoaded]);

  // Backfill from the API for this filter: the ring may have lost older matching records.
  useEffect(() => {
    const controller = new AbortController();
    const account = filter.account === HUB_SOURCE ? null : filter.account;
    getLogs({ level: filter.level, account, limit: 500 }, controller.signal)
      .then((records) => {
        append(records);
        setHistoryNote(null);
      })
      .catch((error: unknown) => {
        if ((error as Error)?.name === "AbortError") return;
        setHistoryNote(
          error instanceof ApiError && error.status === 404
            ? "Log history is not available from the server (GET /api/logs answered 404); showing live records only."
            : `Log history could not be loaded: ${(error as Error).message}`,
        );
      });
    return () => controller.abort();
  }, [filter, append]);

  // The filter the last change asked for. The URL (and so `filter`) updates only when the
  // router's transition ends: a second change before then must build on the first, not on
  // the stale URL, or it would undo it.
  const wanted = useRef(filter);
  useEffect(() => {
    wanted.current = filter;
  }, [filter]);

  function setFilter(next: Partial<LogFilter>) {
    const merged = { ...wanted.current, ...next };
    wanted.current = merged;
    const search = new URLSearchParams();
    if (merged.account) search.set("account", merged.account);
    if (merged.level !== "INFO") search.set("level", merged.level);
    const query = search.toString();
    router.replace(query ? `${pathname}?${query}` : pathname, { scroll: false });
  }

  const sources = useMemo(() => {
    const ids = new Set(accounts.map((account) => account.id));
    for (const record of visible) if (record.account) ids.add(record.account);
    if (filter.account && filter.account !== HUB_SOURCE) ids.add(filter.account);
    return [...ids].sort();
  }, [accounts, visible, filter.account]);

  // Follow the tail while the reader is at the bottom; leave them be when scrolled up.
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  useLayoutEffect(() => {
    const element = scroller.current;
    if (element && atBottom.current) element.scrollTop = element.scrollHeight;
  }, [shown]);

  return (
    <>
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-2xl font-semibold tracking-tight">Logs</h1>
        <p className="text-muted-foreground text-sm tabular-nums" data-testid="log-count" aria-live="off">
          Showing {shown.length} of {visible.length} records (the newest {LOG_CAPACITY} are kept)
        </p>
      </div>

      <div className="flex flex-wrap items-end gap-3" role="group" aria-label="Log filters">
        <div className="grid gap-1.5">
          <Label htmlFor="log-level">Level</Label>
          <NativeSelect
            id="log-level"
            value={filter.level}
            onChange={(event) => setFilter({ level: event.target.value as LogLevel })}
            data-testid="log-level"
          >
            {LEVEL_OPTIONS.map((option) => (
              <NativeSelectOption key={option.value} value={option.value}>
                {option.label}
              </NativeSelectOption>
            ))}
          </NativeSelect>
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="log-source">Source</Label>
          <NativeSelect
            id="log-source"
            value={filter.account ?? ""}
            onChange={(event) => setFilter({ account: event.target.value || null })}
            data-testid="log-source"
          >
            <NativeSelectOption value="">All sources</NativeSelectOption>
            <NativeSelectOption value={HUB_SOURCE}>Hub only</NativeSelectOption>
            {sources.map((id) => (
              <NativeSelectOption key={id} value={id}>
                {id}
              </NativeSelectOption>
            ))}
          </NativeSelect>
        </div>
        <Button
          variant={paused ? "default" : "outline"}
          onClick={() => (paused ? resume() : pause())}
          aria-pressed={paused}
          data-testid="log-pause"
        >
          {paused ? <Play aria-hidden="true" /> : <Pause aria-hidden="true" />}
          {paused ? "Resume" : "Pause"}
        </Button>
        <Button variant="ghost" onClick={() => clear()}>
          <Trash2 aria-hidden="true" />
          Clear
        </Button>
        <p className="text-sm tabular-nums" role="status">
          {paused ? (
            <span className="text-amber-300">
              Paused: {missed} new record{missed === 1 ? "" : "s"} since (of {total} kept).
            </span>
          ) : socket === "open" ? (
            <span className="text-muted-foreground">Live</span>
          ) : (
            <span className="text-muted-foreground">Not connected: new records appear once the connection is back.</span>
          )}
        </p>
      </div>

      {historyNote ? <p className="text-muted-foreground text-sm">{historyNote}</p> : null}

      <Card className="min-h-0 flex-1 py-0">
        <CardContent className="p-0">
          <div
            ref={scroller}
            tabIndex={0}
            role="region"
            aria-label="Log records, newest last"
            className="focus-visible:ring-ring/50 h-[calc(100vh-18rem)] min-h-80 overflow-y-auto rounded-xl py-2 outline-none focus-visible:ring-[3px]"
            onScroll={(event) => {
              const element = event.currentTarget;
              atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
            }}
            data-testid="log-scroller"
          >
            {shown.length === 0 ? (
              <p className="text-muted-foreground p-6 text-center text-sm">
                No log records {filter.level !== "INFO" || filter.account ? "match these filters " : ""}yet.
              </p>
            ) : (
              <>
                <div
                  className="text-muted-foreground grid grid-cols-[9.5rem_5.5rem_8rem_minmax(0,1fr)] gap-x-3 border-l-2 border-transparent px-3 pb-1 font-mono text-xs"
                  aria-hidden="true"
                  data-testid="log-header"
                >
                  <span>Time ({EXCHANGE_TIME_ZONE})</span>
                  <span>Level</span>
                  <span>Source</span>
                  <span>Message</span>
                </div>
                <ol className="grid" aria-label={`Log records; times are exchange time, ${EXCHANGE_TIME_ZONE}`}>
                {shown.map((record) => (
                  <LogLine key={logKey(record)} record={record} />
                ))}
                </ol>
              </>
            )}
          </div>
        </CardContent>
      </Card>
    </>
  );
}
