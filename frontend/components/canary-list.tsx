import { formatAge, formatAgeTitle } from "@/lib/format";
import { CANARY_LATE_SECONDS } from "@/lib/states";
import { cn } from "@/lib/utils";

/** Each canary contract with the seconds since its last tick; late ones say so. */
export function CanaryList({
  canaries,
  now = null,
}: {
  canaries: Record<string, number | null> | null | undefined;
  /** The hub clock the ages were measured at (epoch seconds), for the tooltips. */
  now?: number | null;
}) {
  const entries = Object.entries(canaries ?? {});
  if (entries.length === 0) return <span className="text-muted-foreground">none</span>;
  return (
    <ul className="flex flex-col gap-0.5">
      {entries.map(([symbol, age]) => {
        const late = age === null || age > CANARY_LATE_SECONDS;
        return (
          <li key={symbol} className="flex items-baseline gap-2 font-mono text-xs">
            <span>{symbol}</span>
            <span
              className={cn("tabular-nums", late ? "text-amber-300" : "text-emerald-300")}
              title={now === null ? undefined : formatAgeTitle(age, now)}
            >
              {age === null ? "no tick yet" : formatAge(age)}
              {late && age !== null ? <span className="ml-1">(late)</span> : null}
            </span>
          </li>
        );
      })}
    </ul>
  );
}
