/**
 * Starting the real `serve` CLI and Debian's Chromium for end-to-end tests. The studio runs exactly as a
 * user starts it (`tsx main/cli/serve.ts`), in a temporary library.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';

export const projectDir = path.resolve(import.meta.dirname, '..', '..');

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface ServedStudio {
  url: string;
  token: string;
  library: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Start `serve` on a free port in a fresh library; resolves once it printed its URL. */
export async function startServe(extraArgs: string[] = []): Promise<ServedStudio> {
  const library = mkdtempSync(path.join(os.tmpdir(), 'gan-studio-e2e-'));
  const token = `e2e${Math.random().toString(16).slice(2)}`;
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(projectDir, 'main', 'cli', 'serve.ts'), '--library', library, '--port', '0', '--no-open', '--token', token, ...extraArgs],
    { cwd: projectDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GAN_STUDIO_BACKEND: process.env.GAN_STUDIO_BACKEND ?? 'wasm' } },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not print its URL within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before printing its URL:\n${output}`));
    });
  });
  return {
    url,
    token,
    library,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(library, { recursive: true, force: true });
    },
  };
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/** A page of `size` that collects the page's uncaught errors and console errors into `errors` (tests assert it stays empty). */
export async function newStudioPage(browser: Browser, errors: string[], size = { width: 1400, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport: size });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return page;
}

export interface StudioSession {
  readonly studio: ServedStudio;
  readonly browser: Browser;
  /** The page the suite drives, opened at the studio's URL's viewport but not navigated. */
  readonly page: Page;
  /** Uncaught errors and console errors of every page of the session (tests assert it stays empty). */
  readonly pageErrors: string[];
  /** Another page of the same browser, its errors collected too (a second window of the studio). */
  newPage(): Promise<Page>;
  /** The run folders in the studio's library. */
  runDirs(): string[];
}

/**
 * The setup every end-to-end suite shares, as `before`/`after` hooks of the calling `describe`: `serve` in
 * a fresh library, then `prepare` (e.g. runs trained with the CLI into that library), then Chromium with
 * one page. The hooks stop both and remove the library; the fields are readable once `before` has run.
 */
export function studioSession(options: { viewport?: { width: number; height: number }; prepare?: (studio: ServedStudio) => Promise<void> } = {}): StudioSession {
  let studio: ServedStudio | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const pageErrors: string[] = [];
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the studio session's ${what} is used before its before() hook ran`);
    return value;
  };
  before(async () => {
    studio = await startServe();
    await options.prepare?.(studio);
    browser = await launchChromium();
    page = await newStudioPage(browser, pageErrors, options.viewport);
  });
  after(async () => {
    await browser?.close();
    await studio?.stop();
  });
  return {
    get studio() {
      return ready(studio, 'studio');
    },
    get browser() {
      return ready(browser, 'browser');
    },
    get page() {
      return ready(page, 'page');
    },
    pageErrors,
    newPage: () => newStudioPage(ready(browser, 'browser'), pageErrors, options.viewport),
    runDirs: () => {
      const root = path.join(ready(studio, 'studio').library, 'runs');
      return existsSync(root) ? readdirSync(root).filter((name) => !name.startsWith('.')) : [];
    },
  };
}
