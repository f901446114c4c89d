/**
 * The Electron host: one window showing the built renderer over a private app:// scheme, the IPC
 * contract over ipcMain/ipcRenderer (through the sandboxed preload), studio events sent to the window.
 * A transport only: requests go to `studio.dispatch`, which validates them.
 *
 * Bundled to build/electron/main.cjs (see bundle.ts), next to preload.cjs and engine.cjs; the renderer is
 * at ../../renderer/dist from there, in the project and inside the packaged app alike.
 */
import { BrowserWindow, app, dialog, ipcMain, protocol, session, shell, type IpcMainInvokeEvent } from 'electron';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ResponseBody } from '../../../shared/client.ts';
import { messageOf } from '../../errors.ts';
import { createStudio } from '../../studio.ts';
import { SECURITY_HEADERS, contentSecurityPolicy, contentTypeFor, realRoot, resolveStaticFile } from '../static.ts';
import { EVENT_CHANNEL, REQUEST_CHANNEL } from './channels.ts';
import { createUtilityEngineSpawner } from './utilityEngine.ts';

type Studio = Awaited<ReturnType<typeof createStudio>>;

const SCHEME = 'app';
const APP_ORIGIN = `${SCHEME}://studio`;
const START_URL = `${APP_ORIGIN}/index.html`;
// This file only ever runs bundled, as build/electron/main.cjs: __dirname is build/electron.
const bundleDir = __dirname;
const rendererDir = path.join(bundleDir, '..', '..', 'renderer', 'dist');
const CSP = contentSecurityPolicy();

// Must happen before 'ready'. standard + secure: real origins, relative URLs and ES modules work as on https.
protocol.registerSchemesAsPrivileged([{ scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

let win: BrowserWindow | null = null;

// Two instances would share one library (and one GPU); the second one focuses the first instead.
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  main().catch((error: unknown) => fail(error));
}

async function main(): Promise<void> {
  await app.whenReady();
  const root = await realRoot(rendererDir);
  protocol.handle(SCHEME, (request) => serveRenderer(root, request));
  hardenSession();

  const studioReady: Promise<Studio> = createStudio({
    host: 'electron',
    libraryDir: process.env.GAN_STUDIO_LIBRARY || path.join(app.getPath('userData'), 'library'),
    spawnEngine: createUtilityEngineSpawner(path.join(bundleDir, 'engine.cjs')),
  });
  studioReady.catch(() => {}); // reported below; requests made meanwhile get the error as a response

  ipcMain.handle(REQUEST_CHANNEL, async (event, channel, params): Promise<ResponseBody> => {
    if (!fromStudioWindow(event)) {
      return { ok: false, error: { code: 'unauthorized', message: 'GAN Studio only answers its own window' } };
    }
    try {
      return await (await studioReady).dispatch(channel, params);
    } catch (error) {
      return { ok: false, error: { code: 'internal', message: `the studio did not start: ${messageOf(error)}` } };
    }
  });

  // The window opens at once; requests wait for the studio above.
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
  app.on('second-instance', () => {
    if (!win) return createWindow();
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.on('window-all-closed', () => {
    // macOS apps stay open without windows (training goes on); the dock icon brings the window back.
    if (process.platform !== 'darwin') app.quit();
  });
  closeStudioOnQuit(studioReady);

  const studio = await studioReady;
  studio.events.subscribe((channel, payload) => {
    if (win && !win.isDestroyed() && !win.webContents.isDestroyed()) win.webContents.send(EVENT_CHANNEL, channel, payload);
  });
}

function createWindow(): void {
  const window = new BrowserWindow({
    width: 1440,
    height: 920,
    minWidth: 960,
    minHeight: 640,
    show: false,
    title: 'GAN Studio',
    backgroundColor: '#101216',
    autoHideMenuBar: true,
    webPreferences: {
      preload: path.join(bundleDir, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win = window;
  const contents = window.webContents;

  // The window only ever shows the studio. Links to the web open in the browser; everything else
  // (a dropped file, a stray link) is refused.
  contents.setWindowOpenHandler(({ url }) => {
    openInBrowser(url);
    return { action: 'deny' };
  });
  const guard = (event: { url: string; preventDefault(): void }): void => {
    if (isAppUrl(event.url)) return;
    event.preventDefault();
    openInBrowser(event.url);
  };
  contents.on('will-navigate', guard);
  contents.on('will-redirect', guard);
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.on('render-process-gone', (_event, details) => console.error(`[electron] the window's renderer is gone: ${details.reason} (${details.exitCode})`));

  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    if (win === window) win = null;
  });
  window.loadURL(START_URL).catch((error: unknown) => console.error(`[electron] could not load ${START_URL}: ${messageOf(error)}`));
}

/** Only the top frame of our window, showing our own page, may call the studio. */
function fromStudioWindow(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return win !== null && !win.isDestroyed() && event.sender.id === win.webContents.id && frame !== null && frame.parent === null && isAppUrl(frame.url);
}

function isAppUrl(url: string): boolean {
  return url === APP_ORIGIN || url.startsWith(`${APP_ORIGIN}/`);
}

function openInBrowser(url: string): void {
  // Only https: other schemes (file:, custom handlers) could run things on the machine.
  if (!url.startsWith('https://')) return;
  shell.openExternal(url).catch((error: unknown) => console.error(`[electron] could not open ${url}: ${messageOf(error)}`));
}

async function serveRenderer(root: string, request: Request): Promise<Response> {
  const headers = { 'Content-Security-Policy': CSP, ...SECURITY_HEADERS };
  const url = new URL(request.url);
  if (url.host !== 'studio') return new Response('Not found', { status: 404, headers });
  const found = await resolveStaticFile(root, url.pathname);
  if (found.kind !== 'file') return new Response(found.kind === 'forbidden' ? 'Forbidden' : 'Not found', { status: found.kind === 'forbidden' ? 403 : 404, headers });
  return new Response(await fs.readFile(found.file), {
    status: 200,
    headers: { ...headers, 'Content-Type': contentTypeFor(found.file), 'Cache-Control': 'no-cache' },
  });
}

function hardenSession(): void {
  const ses = session.defaultSession;
  // The studio needs no camera, notifications, geolocation...; only writing to the clipboard.
  ses.setPermissionRequestHandler((_contents, permission, callback) => callback(permission === 'clipboard-sanitized-write'));
  ses.setPermissionCheckHandler((_contents, permission) => permission === 'clipboard-sanitized-write');
  // Our own responses carry the CSP already; this covers anything else the session loads.
  ses.webRequest.onHeadersReceived((details, callback) => {
    const responseHeaders: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(details.responseHeaders ?? {})) {
      if (name.toLowerCase() !== 'content-security-policy') responseHeaders[name] = value;
    }
    responseHeaders['Content-Security-Policy'] = [CSP];
    callback({ responseHeaders });
  });
}

/** Quitting waits for the studio to stop the engine (a run is checkpointed and stopped, not killed). */
function closeStudioOnQuit(studioReady: Promise<Studio>): void {
  let state: 'open' | 'closing' | 'closed' = 'open';
  app.on('before-quit', (event) => {
    if (state === 'closed') return;
    event.preventDefault();
    if (state === 'closing') return;
    state = 'closing';
    studioReady
      .then((studio) => studio.close())
      .catch((error: unknown) => console.error(`[electron] closing the studio failed: ${messageOf(error)}`))
      .finally(() => {
        state = 'closed';
        app.quit();
      });
  });
  // Ctrl+C on `npm start`, or a service manager: the same clean path as the Quit menu.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());
}

function fail(error: unknown): void {
  console.error('[electron] GAN Studio could not start:', error);
  dialog.showErrorBox('GAN Studio could not start', messageOf(error));
  app.exit(1);
}
