/**
 * The one way the renderer reaches the main side: a StudioClient over whichever bridge this page has.
 * In Electron the preload script exposes `window.ganStudio`; in a plain browser we talk to the headless
 * `serve` host over its WebSocket (`/ipc?token=…`, the token taken from this page's own URL, which
 * `npm start` printed). The WebSocket bridge reports its link state, which drives the connection indicator.
 */
import { createClient, type Bridge, type ResponseBody, type StudioClient } from '../../../shared/client.ts';
import type { GanStudioPreload } from '../../../shared/preloadApi.ts';
import { createWebSocketBridge, socketUrlForPage, type BridgeStatus } from '../../../shared/wsBridge.ts';
import { connection } from './connection.svelte.ts';

export type HostKind = 'electron' | 'browser';

const preload: GanStudioPreload | undefined = window.ganStudio;

export const hostKind: HostKind = preload ? 'electron' : 'browser';

/** The page URL's ?token= (browser only); null when the page was opened without one. */
export const token: string | null = preload ? null : new URLSearchParams(location.search).get('token');

/** Electron can tell the real path of a dropped file or folder; a browser never can, hence null. */
export const pathForFile: ((file: File) => string) | null = preload ? (file) => preload.pathForFile(file) : null;

const reconnectListeners = new Set<() => void>();

/** Run `listener` each time the link comes back after a loss: events sent meanwhile are gone, reload. */
export function onReconnect(listener: () => void): () => void {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

function showStatus(status: BridgeStatus): void {
  connection.failures = status.failures;
  connection.lastError = status.error;
  if (status.state === 'online') {
    const recovered = connection.everConnected && connection.state !== 'online';
    connection.state = 'online';
    connection.everConnected = true;
    if (recovered) for (const listener of reconnectListeners) listener();
  } else if (status.state === 'unauthorized') {
    connection.state = 'unauthorized';
  } else {
    connection.state = connection.everConnected ? 'reconnecting' : 'connecting';
  }
}

/** The host may also refuse a single request (e.g. a token revoked mid-session). */
function watchForRefusals(bridge: Bridge): Bridge {
  return {
    async request(channel: string, params: unknown): Promise<ResponseBody> {
      const body = await bridge.request(channel, params);
      if (!body.ok && body.error.code === 'unauthorized') {
        connection.state = 'unauthorized';
        connection.lastError = body.error.message;
      }
      return body;
    },
    subscribe: (listener) => bridge.subscribe(listener),
  };
}

function pickBridge(): Bridge {
  if (preload) {
    // IPC to our own main process: there is no link to lose.
    connection.state = 'online';
    connection.everConnected = true;
    return preload;
  }
  return createWebSocketBridge(socketUrlForPage(location.href), undefined, { onStatus: showStatus });
}

export const client: StudioClient = createClient(watchForRefusals(pickBridge()));
