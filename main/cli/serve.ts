/**
 * `npm run serve` (and `npm start` without Electron): the studio in a browser. Starts the studio, serves
 * renderer/dist and the WebSocket host on 127.0.0.1, prints the URL with its token, opens the browser.
 *
 *   --host <addr>      interface to listen on (default 127.0.0.1: this machine only)
 *   --port <n>         default 7860; if it is busy, a free port is used instead
 *   --library <dir>    where datasets and runs live (default: GAN_STUDIO_LIBRARY or the app-data folder)
 *   --token <t>        the access token (default: a new random one each start)
 *   --no-open          do not open a browser
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BackendInfo, EventPayload } from '../../shared/contract.ts';
import { messageOf } from '../errors.ts';
import { startServer, type RunningServer } from '../host/serve/server.ts';
import type { HostBackend } from '../host/types.ts';
import { createStudio } from '../studio.ts';

const projectDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const rendererDist = path.join(projectDir, 'renderer', 'dist');
const DEFAULT_PORT = 7860;

const USAGE = `Usage: npm run serve -- [--host 127.0.0.1] [--port ${DEFAULT_PORT}] [--library <dir>] [--token <token>] [--no-open]`;

export interface ServeOptions {
  host: string;
  port: number;
  library: string | undefined;
  token: string | undefined;
  open: boolean;
  help: boolean;
}

export function parseServeArgs(argv: string[]): ServeOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      library: { type: 'string' },
      token: { type: 'string' },
      'no-open': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number (0-65535), not ${JSON.stringify(values.port)}`);
  if (values.token !== undefined && values.token.length < 8) throw new Error('--token must be at least 8 characters');
  return {
    host: values.host ?? '127.0.0.1',
    port,
    library: values.library === undefined ? undefined : path.resolve(values.library),
    token: values.token,
    open: !values['no-open'],
    help: values.help ?? false,
  };
}

export async function runServe(argv: string[]): Promise<void> {
  let options: ServeOptions;
  try {
    options = parseServeArgs(argv);
  } catch (error) {
    console.error(`${messageOf(error)}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }
  if (!existsSync(path.join(rendererDist, 'index.html'))) {
    console.error('GAN Studio: the renderer is not built (renderer/dist/index.html is missing); run `npm run build:renderer` first.');
    process.exitCode = 1;
    return;
  }

  const studio = await createStudio({ host: 'web', libraryDir: options.library });
  const backend: HostBackend = { dispatch: studio.dispatch, subscribe: (listener) => studio.events.subscribe(listener) };
  let server: RunningServer;
  try {
    server = await listen(backend, options);
  } catch (error) {
    await studio.close();
    throw error;
  }

  console.log(`GAN Studio is running at ${server.url}`);
  console.log(`Library: ${studio.paths.root}`);
  if (!isLoopback(options.host)) {
    console.log(`Listening on ${options.host}: anyone who can reach this machine and has the URL (with its token) can use the studio.`);
  }
  reportBackend(backend);
  if (options.open) openBrowser(server.url);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.log('Stopping now, without waiting.');
      process.exit(1);
    }
    stopping = true;
    console.log(`\nStopping GAN Studio (${signal})…`);
    void (async () => {
      await server.close().catch((error: unknown) => console.error(`closing the server: ${messageOf(error)}`));
      await studio.close().catch((error: unknown) => console.error(`closing the studio: ${messageOf(error)}`));
      process.exit(0);
    })();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** The preferred port, or any free one if it is taken (another studio, another app). */
async function listen(backend: HostBackend, options: ServeOptions): Promise<RunningServer> {
  const base = { host: options.host, staticDir: rendererDist, ...(options.token === undefined ? {} : { token: options.token }) };
  try {
    return await startServer(backend, { ...base, port: options.port });
  } catch (error) {
    if (options.port === 0 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    const server = await startServer(backend, { ...base, port: 0 });
    console.log(`Port ${options.port} is in use; using ${server.port} instead.`);
    return server;
  }
}

/** One line naming the training backend, once the engine has chosen it (it starts in the background). */
function reportBackend(backend: HostBackend): void {
  let reported = false;
  const report = (info: BackendInfo | null): void => {
    if (!info || reported) return;
    reported = true;
    console.log(`Backend: ${info.detail} (${info.package})`);
    for (const reason of info.skipped) console.log(`  not used: ${reason}`);
  };
  backend.subscribe((channel, payload) => {
    if (channel !== 'engine.status') return;
    // The EventBus checked the payload against the contract before emitting it.
    const status = payload as EventPayload<'engine.status'>;
    if (status.state === 'crashed') console.error(`The engine stopped: ${status.message ?? 'no reason given'}; it is restarting.`);
    report(status.backend);
  });
  backend.dispatch('app.info', {}).then(
    (body) => {
      if (body.ok) report((body.result as { backend: BackendInfo | null }).backend);
    },
    () => {}, // the event above reports it anyway
  );
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
}

function openBrowser(url: string): void {
  // A headless Linux box (ssh, a container) has nothing to open; the printed URL is what counts.
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  const [command, args]: [string, string[]] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {}); // no opener installed: the URL is printed above
    child.unref();
  } catch {
    // same
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  runServe(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`GAN Studio could not start: ${messageOf(error)}`);
    process.exit(1);
  });
}
