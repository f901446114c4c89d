/**
 * The `serve` host: the built renderer over HTTP and the IPC contract over a WebSocket on /ipc, for use
 * in a browser. A transport only: every request envelope goes to `backend.dispatch`, every event of
 * `backend.subscribe` goes to every connected page.
 *
 * Like Jupyter, the page's files are public (they hold no data) and the data channel is guarded: the
 * upgrade must carry the token (`/ipc?token=`) and, from a browser, come from a page of this same host,
 * so other web pages open in the same browser cannot drive the studio.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { RequestEnvelope, describeIssues, type EventEnvelope, type ResponseEnvelope } from '../../../shared/contract.ts';
import type { ResponseBody } from '../../../shared/client.ts';
import { IPC_PATH } from '../../../shared/wsBridge.ts';
import { messageOf } from '../../errors.ts';
import { SECURITY_HEADERS, contentSecurityPolicy, contentTypeFor, realRoot, resolveStaticFile } from '../static.ts';
import type { HostBackend } from '../types.ts';

export interface ServerOptions {
  /** Interface to listen on. Default 127.0.0.1: only this machine. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Default: 32 random bytes as hex. */
  token?: string;
  /** The built renderer (renderer/dist). */
  staticDir: string;
  /** Largest accepted WebSocket message in bytes. Default 16 MiB. */
  maxPayload?: number;
}

export interface RunningServer {
  /** The page URL with its token: http://127.0.0.1:PORT/?token=... */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

export const UNAUTHORIZED_TEXT = 'GAN Studio: missing or wrong token — open the URL printed by `npm start`';

const DEFAULT_MAX_PAYLOAD = 16 * 1024 * 1024;
const HEARTBEAT_MS = 30_000;
/** Channels whose next message supersedes the last: dropped for a client that is this far behind. */
const SUPERSEDED_EVENTS = new Set(['training.progress', 'training.sample']);
const BACKLOG_LIMIT = 8 * 1024 * 1024;

export async function startServer(backend: HostBackend, options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(32).toString('hex');
  if (token.length === 0) throw new Error('GAN Studio: the token must not be empty');
  const expectedDigest = sha256(token);
  const root = await realRoot(options.staticDir);

  const clients = new Map<WebSocket, { alive: boolean }>();
  const wss = new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD });
  const server = http.createServer();
  let port = 0; // known once listening

  // Hashing both sides gives equal lengths, so timingSafeEqual neither throws nor leaks the token's length.
  const tokenMatches = (given: string | null): boolean => given !== null && timingSafeEqual(sha256(given), expectedDigest);

  /** Why a request to /ipc may not proceed, or null if it may. */
  const refusal = (req: IncomingMessage): { status: number; text: string } | null => {
    const { pathname, search } = splitUrl(req.url);
    if (pathname !== IPC_PATH) return { status: 404, text: 'Not found' };
    if (!tokenMatches(new URLSearchParams(search).get('token'))) return { status: 401, text: UNAUTHORIZED_TEXT };
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, req.headers.host, host)) {
      return { status: 403, text: `GAN Studio: pages from ${origin} may not use this studio; open the URL printed by \`npm start\`` };
    }
    return null;
  };

  const pageHeaders = (req: IncomingMessage): Record<string, string> => {
    const hostHeader = req.headers.host;
    // The page's own host as the browser sees it (validated: it lands in a header), else ours.
    const self = hostHeader && /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(hostHeader) ? hostHeader : `${urlHost(host)}:${port}`;
    return { 'Content-Security-Policy': contentSecurityPolicy([`ws://${self}`]), ...SECURITY_HEADERS };
  };

  const sendText = (req: IncomingMessage, res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void => {
    const body = `${text}\n`;
    res.writeHead(status, {
      ...pageHeaders(req),
      ...extra,
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const handleHttp = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { pathname } = splitUrl(req.url);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(req, res, 405, 'Method not allowed', { Allow: 'GET, HEAD' });
    if (pathname === IPC_PATH) {
      // A plain GET of the socket path answers what the upgrade would: lets a page tell "wrong token"
      // from "server down", which a WebSocket cannot see.
      const refused = refusal(req);
      return refused ? sendText(req, res, refused.status, refused.text) : sendText(req, res, 426, 'Upgrade Required', { Upgrade: 'websocket' });
    }
    const found = await resolveStaticFile(root, pathname);
    if (found.kind === 'forbidden') return sendText(req, res, 403, 'Forbidden');
    if (found.kind === 'missing') return sendText(req, res, 404, 'Not found');
    res.writeHead(200, {
      ...pageHeaders(req),
      'Content-Type': contentTypeFor(found.file),
      'Content-Length': String(found.size),
      // Always revalidate: a rebuilt renderer shows up on reload.
      'Cache-Control': 'no-cache',
    });
    if (req.method === 'HEAD') return void res.end();
    const stream = createReadStream(found.file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handleHttp(req, res).catch((error: unknown) => {
      console.error('[serve] request failed:', error);
      if (res.headersSent) res.destroy();
      else sendText(req, res, 500, 'Internal error');
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const onError = (): void => void socket.destroy();
    socket.on('error', onError);
    const refused = refusal(req);
    if (refused) return refuseUpgrade(socket, refused.status, refused.text);
    socket.off('error', onError);
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws));
  });

  const accept = (ws: WebSocket): void => {
    const state = { alive: true };
    clients.set(ws, state);
    ws.on('pong', () => {
      state.alive = true;
    });
    // E.g. a message over maxPayload: `ws` closes that connection (1009); nothing else is affected.
    ws.on('error', (error) => console.warn(`[serve] closed a connection: ${error.message}`));
    ws.on('close', () => clients.delete(ws));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      void handleMessage(ws, data, isBinary);
    });
  };

  const respond = (ws: WebSocket, id: number, body: ResponseBody): void => {
    if (ws.readyState !== WebSocket.OPEN) return;
    const envelope: ResponseEnvelope = { kind: 'response', id, ...body };
    let text: string;
    try {
      text = JSON.stringify(envelope);
    } catch (error) {
      text = JSON.stringify({ kind: 'response', id, ok: false, error: { code: 'internal', message: `the result cannot be sent as JSON: ${messageOf(error)}` } } satisfies ResponseEnvelope);
    }
    ws.send(text);
  };

  const handleMessage = async (ws: WebSocket, data: RawData, isBinary: boolean): Promise<void> => {
    if (isBinary) return respond(ws, -1, badRequest('malformed message: binary frames are not supported; send JSON text'));
    let message: unknown;
    try {
      message = JSON.parse(rawToString(data));
    } catch (error) {
      return respond(ws, -1, badRequest(`malformed message: ${messageOf(error)}`));
    }
    const envelope = RequestEnvelope.safeParse(message);
    if (!envelope.success) {
      return respond(ws, readableId(message), badRequest('malformed message: not a request envelope', describeIssues(envelope.error, 'message')));
    }
    const { id, channel, params } = envelope.data;
    let body: ResponseBody;
    try {
      body = await backend.dispatch(channel, params);
    } catch (error) {
      // The dispatcher answers every failure itself; this only guards the transport against a bug there.
      console.error(`[serve] dispatch of ${channel} threw:`, error);
      body = { ok: false, error: { code: 'internal', message: `${channel} failed: ${messageOf(error)}` } };
    }
    respond(ws, id, body);
  };

  const unsubscribe = backend.subscribe((channel, payload) => {
    if (clients.size === 0) return;
    let text: string;
    try {
      text = JSON.stringify({ kind: 'event', channel, payload } satisfies EventEnvelope);
    } catch (error) {
      console.error(`[serve] dropped a ${channel} event that cannot be sent as JSON: ${messageOf(error)}`);
      return;
    }
    for (const ws of clients.keys()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (SUPERSEDED_EVENTS.has(channel) && ws.bufferedAmount > BACKLOG_LIMIT) continue;
      ws.send(text);
    }
  });

  // Notice pages that vanished without a close (laptop lid, killed tab) and free their sockets.
  const heartbeat = setInterval(() => {
    for (const [ws, state] of clients) {
      if (!state.alive) {
        ws.terminate();
        continue;
      }
      state.alive = false;
      ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    unsubscribe();
    clearInterval(heartbeat);
    wss.close();
    throw error; // e.g. EADDRINUSE: the CLI falls back to another port
  }
  server.on('error', (error) => console.error('[serve] server error:', error));
  port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost(host)}:${port}/?token=${encodeURIComponent(token)}`,
    port,
    token,
    close() {
      closing ??= (async () => {
        unsubscribe();
        clearInterval(heartbeat);
        const goodbyes = [...clients.keys()].map(
          (ws) =>
            new Promise<void>((resolve) => {
              ws.once('close', () => resolve());
              ws.close(1001, 'GAN Studio is shutting down');
            }),
        );
        await Promise.race([Promise.all(goodbyes), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
        for (const ws of clients.keys()) ws.terminate();
        wss.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The raw path and query: never normalized, so '/../x' is seen (and refused) as written. */
function splitUrl(url: string | undefined): { pathname: string; search: string } {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? { pathname: raw, search: '' } : { pathname: raw.slice(0, q), search: raw.slice(q) };
}

/**
 * A browser's Origin must name the host the request was sent to (so another site's page is refused), by
 * an IP, 'localhost' or the configured host name (so a DNS-rebound name of an attacker's is refused too).
 */
function originAllowed(origin: string, hostHeader: string | undefined, configuredHost: string): boolean {
  if (!hostHeader) return false;
  let parsed: URL;
  try {
    parsed = new URL(origin); // 'null' (sandboxed frames, file://) does not parse: refused
  } catch {
    return false;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  if (parsed.host.toLowerCase() !== hostHeader.toLowerCase()) return false;
  const hostname = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return hostname === 'localhost' || net.isIP(hostname) !== 0 || hostname === configuredHost.toLowerCase();
}

/** How to write `host` in a URL a person opens; a wildcard address means "this machine". */
function urlHost(host: string): string {
  if (host === '' || host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  const body = `${text}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function badRequest(message: string, details?: string[]): ResponseBody {
  return { ok: false, error: { code: 'bad_request', message, ...(details ? { details } : {}) } };
}

function readableId(message: unknown): number {
  if (typeof message !== 'object' || message === null || !('id' in message)) return -1;
  const { id } = message;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 ? id : -1;
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
