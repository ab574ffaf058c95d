"use client";

import { useEffect, useState } from "react";

/** Calls `load` now and every `intervalMs`, keeping the newest answer; aborts on unmount
 * or when `key` changes. An error keeps the last answer and is reported beside it. */
export function usePolled<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number, key: string) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const answer = await load(controller.signal);
        if (!controller.signal.aborted) {
          setData(answer);
          setError(null);
        }
      } catch (err) {
        if (!controller.signal.aborted) setError(err instanceof Error ? err.message : String(err));
      }
      if (!controller.signal.aborted) timer = setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
    // `load` changes identity every render; the key says when it asks for something else.
  }, [key, intervalMs]);
  return { data, error };
}
