/**
 * Import throughput against sharp itself, on the same files in the same run: `count` 512-px JPEGs
 * imported at 64 px (read, hash, decode once, checks, thumbnail, cached square) next to sharp's bare
 * decode + resize to 64×64 at the same concurrency. The ratio is what matters (machines are shared and
 * noisy): the goal is ≥ 0.8. Each side runs `rounds` times, alternating; medians are reported.
 *
 *   npx tsx tests/bench/importBench.ts [--quick]     this section alone (npm run bench includes it)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { IMPORT_CONCURRENCY } from '../../main/data/curationImport.ts';
import { Curator } from '../../main/data/curator.ts';
import { DatasetStore } from '../../main/data/datasetStore.ts';
import { makeJpegs } from '../unit/dataCorpus.ts';

export interface ImportBench {
  files: number;
  source: string;
  target: number;
  concurrency: number;
  sharpDecodeResizePerSec: number;
  importPerSec: number;
  /** import / sharp: the goal is ≥ 0.8. */
  ratio: number;
  buildPerSec: number;
  importAndBuildPerSec: number;
  rounds: number;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function pool(items: readonly string[], concurrency: number, fn: (item: string) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++] as string);
    }),
  );
}

export async function benchImport(options: { quick?: boolean } = {}): Promise<ImportBench> {
  const count = options.quick ? 120 : 400;
  const rounds = options.quick ? 2 : 3;
  const target = 64;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gan-studio-bench-import-'));
  try {
    const files = await makeJpegs(path.join(dir, 'jpegs'), count, 512);
    const raw: number[] = [];
    const imports: number[] = [];
    const builds: number[] = [];
    // Warm both paths (libvips' first calls load codecs).
    await pool(files.slice(0, 8), IMPORT_CONCURRENCY, (f) => sharp(f).resize(target, target).raw().toBuffer());
    for (let round = 0; round < rounds; round++) {
      const t0 = performance.now();
      await pool(files, IMPORT_CONCURRENCY, (f) => sharp(f).resize(target, target).raw().toBuffer());
      raw.push(count / ((performance.now() - t0) / 1000));

      const curator = new Curator(new DatasetStore(path.join(dir, `library-${round}`, 'datasets')));
      const t1 = performance.now();
      const started = await curator.startImport({ sources: [path.join(dir, 'jpegs')], settings: { resolution: target } });
      const imported = await curator.jobs.wait(started.jobId);
      if (imported?.state !== 'done') throw new Error(`import failed: ${imported?.message}`);
      imports.push(count / ((performance.now() - t1) / 1000));
      const t2 = performance.now();
      const build = await curator.startBuild(started.datasetId);
      const built = await curator.jobs.wait(build.jobId);
      if (built?.state !== 'done') throw new Error(`build failed: ${built?.message}`);
      builds.push(count / ((performance.now() - t2) / 1000));
    }
    const sharpPerSec = median(raw);
    const importPerSec = median(imports);
    const buildPerSec = median(builds);
    return {
      files: count,
      source: '512×512 JPEG q90',
      target,
      concurrency: IMPORT_CONCURRENCY,
      sharpDecodeResizePerSec: Math.round(sharpPerSec),
      importPerSec: Math.round(importPerSec),
      ratio: Math.round((importPerSec / sharpPerSec) * 100) / 100,
      buildPerSec: Math.round(buildPerSec),
      importAndBuildPerSec: Math.round(1 / (1 / importPerSec + 1 / buildPerSec)),
      rounds,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) console.log(JSON.stringify(await benchImport({ quick: process.argv.includes('--quick') }), null, 2));
