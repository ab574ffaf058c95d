"use client";

import { ThemeProvider } from "next-themes";

import { Toaster } from "@/components/ui/sonner";

/** Dark by default (and only, for now): long monitoring sessions, low glare. */
export function Providers({ children }: { children: React.ReactNode }) {
  return (
    <ThemeProvider attribute="class" defaultTheme="dark" forcedTheme="dark" enableSystem={false}>
      {children}
      <Toaster position="bottom-right" closeButton richColors />
    </ThemeProvider>
  );
}
