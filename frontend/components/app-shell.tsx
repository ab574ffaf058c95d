"use client";

import { usePathname, useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { toast } from "sonner";

import { EngineBanner } from "@/components/engine-banner";
import { SiteHeader } from "@/components/site-header";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { useHubSocket } from "@/hooks/use-hub-socket";
import { ApiError, getGateways } from "@/lib/api";
import { useGatewaysStore } from "@/stores/gateways";
import { useSessionStore } from "@/stores/session";

/**
 * Everything behind the login: checks the session, holds the one hub socket, loads the
 * initial gateway snapshot, and frames each screen with the header and the offline banner.
 */
export function AppShell({ children }: { children: React.ReactNode }) {
  const router = useRouter();
  const pathname = usePathname();
  const status = useSessionStore((state) => state.status);
  const check = useSessionStore((state) => state.check);
  const authenticated = status === "authenticated";
  const [unreachable, setUnreachable] = useState(false);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    if (status !== "unknown") return;
    setUnreachable(false);
    check().catch(() => setUnreachable(true));
  }, [check, status, attempt]);

  useEffect(() => {
    if (status === "anonymous") {
      const next = window.location.pathname + window.location.search;
      router.replace(`/login?next=${encodeURIComponent(next)}`);
    }
  }, [status, router, pathname]);

  useHubSocket({}, authenticated);
  useInitialGateways(authenticated);
  usePendingExpiry(authenticated);

  if (!authenticated && unreachable) {
    return (
      <main id="main" className="mx-auto flex min-h-screen max-w-md flex-col items-center justify-center gap-4 p-6 text-center">
        <h1 className="text-xl font-semibold">Cannot reach the mdhub server</h1>
        <p className="text-muted-foreground">Check that the web process (daphne / runserver) is running, then retry.</p>
        <Button onClick={() => setAttempt((value) => value + 1)}>Retry</Button>
      </main>
    );
  }

  if (!authenticated) {
    return (
      <div className="p-6" aria-busy="true">
        <span className="sr-only" role="status">
          Checking your session…
        </span>
        <Skeleton className="mb-6 h-12 w-full" />
        <Skeleton className="h-64 w-full" />
      </div>
    );
  }

  return (
    <div className="flex min-h-screen flex-col">
      <a
        href="#main"
        className="bg-background text-foreground focus-visible:ring-ring sr-only z-50 rounded-md px-3 py-2 focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus-visible:ring-[3px]"
      >
        Skip to content
      </a>
      <SiteHeader />
      <main id="main" tabIndex={-1} className="mx-auto flex w-full max-w-[1600px] flex-1 flex-col gap-4 p-4 outline-none md:p-6">
        <EngineBanner />
        {children}
      </main>
    </div>
  );
}

function useInitialGateways(enabled: boolean): void {
  useEffect(() => {
    if (!enabled) return undefined;
    const controller = new AbortController();
    getGateways(controller.signal)
      // A socket frame may have been first: the store keeps the newer state.
      .then((snapshot) => useGatewaysStore.getState().applyInitialSnapshot(snapshot))
      .catch((error: unknown) => {
        if ((error as Error)?.name === "AbortError") return;
        const message =
          error instanceof ApiError && error.status === 404
            ? "Live gateway state is not available: GET /api/gateways answered 404. Update the mdhub server, then reload."
            : (error as Error).message;
        useGatewaysStore.getState().setLoadError(message);
      });
    return () => controller.abort();
  }, [enabled]);
}

function usePendingExpiry(enabled: boolean): void {
  useEffect(() => {
    if (!enabled) return undefined;
    const timer = setInterval(() => {
      const pending = useGatewaysStore.getState().pending;
      const expired = useGatewaysStore.getState().expirePending();
      for (const id of expired) {
        toast.warning(`No change seen on ${id} after “${pending[id]?.command}”: check its logs.`);
      }
    }, 1000);
    return () => clearInterval(timer);
  }, [enabled]);
}
