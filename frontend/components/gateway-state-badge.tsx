import Link from "next/link";

import { STATE_HELP, TONE_CLASSES, toneOf } from "@/lib/states";
import type { GatewayState } from "@/lib/types";
import { cn } from "@/lib/utils";

interface Props {
  state: GatewayState | string;
  reason?: string;
  /** When set, the badge is a link (drill-down to this source's logs). */
  href?: string;
  label?: string;
}

/** A source's state: a coloured dot and the state's name, never colour alone. */
export function GatewayStateBadge({ state, reason, href, label }: Props) {
  const tone = TONE_CLASSES[toneOf(state)];
  const help = reason || STATE_HELP[state as GatewayState] || state;
  const className = cn(
    "inline-flex items-center gap-1.5 rounded-md border px-2 py-0.5 text-xs font-medium whitespace-nowrap",
    tone.ring,
    tone.text,
  );
  const content = (
    <>
      <span className={cn("inline-block size-2 rounded-full", tone.dot)} aria-hidden="true" />
      {state}
    </>
  );
  if (href) {
    return (
      <Link
        href={href}
        title={`${help} — view logs`}
        aria-label={label}
        className={cn(className, "focus-visible:ring-ring/50 underline-offset-2 outline-none hover:underline focus-visible:ring-[3px]")}
        data-testid="state-badge"
        data-state={state}
      >
        {content}
        <span className="sr-only">, view logs</span>
      </Link>
    );
  }
  return (
    <span className={className} title={help} data-testid="state-badge" data-state={state}>
      {content}
    </span>
  );
}
