"use client";

// The one WebSocket to the hub (`/ws/`, same origin, the session cookie authenticates).
// Frames go straight into the zustand stores; the connection comes back by itself with
// exponential backoff; close code 4401 means the session is gone (back to /login).

import { useEffect } from "react";

import { notifyUnauthorized } from "@/lib/api";
import type { ClientFrame, HubFrame } from "@/lib/types";
import { useGatewaysStore, type SocketState } from "@/stores/gateways";
import { useLogsStore } from "@/stores/logs";

/** Close code the server uses for an anonymous connection. */
export const CLOSE_UNAUTHORIZED = 4401;

export interface Backoff {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: each delay is spread by ±jitter so many dashboards do not reconnect in step. */
  jitter: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 15_000, factor: 2, jitter: 0.2 };

/** Delay before reconnect attempt number `attempt` (0-based). */
export function backoffDelay(attempt: number, backoff: Backoff = DEFAULT_BACKOFF, random = Math.random): number {
  const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** attempt);
  const spread = base * backoff.jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(base + spread));
}

/** `ws(s)://<host>/ws/` for the page's own origin. */
export function hubSocketUrl(location: Pick<Location, "protocol" | "host"> = window.location): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/`;
}

/** Route one server frame into the stores. Other frame types (error, new ones) are ignored. */
export function dispatchFrame(frame: HubFrame): void {
  switch (frame.type) {
    case "gateway.status": {
      const { type: _type, ...snapshot } = frame;
      useGatewaysStore.getState().applySnapshot(snapshot);
      break;
    }
    case "engine.offline":
      useGatewaysStore.getState().setEngineOffline();
      break;
    case "hub.log":
      useLogsStore.getState().append(Array.isArray(frame.records) ? frame.records : []);
      break;
    case "hub.failover": {
      const { type: _type, ...failover } = frame;
      useGatewaysStore.getState().addFailover(failover);
      break;
    }
    case "hub.metrics": {
      const { type: _type, ...metrics } = frame;
      useGatewaysStore.getState().setMetrics(metrics);
      break;
    }
    case "hub.event":
      if (frame.event && typeof frame.event === "object") useGatewaysStore.getState().applyEvent(frame.event);
      break;
    case "error": // The server's answer to a frame it could not use: nothing to show.
    default:
      break;
  }
}

type SocketLike = Pick<WebSocket, "close" | "send" | "readyState"> & {
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
};

export interface HubSocketOptions {
  url?: string;
  /** A WebSocket constructor (tests pass the `ws` package's one under Node). */
  WebSocketImpl?: new (url: string) => SocketLike;
  backoff?: Backoff;
  onFrame?: (frame: HubFrame) => void;
  onStateChange?: (state: SocketState) => void;
  onUnauthorized?: () => void;
  /** Sent after every (re)connect, e.g. a logs.filter. */
  hello?: () => ClientFrame[];
}

export interface HubSocketHandle {
  /** Stop for good: close the socket, cancel any pending reconnect. */
  (): void;
  /** Send a frame now if connected (it is dropped otherwise; use `hello` for state). */
  send: (frame: ClientFrame) => boolean;
}

/**
 * Open the hub socket and keep it open. Returns its cleanup (which also has `send`).
 */
export function connectHubSocket(options: HubSocketOptions = {}): HubSocketHandle {
  const url = options.url ?? hubSocketUrl();
  const Impl = options.WebSocketImpl ?? (globalThis.WebSocket as unknown as new (url: string) => SocketLike);
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const onFrame = options.onFrame ?? dispatchFrame;
  const onState = options.onStateChange ?? ((state: SocketState) => useGatewaysStore.getState().setSocketState(state));
  const onUnauthorized = options.onUnauthorized ?? notifyUnauthorized;

  let socket: SocketLike | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let attempt = 0;
  let stopped = false;

  const open = (): void => {
    if (stopped) return;
    onState("connecting");
    let current: SocketLike;
    try {
      current = new Impl(url);
    } catch {
      scheduleReconnect();
      return;
    }
    socket = current;
    current.onopen = () => {
      attempt = 0;
      onState("open");
      for (const frame of options.hello?.() ?? []) current.send(JSON.stringify(frame));
    };
    current.onmessage = (event: MessageEvent) => {
      let frame: HubFrame;
      try {
        frame = JSON.parse(typeof event.data === "string" ? event.data : String(event.data));
      } catch {
        return; // Not JSON: not ours.
      }
      if (frame && typeof frame === "object" && typeof frame.type === "string") onFrame(frame);
    };
    current.onerror = () => {
      // The close event follows; reconnecting happens there.
    };
    current.onclose = (event: CloseEvent) => {
      if (socket !== current) return;
      socket = null;
      onState("closed");
      if (stopped) return;
      if (event.code === CLOSE_UNAUTHORIZED) {
        // Reconnecting cannot help: the session is gone.
        stopped = true;
        onUnauthorized();
        return;
      }
      scheduleReconnect();
    };
  };

  const scheduleReconnect = (): void => {
    if (stopped) return;
    const delay = backoffDelay(attempt, backoff);
    attempt += 1;
    timer = setTimeout(() => {
      timer = null;
      open();
    }, delay);
  };

  const cleanup = (() => {
    stopped = true;
    if (timer) clearTimeout(timer);
    timer = null;
    const current = socket;
    socket = null;
    if (current) {
      current.onclose = null;
      current.onmessage = null;
      current.onopen = null;
      // Not null: the `ws` package throws an error event that has no listener.
      current.onerror = () => {};
      try {
        current.close(1000, "dashboard closed");
      } catch {
        // Still connecting in some implementations: nothing more to do.
      }
    }
    onState("closed");
  }) as HubSocketHandle;

  cleanup.send = (frame: ClientFrame) => {
    const OPEN = 1;
    if (!socket || socket.readyState !== OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  };

  open();
  return cleanup;
}

/**
 * Keep the hub socket open while the calling component is mounted. Mount it once, in the
 * dashboard shell: every screen reads the stores it fills.
 */
export function useHubSocket(options: HubSocketOptions = {}, enabled = true): void {
  const { url, WebSocketImpl, backoff, onFrame, onStateChange, onUnauthorized, hello } = options;
  useEffect(() => {
    if (!enabled) return undefined;
    return connectHubSocket({ url, WebSocketImpl, backoff, onFrame, onStateChange, onUnauthorized, hello });
    // The socket lives as long as the shell; option identity changes must not reconnect it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [enabled, url]);
}
