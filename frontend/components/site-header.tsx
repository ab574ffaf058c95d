"use client";

import { Activity, LogOut } from "lucide-react";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { toast } from "sonner";

import { ConnectionIndicator } from "@/components/connection-indicator";
import { Button } from "@/components/ui/button";
import { cn } from "@/lib/utils";
import { useSessionStore } from "@/stores/session";

const NAV = [
  { href: "/", label: "Status" },
  { href: "/sources", label: "Sources" },
  { href: "/contracts", label: "Contracts" },
  { href: "/accounts", label: "Accounts" },
  { href: "/clients", label: "Clients" },
  { href: "/logs", label: "Logs" },
];

export function SiteHeader() {
  const pathname = usePathname();
  const router = useRouter();
  const user = useSessionStore((state) => state.user);
  const logout = useSessionStore((state) => state.logout);

  async function onLogout() {
    try {
      await logout();
    } catch {
      toast.error("Logout failed on the server; you are logged out here.");
    }
    router.replace("/login");
  }

  return (
    <header className="bg-card/60 border-b">
      <div className="mx-auto flex max-w-[1600px] flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3 md:px-6">
        <Link
          href="/"
          className="focus-visible:ring-ring/50 flex items-center gap-2 rounded-md font-semibold outline-none focus-visible:ring-[3px]"
        >
          <Activity className="size-5 text-sky-300" aria-hidden="true" />
          mdhub
        </Link>
        <nav aria-label="Main" className="flex items-center gap-1">
          {NAV.map((item) => {
            const active = item.href === "/" ? pathname === "/" : pathname?.startsWith(item.href);
            return (
              <Link
                key={item.href}
                href={item.href}
                aria-current={active ? "page" : undefined}
                className={cn(
                  "focus-visible:ring-ring/50 rounded-md px-3 py-1.5 text-sm font-medium outline-none focus-visible:ring-[3px]",
                  active ? "bg-secondary text-secondary-foreground" : "text-muted-foreground hover:text-foreground",
                )}
              >
                {item.label}
              </Link>
            );
          })}
        </nav>
        <div className="ml-auto flex items-center gap-3">
          <ConnectionIndicator />
          {user ? (
            <span className="text-muted-foreground hidden text-sm sm:inline">
              {user.username}
              <span className="sr-only">,</span> <span className="text-xs">({user.is_staff ? "operator" : "viewer"})</span>
            </span>
          ) : null}
          <Button variant="outline" size="sm" onClick={onLogout}>
            <LogOut aria-hidden="true" />
            Log out
          </Button>
        </div>
      </div>
    </header>
  );
}
