// A tiny real HTTP server for lib/api tests: routes are (method, path) → handler.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

export type Handler = (request: Seen, response: ServerResponse) => void;

export interface TestServer {
  url: string;
  seen: Seen[];
  route: (method: string, path: string, handler: Handler) => void;
  close: () => Promise<void>;
}

export function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "Content-Type": "application/json", ...headers });
  response.end(body === undefined ? "" : JSON.stringify(body));
}

export async function startServer(): Promise<TestServer> {
  const routes = new Map<string, Handler>();
  const seen: Seen[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const entry: Seen = {
        method: request.method ?? "GET",
        url: request.url ?? "/",
        headers: request.headers,
        body: text ? JSON.parse(text) : undefined,
      };
      seen.push(entry);
      const path = entry.url.split("?")[0];
      const handler = routes.get(`${entry.method} ${path}`) ?? routes.get(`* ${path}`);
      if (handler) handler(entry, response);
      else json(response, 404, { detail: "Not found." });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    route: (method, path, handler) => routes.set(`${method} ${path}`, handler),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A fetch that keeps cookies like a browser would for one origin. */
export function cookieFetch(): { fetch: typeof fetch; cookies: () => string; jar: Map<string, string> } {
  const jar = new Map<string, string>();
  const wrapped: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    if (jar.size) headers.set("Cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    const response = await fetch(input, { ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair.indexOf("=");
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return response;
  };
  return { fetch: wrapped, cookies: () => [...jar].map(([k, v]) => `${k}=${v}`).join("; "), jar };
}
