/**
 * `npm start`: the desktop app when Electron is installed (it is an optional dependency), else the same
 * studio in the browser through `serve`. Arguments are those of serve; under Electron only --library
 * applies.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { messageOf } from '../errors.ts';

const projectDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The Electron binary, if the `electron` package is installed and its download completed. */
function electronBinary(): string | null {
  const require = createRequire(import.meta.url);
  try {
    require.resolve('electron');
    // Required from Node, the package exports the path of its binary (and throws if it is missing).
    const binary: unknown = require('electron');
    return typeof binary === 'string' && existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

async function runElectron(binary: string, argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, strict: false, options: { library: { type: 'string' } } });
  const { bundleElectron } = await import('../host/electron/bundle.ts');
  await bundleElectron();

  const env = { ...process.env };
  // Set in some shells and CI images; it would turn Electron into plain Node.
  delete env.ELECTRON_RUN_AS_NODE;
  if (typeof values.library === 'string') env.GAN_STUDIO_LIBRARY = path.resolve(values.library);

  const child = spawn(binary, [projectDir], { stdio: 'inherit', env });
  // Ctrl+C reaches Electron directly (same process group): it quits cleanly, and we wait for it.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.exitCode = code ?? (signal ? 1 : 0);
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const binary = electronBinary();
  if (binary) return runElectron(binary, argv);
  console.log('Electron is not installed here (optional dependency); serving the studio in your browser instead.');
  const { runServe } = await import('./serve.ts');
  await runServe(argv);
}

main().catch((error: unknown) => {
  console.error(`GAN Studio could not start: ${messageOf(error)}`);
  process.exit(1);
});
