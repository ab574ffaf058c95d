// A real WebSocket server (the `ws` package) standing in for Django Channels' /ws/.

import type { AddressInfo } from "node:net";

import { WebSocketServer, type WebSocket } from "ws";

export interface HubServer {
  url: string;
  /** Connections so far, newest last. */
  clients: WebSocket[];
  /** Messages clients sent, parsed. */
  received: unknown[];
  /** Resolves with the next connection. */
  nextConnection: () => Promise<WebSocket>;
  broadcast: (frame: unknown) => void;
  close: () => Promise<void>;
}

export async function startHubServer(onConnect?: (socket: WebSocket) => void): Promise<HubServer> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const clients: WebSocket[] = [];
  const received: unknown[] = [];
  let waiters: ((socket: WebSocket) => void)[] = [];
  server.on("connection", (socket) => {
    clients.push(socket);
    socket.on("message", (data) => received.push(JSON.parse(String(data))));
    onConnect?.(socket);
    const pending = waiters;
    waiters = [];
    for (const resolve of pending) resolve(socket);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws/`,
    clients,
    received,
    nextConnection: () => new Promise((resolve) => waiters.push(resolve)),
    broadcast: (frame) => {
      for (const client of clients) if (client.readyState === client.OPEN) client.send(JSON.stringify(frame));
    },
    close: () =>
      new Promise((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}
