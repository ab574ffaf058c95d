import { beforeEach, describe, expect, it } from "vitest";

import {
  HUB_SOURCE,
  LOG_CAPACITY,
  filterLogs,
  levelRank,
  mergeRing,
  selectVisible,
  useLogsStore,
} from "@/stores/logs";

import { record } from "./support/fixtures";

const initial = useLogsStore.getState();

beforeEach(() => {
  useLogsStore.setState(initial, true);
});

describe("logs store", () => {
  it("keeps at most its capacity, dropping the oldest", () => {
    const many = Array.from({ length: LOG_CAPACITY + 500 }, (_, index) => record({ msg: `m${index}` }));
    useLogsStore.getState().append(many.slice(0, 1000));
    useLogsStore.getState().append(many.slice(1000));
    const { records } = useLogsStore.getState();
    expect(records).toHaveLength(LOG_CAPACITY);
    expect(records[0].msg).toBe("m500");
    expect(records.at(-1)?.msg).toBe(`m${LOG_CAPACITY + 499}`);
  });

  it("drops the copies a reconnect's backlog repeats", () => {
    const lines = [record(), record(), record()];
    useLogsStore.getState().append(lines);
    useLogsStore.getState().append([...lines, record({ msg: "new" })]);
    expect(useLogsStore.getState().records.map((line) => line.msg)).toEqual([...lines.map((l) => l.msg), "new"]);
  });

  it("puts older records from a backfill in time order", () => {
    const early = record({ msg: "early" });
    const late = record({ msg: "late" });
    const middle = { ...record({ msg: "middle" }), ts: (early.ts + late.ts) / 2 };
    useLogsStore.getState().append([early, late]);
    useLogsStore.getState().append([middle]);
    expect(useLogsStore.getState().records.map((line) => line.msg)).toEqual(["early", "middle", "late"]);
  });

  it("freezes the view while paused, counts what arrives, and catches up on resume", () => {
    const store = useLogsStore.getState();
    store.append([record({ msg: "before" })]);
    store.pause();
    store.append([record({ msg: "during-1" }), record({ msg: "during-2" })]);
    let state = useLogsStore.getState();
    expect(selectVisible(state).map((line) => line.msg)).toEqual(["before"]);
    expect(state.missed).toBe(2);
    expect(state.records).toHaveLength(3); // the ring keeps filling (bounded)

    state.resume();
    state = useLogsStore.getState();
    expect(state.paused).toBe(false);
    expect(state.missed).toBe(0);
    expect(selectVisible(state).map((line) => line.msg)).toEqual(["before", "during-1", "during-2"]);
  });

  it("stays bounded while paused too", () => {
    const store = useLogsStore.getState();
    store.setCapacity(10);
    store.append(Array.from({ length: 10 }, () => record()));
    store.pause();
    store.append(Array.from({ length: 25 }, () => record()));
    const state = useLogsStore.getState();
    expect(state.records).toHaveLength(10);
    expect(state.frozen).toHaveLength(10);
    expect(state.missed).toBe(10);
  });

  it("clears", () => {
    useLogsStore.getState().append([record()]);
    useLogsStore.getState().clear();
    expect(useLogsStore.getState().records).toEqual([]);
  });
});

describe("mergeRing", () => {
  it("returns the same ring when nothing is new (no re-render)", () => {
    const ring = [record()];
    expect(mergeRing(ring, [], 10)).toBe(ring);
    expect(mergeRing(ring, [...ring], 10)).toBe(ring);
  });
});

describe("filterLogs", () => {
  const lines = [
    record({ level: "DEBUG", account: "sim-a" }),
    record({ level: "INFO", account: "sim-a" }),
    record({ level: "WARNING", account: "sim-b" }),
    record({ level: "ERROR", account: "sim-a" }),
    record({ level: "CRITICAL", account: null }),
    record({ level: "ERROR", account: "" }),
  ];

  it("treats the level as a minimum, like the API", () => {
    expect(filterLogs(lines, { level: "WARNING", account: null }).map((line) => line.level)).toEqual([
      "WARNING",
      "ERROR",
      "CRITICAL",
      "ERROR",
    ]);
    expect(filterLogs(lines, { level: "ERROR", account: null })).toHaveLength(3);
  });

  it("filters by source, and by the hub itself", () => {
    expect(filterLogs(lines, { level: "INFO", account: "sim-a" }).map((line) => line.level)).toEqual(["INFO", "ERROR"]);
    expect(filterLogs(lines, { level: "INFO", account: HUB_SOURCE })).toHaveLength(2);
  });

  it("knows WARN and FATAL as aliases", () => {
    expect(levelRank("warn")).toBe(levelRank("WARNING"));
    expect(levelRank("FATAL")).toBe(levelRank("CRITICAL"));
  });
});
