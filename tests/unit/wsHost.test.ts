/**
 * The `serve` host end to end over real sockets: a real dispatcher (over a few stand-in handlers) and a
 * real EventBus behind startServer, reached through `ws` + createWebSocketBridge + createClient as the
 * renderer does, plus raw sockets and raw HTTP for what a well-behaved client never sends.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { IpcRequestError, createClient } from '../../shared/client.ts';
import type { EventPayload } from '../../shared/contract.ts';
import { createWebSocketBridge, socketUrlForPage, type BridgeStatus, type WebSocketBridge, type WebSocketBridgeOptions } from '../../shared/wsBridge.ts';
import { notFound } from '../../main/errors.ts';
import { createDispatcher } from '../../main/handlers/dispatch.ts';
import { EventBus } from '../../main/handlers/eventBus.ts';
import type { Handlers } from '../../main/handlers/types.ts';
import { UNAUTHORIZED_TEXT, startServer, type RunningServer, type ServerOptions } from '../../main/host/serve/server.ts';

const INDEX_HTML = '<!doctype html><title>GAN Studio test page</title>';
const SECRET = 'this file is outside the static folder';

const appInfo = { version: 'test', host: 'web', libraryDir: '/tmp/library', backend: null } as const;
const readyStatus: EventPayload<'engine.status'> = {
  state: 'ready',
  backend: { name: 'cpu', package: '@tensorflow/tfjs', detail: 'plain JavaScript', gpu: null, skipped: [] },
  message: null,
};

/** Only what these tests call; every other channel would fail as 'internal' (no handler). */
function testHandlers(): Handlers {
  const handlers: Partial<Handlers> = {
    'app.info': async () => appInfo,
    'runs.get': async ({ runId }) => {
      throw notFound(`run ${runId}`);
    },
    // Never answers: a request that is in flight when the connection drops.
    'training.current': () => new Promise(() => {}),
  };
  return handlers as Handlers;
}

async function makeStaticDir(): Promise<{ root: string; staticDir: string }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'gan-studio-serve-'));
  const staticDir = path.join(root, 'dist');
  await mkdir(path.join(staticDir, 'assets'), { recursive: true });
  await writeFile(path.join(staticDir, 'index.html'), INDEX_HTML);
  await writeFile(path.join(staticDir, 'assets', 'app.js'), 'console.log("hi");');
  await writeFile(path.join(staticDir, 'assets', 'engine.wasm'), Buffer.from([0, 97, 115, 109]));
  await writeFile(path.join(root, 'secret.txt'), SECRET);
  await writeFile(path.join(root, 'package.json'), '{"name":"outside"}');
  await symlink(path.join(root, 'secret.txt'), path.join(staticDir, 'escape.txt'));
  return { root, staticDir };
}

async function startTestServer(staticDir: string, extra: Partial<ServerOptions> = {}): Promise<{ server: RunningServer; bus: EventBus }> {
  const bus = new EventBus();
  const server = await startServer({ dispatch: createDispatcher(testHandlers()), subscribe: (listener) => bus.subscribe(listener) }, { staticDir, ...extra });
  return { server, bus };
}

const bridges: WebSocketBridge[] = [];
function connect(url: string, options: WebSocketBridgeOptions = {}): WebSocketBridge {
  const bridge = createWebSocketBridge(url, WebSocket, { initialDelayMs: 20, maxDelayMs: 100, ...options });
  bridges.push(bridge);
  return bridge;
}

function wsUrl(server: RunningServer, token: string | null = server.token): string {
  const url = new URL(socketUrlForPage(server.url));
  if (token === null) url.searchParams.delete('token');
  else url.searchParams.set('token', token);
  return url.href;
}

/** A raw socket, for messages the bridge never sends; `next()` resolves with the next parsed message. */
async function rawSocket(url: string): Promise<{ ws: WebSocket; next(): Promise<unknown> }> {
  const ws = new WebSocket(url);
  const inbox: unknown[] = [];
  const waiting: ((message: unknown) => void)[] = [];
  ws.on('message', (data) => {
    const message: unknown = JSON.parse(String(data));
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    next: () => (inbox.length > 0 ? Promise.resolve(inbox.shift()) : new Promise((resolve) => waiting.push(resolve))),
  };
}

/** Try an upgrade that should be refused; resolves with the HTTP answer. */
function refusedUpgrade(url: string, origin?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin === undefined ? {} : { origin });
    ws.on('open', () => {
      ws.close();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
        ws.terminate();
      });
    });
  });
}

/** A raw HTTP request: the path is sent exactly as written (fetch would normalize '/../'). */
function rawGet(port: number, requestPath: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: requestPath, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function waitForStatus(bridge: WebSocketBridge, statuses: BridgeStatus[], state: BridgeStatus['state']): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      if (bridge.status.state === state || statuses.some((s) => s.state === state)) return resolve();
      if (Date.now() - started > 5000) return reject(new Error(`the bridge never became ${state}; saw ${statuses.map((s) => s.state).join(', ')}`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

let dirs: { root: string; staticDir: string };
before(async () => {
  dirs = await makeStaticDir();
});
after(async () => {
  for (const bridge of bridges) bridge.close();
  await rm(dirs.root, { recursive: true, force: true });
});

describe('serve host: requests and events', { timeout: 15_000 }, () => {
  let server: RunningServer;
  let bus: EventBus;
  before(async () => {
    ({ server, bus } = await startTestServer(dirs.staticDir));
  });
  after(() => server.close());

  it('prints a page URL with a 64-hex-digit token on a free loopback port', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
    assert.ok(server.port > 0);
    assert.equal(socketUrlForPage(server.url), `ws://127.0.0.1:${server.port}/ipc?token=${server.token}`);
  });

  it('round-trips a request, queued until the socket opens', async () => {
    const bridge = connect(wsUrl(server));
    assert.equal(bridge.status.state, 'connecting');
    const info = await createClient(bridge).request('app.info', {});
    assert.deepEqual(info, appInfo);
    assert.equal(bridge.status.state, 'online');
  });

  it('forwards events to every connected client', async () => {
    const clients = [createClient(connect(wsUrl(server))), createClient(connect(wsUrl(server)))];
    await Promise.all(clients.map((c) => c.request('app.info', {}))); // both sockets open
    const received = clients.map((c) => new Promise<EventPayload<'engine.status'>>((resolve) => c.on('engine.status', resolve)));
    bus.emit('engine.status', readyStatus);
    assert.deepEqual(await Promise.all(received), [readyStatus, readyStatus]);
  });

  it('answers an unknown channel with unknown_channel', async () => {
    const bridge = connect(wsUrl(server));
    const body = await bridge.request('models.delete', {});
    assert.equal(body.ok, false);
    assert.equal(!body.ok && body.error.code, 'unknown_channel');
  });

  it('answers params that fail the schema with bad_request naming params.runId', async () => {
    const bridge = connect(wsUrl(server));
    const body = await bridge.request('runs.get', { runId: 42 });
    assert.ok(!body.ok);
    assert.equal(body.error.code, 'bad_request');
    assert.ok(body.error.details?.some((d) => d.startsWith('params.runId:')), `details: ${JSON.stringify(body.error.details)}`);
  });

  it('carries a handler\u2019s typed error to the client as IpcRequestError', async () => {
    const client = createClient(connect(wsUrl(server)));
    await assert.rejects(client.request('runs.get', { runId: 'run-1' }), (error: unknown) => {
      assert.ok(error instanceof IpcRequestError);
      assert.equal(error.error.code, 'not_found');
      assert.match(error.message, /run run-1 was not found/);
      return true;
    });
  });

  it('answers malformed JSON with a bad_request envelope (id -1) and keeps the connection usable', async () => {
    const { ws, next } = await rawSocket(wsUrl(server));
    try {
      ws.send('{"kind": "request", "id": 1,');
      const reply = (await next()) as { kind: string; id: number; ok: boolean; error: { code: string; message: string } };
      assert.deepEqual([reply.kind, reply.id, reply.ok, reply.error.code], ['response', -1, false, 'bad_request']);
      assert.match(reply.error.message, /^malformed message: /);

      ws.send(JSON.stringify({ kind: 'request', id: 5, channel: 'app.info', params: {} }));
      assert.deepEqual(await next(), { kind: 'response', id: 5, ok: true, result: appInfo });
    } finally {
      ws.close();
    }
  });

  it('echoes a readable id when the envelope is wrong, with details', async () => {
    const { ws, next } = await rawSocket(wsUrl(server));
    try {
      ws.send(JSON.stringify({ kind: 'request', id: 7, channel: 12 }));
      const reply = (await next()) as { id: number; ok: boolean; error: { code: string; details?: string[] } };
      assert.equal(reply.id, 7);
      assert.equal(reply.ok, false);
      assert.equal(reply.error.code, 'bad_request');
      assert.ok(reply.error.details?.some((d) => d.startsWith('message.channel:')), `details: ${JSON.stringify(reply.error.details)}`);

      ws.send(Buffer.from('binary'), { binary: true });
      const binary = (await next()) as { id: number; error: { code: string } };
      assert.deepEqual([binary.id, binary.error.code], [-1, 'bad_request']);
    } finally {
      ws.close();
    }
  });
});

describe('serve host: who may connect', { timeout: 15_000 }, () => {
  let server: RunningServer;
  before(async () => {
    ({ server } = await startTestServer(dirs.staticDir));
  });
  after(() => server.close());

  it('refuses an upgrade without a token with 401 and a clear text', async () => {
    const { status, body } = await refusedUpgrade(wsUrl(server, null));
    assert.equal(status, 401);
    assert.equal(body.trim(), UNAUTHORIZED_TEXT);
    assert.match(body, /open the URL printed by `npm start`/);
  });

  it('refuses a wrong token (same length or not) with 401', async () => {
    const sameLength = server.token.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
    for (const token of [sameLength, 'x', `${server.token}0`]) {
      assert.equal((await refusedUpgrade(wsUrl(server, token))).status, 401, `token ${token}`);
    }
  });

  it('refuses a page of another origin with 403, accepts its own', async () => {
    for (const origin of ['http://evil.example', `http://evil.example:${server.port}`, 'http://127.0.0.1:1', 'null']) {
      assert.equal((await refusedUpgrade(wsUrl(server), origin)).status, 403, `origin ${origin}`);
    }
    const ws = new WebSocket(wsUrl(server), { origin: `http://127.0.0.1:${server.port}` });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.close();
  });

  it('answers a plain GET of /ipc like the upgrade would (401 or 426)', async () => {
    assert.equal((await rawGet(server.port, '/ipc?token=nope')).status, 401);
    assert.equal((await rawGet(server.port, `/ipc?token=${server.token}`)).status, 426);
  });

  it('lets the bridge tell a refused token apart, and fails its requests clearly', async () => {
    const statuses: BridgeStatus[] = [];
    const bridge = connect(wsUrl(server, 'wrong'), { onStatus: (s) => statuses.push(s) });
    const queued = assert.rejects(bridge.request('app.info', {}), /refused this page\u2019s token/);
    await waitForStatus(bridge, statuses, 'unauthorized');
    await queued;
    await assert.rejects(bridge.request('app.info', {}), /refused this page\u2019s token/);
  });
});

describe('serve host: static files', { timeout: 15_000 }, () => {
  let server: RunningServer;
  before(async () => {
    ({ server } = await startTestServer(dirs.staticDir));
  });
  after(() => server.close());

  it('serves index.html for / with a strict CSP and nosniff', async () => {
    const res = await rawGet(server.port, '/');
    assert.equal(res.status, 200);
    assert.equal(res.body, INDEX_HTML);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    const csp = String(res.headers['content-security-policy']);
    for (const directive of ["default-src 'self'", "img-src 'self' data: blob:", `connect-src 'self' ws://127.0.0.1:${server.port}`, "style-src 'self' 'unsafe-inline'", "script-src 'self'"]) {
      assert.ok(csp.includes(directive), `CSP lacks ${directive}: ${csp}`);
    }
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  });

  it('serves assets with their content types', async () => {
    const js = await rawGet(server.port, '/assets/app.js');
    assert.equal(js.status, 200);
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal((await rawGet(server.port, '/assets/engine.wasm')).headers['content-type'], 'application/wasm');
    const head = await rawGet(server.port, '/', 'HEAD');
    assert.deepEqual([head.status, head.body], [200, '']);
  });

  it('refuses paths outside the static folder', async () => {
    for (const attempt of ['/../package.json', '/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/escape.txt']) {
      const res = await rawGet(server.port, attempt);
      assert.ok(res.status === 403 || res.status === 404, `${attempt} answered ${res.status}`);
      assert.ok(!res.body.includes(SECRET) && !res.body.includes('outside'), `${attempt} leaked the file`);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
    assert.equal((await rawGet(server.port, '/missing.js')).status, 404);
    assert.equal((await rawGet(server.port, '/', 'POST')).status, 405);
  });
});

describe('serve host: robustness', { timeout: 15_000 }, () => {
  it('closes only the connection that sends an oversized message', async () => {
    const { server } = await startTestServer(dirs.staticDir, { maxPayload: 1024 });
    try {
      const { ws } = await rawSocket(wsUrl(server));
      const code = await new Promise<number>((resolve) => {
        ws.once('close', (c) => resolve(c));
        ws.send(JSON.stringify({ kind: 'request', id: 1, channel: 'app.info', params: { pad: 'x'.repeat(4096) } }));
      });
      assert.equal(code, 1009);
      assert.deepEqual(await createClient(connect(wsUrl(server))).request('app.info', {}), appInfo);
    } finally {
      await server.close();
    }
  });

  it('fails in-flight requests clearly when the connection drops, then reconnects', async () => {
    let { server } = await startTestServer(dirs.staticDir);
    const { port, token } = server;
    const statuses: BridgeStatus[] = [];
    const bridge = connect(wsUrl(server), { onStatus: (s) => statuses.push(s) });
    const client = createClient(bridge);
    try {
      await client.request('app.info', {});
      const hanging = client.request('training.current', {});
      await new Promise((resolve) => setTimeout(resolve, 50)); // let it reach the server
      const failed = assert.rejects(hanging, /connection to the studio was lost .*before "training\.current" was answered/);
      await server.close();
      await failed;
      await waitForStatus(bridge, statuses, 'reconnecting');

      const queued = client.request('app.info', {}); // made while down: waits for the next connection
      ({ server } = await startTestServer(dirs.staticDir, { port, token }));
      assert.deepEqual(await queued, appInfo);
      assert.equal(bridge.status.state, 'online');
    } finally {
      await server.close();
    }
  });

  it('fails a queued request after queueTimeoutMs when the studio cannot be reached', async () => {
    const { server } = await startTestServer(dirs.staticDir);
    const url = wsUrl(server);
    await server.close(); // nothing listens on that port now
    const bridge = connect(url, { queueTimeoutMs: 100 });
    await assert.rejects(bridge.request('app.info', {}), /not connected to the studio/);
    bridge.close();
    await assert.rejects(bridge.request('app.info', {}), /connection was closed/);
  });
});
