/**
 * Images from a snapshot: one PNG per seed (the latent of a seed is fixed forever, see rng.ts) and an
 * optional grid of them all, written under the run's exports/ folder or wherever the user asked.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { encodeGridPng, encodePng } from '../imaging/grid.ts';
import type { RunStore } from '../runs/runStore.ts';
import type { ExportRequest, ExportResult } from './protocol.ts';
import { latentForSeed } from './rng.ts';
import { unpackTensors } from './training/checkpoint.ts';
import { createFamily } from './training/family.ts';
import { generatePixels } from './training/trainingLoop.ts';

export async function exportSamples(runs: RunStore, request: ExportRequest): Promise<ExportResult> {
  const checkpoint = await runs.readCheckpoint(request.runId, request.snapshotId);
  const { config } = checkpoint.manifest;
  const family = createFamily(config);
  try {
    const tensors = unpackTensors(checkpoint.manifest.tensors, checkpoint.weights);
    try {
      family.loadState(tensors, { generatorOnly: true });
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
    const latents = new Float32Array(request.seeds.length * config.latentDim);
    request.seeds.forEach((seed, i) => latents.set(latentForSeed(seed, config.latentDim), i * config.latentDim));
    const z = tf.tensor2d(latents, [request.seeds.length, config.latentDim]);
    const pixels = await generatePixels(family, z);
    z.dispose();

    await fs.mkdir(request.outDir, { recursive: true });
    const size = config.resolution ** 2 * 3;
    const files: string[] = [];
    for (const [i, seed] of request.seeds.entries()) {
      const file = path.join(request.outDir, `seed${String(seed).padStart(10, '0')}.png`);
      await fs.writeFile(file, await encodePng(pixels.subarray(i * size, (i + 1) * size), config.resolution));
      files.push(file);
    }
    let gridFile: string | null = null;
    let gridPng: string | null = null;
    if (request.grid) {
      const cols = Math.ceil(Math.sqrt(request.seeds.length));
      const png = await encodeGridPng(pixels, request.seeds.length, config.resolution, cols);
      gridFile = path.join(request.outDir, 'grid.png');
      await fs.writeFile(gridFile, png);
      gridPng = png.toString('base64');
    }
    return { outDir: request.outDir, files, gridFile, gridPng };
  } finally {
    family.dispose();
  }
}
