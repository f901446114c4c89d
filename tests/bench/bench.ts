/**
 * `npm run bench`: throughput of training steps on the backend present, printed as JSON. Numbers from one
 * run are compared as ratios (these machines are shared and noisy); nothing here is asserted.
 *
 *   npm run bench                       every family (its quick-<family> preset) × {32, 64}, each kind of step
 *                                       (e.g. StyleGAN2's Gmain+Dmain, +Greg, +Greg+Dreg) timed separately
 *   npm run bench -- --quick            32×32 only, fewer steps
 *   npm run bench -- --family=stylegan2 one family
 * The `import` section (tests/bench/importBench.ts) compares dataset import with sharp's own decode speed.
 */
import * as tf from '@tensorflow/tfjs';
import { listPresets, resolveConfig, type ResolvedConfig } from '../../shared/presets.ts';
import { selectBackend } from '../../main/engine/backend.ts';
import { createFamily } from '../../main/engine/training/family.ts';
import { proganFullResolutionStep } from '../../main/engine/training/proganFamily.ts';
import { benchImport } from './importBench.ts';
import { withShippedConv2DBackpropInput } from '../../main/engine/ops/wasmKernels.ts';

const quick = process.argv.includes('--quick');

/** Time of one kind of step (one set of phases, e.g. Gmain+Dmain, or with the lazy Greg/Dreg phases). */
interface PhaseTiming {
  phases: string;
  secondsPerStep: number;
  imgPerSec: number;
  samples: number;
}

interface StepResult {
  family: string;
  preset: string;
  resolution: number;
  batch: number;
  /** Steps without regularization phases (or with the fewest phases): the common step. */
  imgPerSecMain: number;
  /** Averaged over the schedule (n_critic cycles, lazy regularization every gRegInterval/dRegInterval steps). */
  imgPerSecSchedule: number;
  byPhases: PhaseTiming[];
  /**
   * Peak bytes of live tensors during a step, over all kinds of step (tf.profile). An upper bound: tfjs
   * counts every tensor handle, also reshapes and the clones a gradient tape saves, which share buffers.
   */
  peakBytes: number;
  /** wasm only: the wasm heap's size after this family ran (it only grows: a high-water mark so far). */
  wasmHeapBytes: number | null;
  tensorsAfter: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.length ?? null;
}

/** Steps the bench may run: where the family trains at the full resolution (ProGAN grows into it). */
function firstSteadyStep(config: ResolvedConfig): number {
  // A multiple of 240 (= lcm of the usual intervals 4, 16, 5, 3) so the schedule starts at a cycle boundary.
  const start = config.family === 'progan' ? proganFullResolutionStep(config) : 0;
  return Math.ceil(start / 240) * 240 + 240;
}

/**
 * Time every kind of step the family's schedule has (grouped by phasesAt), `samples` each after one warm-up
 * per kind, and the schedule's average: the mean of the kinds' medians over a 240-step window.
 */
async function benchFamily(presetId: string, resolution: number, samples: number): Promise<StepResult> {
  const config = resolveConfig(presetId, { resolution });
  const family = createFamily(config);
  const reals = tf.randomUniform([config.batchSize, resolution, resolution, 3], -1, 1) as tf.Tensor4D;
  const base = firstSteadyStep(config);
  const window = Array.from({ length: 240 }, (_, i) => base + i);
  const kinds = new Map<string, number[]>();
  for (const step of window) {
    const key = family.phasesAt(step).join('+');
    kinds.set(key, [...(kinds.get(key) ?? []), step]);
  }
  const times = new Map<string, number[]>();
  let peakBytes = 0;
  for (const [key, steps] of kinds) {
    const list: number[] = [];
    for (const [i, step] of steps.slice(0, samples + 1).entries()) {
      if (i === 0) {
        // The first of each kind warms up its kernels; it is profiled (untimed) for the step's peak memory.
        const info = await tf.profile(async () => {
          const scalars = family.trainStep(reals, step);
          await scalars.data();
          scalars.dispose();
        });
        peakBytes = Math.max(peakBytes, info.peakBytes);
        continue;
      }
      const t0 = performance.now();
      const scalars = family.trainStep(reals, step);
      await scalars.data(); // include the device sync in the timing
      scalars.dispose();
      list.push((performance.now() - t0) / 1000);
    }
    times.set(key, list.length ? list : [NaN]);
  }
  reals.dispose();
  family.dispose();
  const byPhases = [...kinds.keys()].map((phases) => {
    const t = times.get(phases) as number[];
    const secondsPerStep = median(t);
    return { phases, secondsPerStep, imgPerSec: config.batchSize / secondsPerStep, samples: t.length };
  });
  const main = [...byPhases].sort((a, b) => a.phases.split('+').length - b.phases.split('+').length || a.secondsPerStep - b.secondsPerStep)[0] as PhaseTiming;
  const scheduleSeconds = window.reduce((sum, step) => sum + (byPhases.find((k) => k.phases === family.phasesAt(step).join('+')) as PhaseTiming).secondsPerStep, 0) / window.length;
  return {
    family: config.family,
    preset: presetId,
    resolution,
    batch: config.batchSize,
    imgPerSecMain: main.imgPerSec,
    imgPerSecSchedule: config.batchSize / scheduleSeconds,
    byPhases,
    peakBytes,
    wasmHeapBytes: wasmHeapBytes(),
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
// One preset per family: its quick (CPU-sized) one, `quick-<family>`, where there is one.
const presetPerFamily = new Map<string, string>();
for (const preset of listPresets()) {
  if (!presetPerFamily.has(preset.family) || preset.id === `quick-${preset.family}`) presetPerFamily.set(preset.family, preset.id);
}
const only = process.argv.find((a) => a.startsWith('--family='))?.slice('--family='.length);
for (const presetId of presetPerFamily.values()) {
  if (only && resolveConfig(presetId).family !== only) continue;
  for (const resolution of quick ? [32] : [32, 64]) {
    const result = await benchFamily(presetId, resolution, quick ? 2 : 3);
    results.push(result);
    console.error(`[bench] ${presetId} ${resolution}px: ${result.imgPerSecMain.toFixed(1)} img/s main steps, ${result.imgPerSecSchedule.toFixed(1)} img/s over the schedule (${result.byPhases.map((k) => `${k.phases} ${k.secondsPerStep.toFixed(2)} s`).join(', ')})`);
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
