/**
 * `npm run build:electron`: bundles the Electron host into build/electron/ as CommonJS:
 *   main.cjs    the main process (main.ts and the whole studio behind it)
 *   preload.cjs the sandboxed preload (a sandboxed preload gets only a CommonJS `require` of electron)
 *   engine.cjs  the engine worker run by utilityProcess (main/engine/worker.ts)
 * Native and optional packages stay external and are loaded from node_modules at run time
 * (electron-builder.yml unpacks the native ones from the asar).
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const projectDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const electronBuildDir = path.join(projectDir, 'build', 'electron');

/** Loaded at run time, never bundled: Electron itself, native addons, and optional backends. */
const NODE_EXTERNALS = [
  'electron',
  'sharp',
  '@img/*',
  '@tensorflow/*',
  // Optional speed-ups `ws` tries to require.
  'bufferutil',
  'utf-8-validate',
];

/**
 * Our sources find files next to them through import.meta.url (package.json, the emoji dataset via
 * createRequire, ...). In the bundle each module's import.meta.url becomes the URL its source file would
 * have in the app (the project, or app.asar, which keeps the same layout), so those lookups work as they
 * do from source. The bundles sit in build/electron/, two levels below that root.
 */
const sourceLocationPlugin: Plugin = {
  name: 'gan-studio-source-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const relative = path.relative(projectDir, args.path).split(path.sep).join('/');
      const url = `require("node:url").pathToFileURL(require("node:path").join(__dirname, "..", "..", ${JSON.stringify(relative)})).href`;
      return { contents: source.replaceAll('import.meta.url', `(${url})`), loader: 'ts' };
    });
  },
};

const nodeBundle: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  external: NODE_EXTERNALS,
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [sourceLocationPlugin],
  // Any other ESM code (dependencies) gets the bundle's own URL rather than undefined.
  define: { 'import.meta.url': '__gan_studio_bundle_url' },
  banner: { js: 'const __gan_studio_bundle_url = require("node:url").pathToFileURL(__filename).href;' },
};

export async function bundleElectron(): Promise<string[]> {
  const entry = (file: string): string => path.join(projectDir, file);
  const out = (file: string): string => path.join(electronBuildDir, file);
  const jobs: { outfile: string; options: BuildOptions }[] = [
    { outfile: out('main.cjs'), options: { ...nodeBundle, entryPoints: [entry('main/host/electron/main.ts')] } },
    {
      outfile: out('preload.cjs'),
      options: {
        bundle: true,
        // 'browser': a Node built-in imported by mistake fails the build instead of the sandboxed preload.
        platform: 'browser',
        format: 'cjs',
        target: 'chrome130',
        external: ['electron'],
        logLevel: 'warning',
        entryPoints: [entry('main/host/electron/preload.ts')],
      },
    },
  ];
  const worker = entry('main/engine/worker.ts');
  if (existsSync(worker)) jobs.push({ outfile: out('engine.cjs'), options: { ...nodeBundle, entryPoints: [worker] } });
  else console.warn('main/engine/worker.ts does not exist yet; skipped the engine bundle (build/electron/engine.cjs)');

  // All at once, and every failure reported, not only the first.
  const results = await Promise.allSettled(jobs.map((job) => build({ ...job.options, outfile: job.outfile })));
  const failed = results.flatMap((result, i) => (result.status === 'rejected' ? [path.basename(jobs[i]?.outfile ?? '?')] : []));
  // esbuild has printed the errors with their code frames already.
  if (failed.length > 0) throw new Error(`the Electron bundle failed: ${failed.join(', ')} (see the errors above)`);
  return jobs.map((job) => job.outfile);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  bundleElectron().then(
    (files) => console.log(`Built ${files.map((f) => path.relative(projectDir, f)).join(', ')}`),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
