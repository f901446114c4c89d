/**
 * `npm run bench`: throughput of training steps on the backend present, printed as JSON. Numbers from one
 * run are compared as ratios (these machines are shared and noisy); nothing here is asserted.
 *
 *   npm run bench                       every family × {32, 64}
 *   npm run bench -- --quick            32×32 only, fewer steps
 * The `import` section (tests/bench/importBench.ts) compares dataset import with sharp's own decode speed.
 */
import * as tf from '@tensorflow/tfjs';
import { listPresets, resolveConfig } from '../../shared/presets.ts';
import { selectBackend } from '../../main/engine/backend.ts';
import { createFamily } from '../../main/engine/training/family.ts';
import { benchImport } from './importBench.ts';
import { withShippedConv2DBackpropInput } from '../../main/engine/ops/wasmKernels.ts';

const quick = process.argv.includes('--quick');

interface StepResult {
  family: string;
  preset: string;
  resolution: number;
  batch: number;
  secondsPerStep: number;
  imgPerSec: number;
  peakBytes: number;
  tensorsAfter: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function benchStep(presetId: string, resolution: number, steps: number): Promise<StepResult> {
  const config = resolveConfig(presetId, { resolution });
  const family = createFamily(config);
  const reals = tf.randomUniform([config.batchSize, resolution, resolution, 3], -1, 1) as tf.Tensor4D;
  const times: number[] = [];
  let peakBytes = 0;
  for (let i = 0; i < steps + 1; i++) {
    const t0 = performance.now();
    const scalars = family.trainStep(reals, i);
    await scalars.data(); // include the device sync in the timing
    scalars.dispose();
    if (i > 0) times.push((performance.now() - t0) / 1000); // step 0 warms up kernels
    peakBytes = Math.max(peakBytes, tf.memory().numBytes);
  }
  reals.dispose();
  family.dispose();
  const secondsPerStep = median(times);
  return {
    family: config.family,
    preset: presetId,
    resolution,
    batch: config.batchSize,
    secondsPerStep,
    imgPerSec: config.batchSize / secondsPerStep,
    peakBytes,
    tensorsAfter: tf.memory().numTensors,
  };
}

/** Our wasm Conv2DBackpropInput against the kernel wasm ships, same shapes, same run. */
function benchTransposedConv(): Record<string, number> | null {
  if (tf.getBackend() !== 'wasm') return null;
  const x = tf.randomNormal([32, 8, 8, 128]) as tf.Tensor4D;
  const w = tf.randomNormal([4, 4, 64, 128]) as tf.Tensor4D;
  const time = (): number => {
    const samples: number[] = [];
    for (let i = 0; i < 8; i++) {
      const t0 = performance.now();
      tf.conv2dTranspose(x, w, [32, 16, 16, 64], 2, 'same').dispose();
      samples.push(performance.now() - t0);
    }
    return median(samples.slice(1));
  };
  const ours = time();
  const original = withShippedConv2DBackpropInput(time);
  x.dispose();
  w.dispose();
  return { oursMs: ours, shippedMs: original, speedup: original / ours };
}

const backend = await selectBackend();
const results: StepResult[] = [];
// One preset per family: its quick (CPU-sized) one where there is one.
const presetPerFamily = new Map<string, string>();
for (const preset of listPresets()) {
  if (!presetPerFamily.has(preset.family) || preset.id.startsWith('quick')) presetPerFamily.set(preset.family, preset.id);
}
for (const presetId of presetPerFamily.values()) {
  for (const resolution of quick ? [32] : [32, 64]) {
    results.push(await benchStep(presetId, resolution, quick ? 3 : 5));
  }
}
const report = {
  date: new Date().toISOString(),
  backend: { name: backend.name, detail: backend.detail },
  cpus: (await import('node:os')).cpus().length,
  trainingStep: results,
  import: await benchImport({ quick }),
  wasmTransposedConv: benchTransposedConv(),
};
console.log(JSON.stringify(report, null, 2));
