import type { NextConfig } from "next";
import { PHASE_DEVELOPMENT_SERVER } from "next/constants";

// Django serves the static export at "/" (same origin, so the session cookie
// authenticates the API and the WebSocket). In `next dev` there is no Django in
// front, so the dev server proxies the backend paths to it instead.
const DJANGO = process.env.MDHUB_DJANGO_URL ?? "http://127.0.0.1:8000";

export default function config(phase: string): NextConfig {
  if (phase === PHASE_DEVELOPMENT_SERVER) {
    return {
      reactStrictMode: true,
      // Django's URLs have no trailing slash (/api/accounts); keep them as they are.
      skipTrailingSlashRedirect: true,
      async rewrites() {
        // Django's admin and Channels want their trailing slash, which `:path*` drops:
        // the slash-ended forms come first.
        return [
          { source: "/api/:path*", destination: `${DJANGO}/api/:path*` },
          { source: "/admin/:path*/", destination: `${DJANGO}/admin/:path*/` },
          { source: "/admin/:path*", destination: `${DJANGO}/admin/:path*` },
          { source: "/static/:path*", destination: `${DJANGO}/static/:path*` },
          { source: "/ws/", destination: `${DJANGO}/ws/` },
          { source: "/ws/:path*", destination: `${DJANGO}/ws/:path*` },
          { source: "/metrics", destination: `${DJANGO}/metrics` },
        ];
      },
    };
  }
  return {
    reactStrictMode: true,
    output: "export",
    trailingSlash: false,
    images: { unoptimized: true },
  };
}
