/**
 * The Bridge of shared/client.ts over the `serve` host's WebSocket (main/host/serve/server.ts). Requests
 * carry ids and are matched to their responses; requests made while the socket is not open wait in a
 * queue; when the socket drops, the requests already sent fail at once (their answer is lost with the
 * connection) and the bridge reconnects with a growing delay.
 *
 * No Node imports: this file is bundled into the renderer. In Node (tests, CLI tools) pass `ws`'s WebSocket.
 */
import type { Bridge, ResponseBody } from './client.ts';
import type { IpcError } from './contract.ts';

/** The path of the data channel on the `serve` host; the token goes in its `?token=` query. */
export const IPC_PATH = '/ipc';

/** What the bridge needs from a WebSocket: satisfied by the browser's WebSocket and by `ws`. */
export interface SocketMessage {
  readonly data: unknown;
}
export interface SocketClose {
  readonly code: number;
  readonly reason: string;
}
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: SocketMessage) => void): void;
  addEventListener(type: 'close', listener: (event: SocketClose) => void): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The same names as the renderer's LinkState, plus 'closed' once `close()` was called. */
export type LinkState = 'connecting' | 'online' | 'reconnecting' | 'unauthorized' | 'closed';

export interface BridgeStatus {
  state: LinkState;
  /** Failed connection attempts since the socket was last open. */
  failures: number;
  /** The last transport problem, in words; null while online. */
  error: string | null;
}

export interface WebSocketBridgeOptions {
  /** First reconnect delay; doubles on each failure up to maxDelayMs. Default 250 ms. */
  initialDelayMs?: number;
  /** Default 5000 ms. */
  maxDelayMs?: number;
  /** How long a request may wait for the socket to open before it fails. Default 30 s. */
  queueTimeoutMs?: number;
  onStatus?: (status: BridgeStatus) => void;
  /**
   * Used after a handshake fails, to tell a refused token (HTTP 401) from a server that is down: a
   * WebSocket cannot see the status of a refused upgrade. Default: the global fetch, if any.
   */
  fetch?: (url: string) => Promise<{ status: number }>;
}

export interface WebSocketBridge extends Bridge {
  readonly status: BridgeStatus;
  /** Stop reconnecting and fail every pending request. */
  close(): void;
}

/**
 * The socket URL for a page served by the `serve` host: same host, path /ipc, and the page's own
 * `?token=` (the URL printed by `npm start` carries it). A page without a token gets a URL without one,
 * which the host refuses; the bridge then reports 'unauthorized'.
 */
export function socketUrlForPage(pageUrl: string): string {
  const page = new URL(pageUrl);
  const socket = new URL(IPC_PATH, page);
  socket.protocol = page.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = page.searchParams.get('token');
  if (token !== null) socket.searchParams.set('token', token);
  return socket.href;
}

const OPEN = 1; // WebSocket.OPEN, the same in the browser and in `ws`.

interface Pending {
  id: number;
  channel: string;
  text: string;
  resolve: (body: ResponseBody) => void;
  reject: (error: Error) => void;
  /** Set while the request waits in the queue. */
  timer: ReturnType<typeof setTimeout> | null;
}

export function createWebSocketBridge(url: string, WebSocketImpl?: WebSocketConstructor, options: WebSocketBridgeOptions = {}): WebSocketBridge {
  const Impl = WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Impl) throw new Error('GAN Studio: no WebSocket implementation here; pass one (e.g. the `ws` package) to createWebSocketBridge');
  const initialDelayMs = options.initialDelayMs ?? 250;
  const maxDelayMs = options.maxDelayMs ?? 5000;
  const queueTimeoutMs = options.queueTimeoutMs ?? 30_000;
  const probe = options.fetch ?? defaultFetch();

  const listeners = new Set<(channel: string, payload: unknown) => void>();
  /** Sent, waiting for their response. */
  const inFlight = new Map<number, Pending>();
  /** Not sent yet: waiting for the socket to open. */
  const queue = new Map<number, Pending>();
  let nextId = 1;
  let socket: WebSocketLike | null = null;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  let status: BridgeStatus = { state: 'connecting', failures: 0, error: null };

  const setStatus = (next: BridgeStatus): void => {
    status = next;
    options.onStatus?.({ ...next });
  };

  const failAll = (pending: Map<number, Pending>, error: (p: Pending) => Error): void => {
    for (const p of pending.values()) {
      if (p.timer !== null) clearTimeout(p.timer);
      p.reject(error(p));
    }
    pending.clear();
  };

  const transmit = (p: Pending): void => {
    if (p.timer !== null) clearTimeout(p.timer);
    p.timer = null;
    inFlight.set(p.id, p);
    try {
      socket?.send(p.text);
    } catch (error) {
      inFlight.delete(p.id);
      p.reject(new Error(`GAN Studio: could not send "${p.channel}": ${messageOf(error)}`));
    }
  };

  const connect = (): void => {
    const ws = new Impl(url); // throws on a malformed URL: a programming error, surfaced at once
    socket = ws;
    let opened = false;
    ws.addEventListener('open', () => {
      if (socket !== ws) return;
      opened = true;
      setStatus({ state: 'online', failures: 0, error: null });
      const waiting = [...queue.values()];
      queue.clear();
      for (const p of waiting) transmit(p);
    });
    ws.addEventListener('message', (event) => {
      if (socket === ws) receive(event.data);
    });
    // Without an error listener, `ws` would throw the error; the close event that follows does the work.
    ws.addEventListener('error', () => {});
    ws.addEventListener('close', (event) => {
      if (socket !== ws) return;
      socket = null;
      const why = opened ? `the connection to the studio was lost (${describeClose(event)})` : 'the studio could not be reached';
      failAll(inFlight, (p) => new Error(`GAN Studio: ${why} before "${p.channel}" was answered; reconnecting — try again`));
      if (closed) return;
      const failures = status.failures + 1;
      setStatus({ state: opened || status.state !== 'unauthorized' ? 'reconnecting' : 'unauthorized', failures, error: why });
      const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(failures - 1, 20));
      reconnectTimer = setTimeout(() => {
        reconnectTimer = null;
        if (!closed) connect();
      }, delay);
      if (!opened && probe) void checkToken(probe, failures);
    });
  };

  /** After a failed handshake: did the host refuse our token? Then nothing queued can ever succeed. */
  const checkToken = async (fetchStatus: (url: string) => Promise<{ status: number }>, failures: number): Promise<void> => {
    let refused: boolean;
    try {
      refused = (await fetchStatus(url.replace(/^ws/, 'http'))).status === 401;
    } catch {
      return; // down, not refusing: keep reconnecting
    }
    if (!refused || closed || status.state === 'online' || status.failures !== failures) return;
    const message = 'the studio refused this page\u2019s token — open the URL printed by `npm start`';
    setStatus({ state: 'unauthorized', failures, error: message });
    failAll(queue, () => new Error(`GAN Studio: ${message}`));
  };

  const receive = (data: unknown): void => {
    if (typeof data !== 'string') return; // the host only sends JSON text
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      console.warn('[wsBridge] ignored a message that is not JSON');
      return;
    }
    if (!isRecord(message)) return;
    if (message.kind === 'event' && typeof message.channel === 'string') {
      for (const listener of [...listeners]) {
        try {
          listener(message.channel, message.payload);
        } catch (error) {
          console.error(`[wsBridge] a listener of ${message.channel} failed:`, error);
        }
      }
      return;
    }
    if (message.kind !== 'response' || typeof message.id !== 'number') return;
    const p = inFlight.get(message.id);
    if (!p) {
      // id -1: the host could not read a request at all; ours are always well-formed, so this is a bug.
      console.warn(`[wsBridge] response to unknown request ${message.id}:`, message.error ?? message.result);
      return;
    }
    inFlight.delete(message.id);
    p.resolve(message.ok === true ? { ok: true, result: message.result } : { ok: false, error: toIpcError(message.error) });
  };

  connect();

  return {
    get status() {
      return { ...status };
    },
    request(channel, params) {
      return new Promise<ResponseBody>((resolve, reject) => {
        if (closed) return reject(new Error(`GAN Studio: the connection was closed; cannot send "${channel}"`));
        if (status.state === 'unauthorized' && socket?.readyState !== OPEN) {
          return reject(new Error(`GAN Studio: ${status.error ?? 'the studio refused this page\u2019s token'}`));
        }
        const id = nextId++;
        let text: string;
        try {
          text = JSON.stringify({ kind: 'request', id, channel, params });
        } catch (error) {
          return reject(new Error(`GAN Studio: the params of "${channel}" cannot be sent as JSON: ${messageOf(error)}`));
        }
        const p: Pending = { id, channel, text, resolve, reject, timer: null };
        if (socket?.readyState === OPEN) return transmit(p);
        p.timer = setTimeout(() => {
          queue.delete(id);
          reject(new Error(`GAN Studio: not connected to the studio (waited ${Math.round(queueTimeoutMs / 1000)} s to send "${channel}")`));
        }, queueTimeoutMs);
        queue.set(id, p);
      });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    close() {
      if (closed) return;
      closed = true;
      if (reconnectTimer !== null) clearTimeout(reconnectTimer);
      const error = (p: Pending): Error => new Error(`GAN Studio: the connection was closed before "${p.channel}" was answered`);
      failAll(queue, error);
      failAll(inFlight, error);
      socket?.close(1000, 'closed by the client');
      socket = null;
      setStatus({ state: 'closed', failures: status.failures, error: null });
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The host sends contract-shaped errors; anything else still becomes a readable IpcError. */
function toIpcError(error: unknown): IpcError {
  if (isRecord(error) && typeof error.code === 'string' && typeof error.message === 'string') {
    const details = Array.isArray(error.details) ? error.details.filter((d): d is string => typeof d === 'string') : undefined;
    return { code: error.code as IpcError['code'], message: error.message, ...(details ? { details } : {}) };
  }
  return { code: 'internal', message: 'the studio sent an error without a message' };
}

function describeClose(event: SocketClose): string {
  return event.reason ? `code ${event.code}: ${event.reason}` : `code ${event.code}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function defaultFetch(): ((url: string) => Promise<{ status: number }>) | undefined {
  const f = (globalThis as { fetch?: (url: string) => Promise<{ status: number }> }).fetch;
  // Called with the global as `this`: a detached fetch throws "Illegal invocation" in some browsers.
  return f ? (u) => f.call(globalThis, u) : undefined;
}
