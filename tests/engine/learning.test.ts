/**
 * Each family learns: trained from a fixed seed on 512 synthetic 16×16 "coloured shapes" (learning.ts),
 * its samples must move much closer to the data than at initialization, on two distribution-level
 * distances (both computed on 512 samples from fixed latents against the 512 training images):
 *
 *   Fréchet distance on a fixed random conv net's features     end ≤ FD_RATIO × init
 *   colour-histogram total variation (64 RGB bins)             end ≤ HIST_RATIO × init
 *
 * "end" is the mean over the last three evaluations (at 80%, 90% and 100% of the steps): GAN training
 * oscillates, and one snapshot can land on a bad moment. The margins (stated per family below) are
 * about half-way between "no learning" (ratio 1) and what the fixed-seed runs reach on wasm, so a tfjs
 * upgrade that shifts rounding does not flip them, while a family that stops learning fails.
 * For scale, two independent 512-image draws of the data are at FD ≈ 0.04, histogram ≈ 0.014.
 *
 * wasm only (the cpu backend is ~10× slower; the same code paths are covered there by families.test.ts).
 * Each family is sized to run in well under a minute here (2 shared cores).
 *
 * Run: npx tsx --test tests/engine/learning.test.ts      (GAN_STUDIO_LEARNING_VERBOSE=1 prints the curves)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { resolveConfig, type TrainingOverrides } from '../../shared/presets.ts';
import { DataFeed } from '../../main/engine/training/dataFeed.ts';
import { createFamily, type GanFamily } from '../../main/engine/training/family.ts';
import { engineBackends } from './gradcheck.ts';
import { RandomFeatures, SHAPES_RES, colourHistogram, colouredShapes, frechetDistance, histogramDistance, toTensor } from './learning.ts';

interface LearningCase {
  preset: string;
  overrides: TrainingOverrides;
  steps: number;
  fdRatio: number;
  histRatio: number;
}

const small = { resolution: SHAPES_RES, batchSize: 16, xflip: false, seed: 3, latentDim: 32 } as const;

// Reached on wasm with these seeds (FD, histogram ratios; seconds here): dcgan 0.09, 0.48 (12 s); wgan 0.18,
// 0.68 (17 s); wgan-gp 0.12, 0.33 (20 s, at the preset's lr 4e-4); progan 0.03, 0.52 (40 s); stylegan2 0.09, 0.27 (29 s).
const cases: LearningCase[] = [
  { preset: 'quick-dcgan', overrides: { ...small, channelsAtOutput: 16, maxChannels: 64 }, steps: 400, fdRatio: 0.3, histRatio: 0.75 },
  // n_critic 5: 800 steps are 160 G updates.
  { preset: 'quick-wgan', overrides: { ...small, channelsAtOutput: 16, maxChannels: 64 }, steps: 800, fdRatio: 0.5, histRatio: 0.85 },
  { preset: 'quick-wgan-gp', overrides: { ...small, channelsAtOutput: 16, maxChannels: 64 }, steps: 800, fdRatio: 0.5, histRatio: 0.8 },
  // Growing 4 → 8 → 16 px, 50 steps per phase; full resolution from step 200.
  { preset: 'quick-progan', overrides: { ...small, channelsAtOutput: 8, maxChannels: 32, fadeKimg: 0.8, stableKimg: 0.8 }, steps: 500, fdRatio: 0.3, histRatio: 0.8 },
  // Lazy regularization as in the preset (R1 every 16 steps, path length every 4), EMA samples.
  { preset: 'quick-stylegan2', overrides: { ...small, channelsAtOutput: 8, maxChannels: 32 }, steps: 300, fdRatio: 0.3, histRatio: 0.65 },
];

const { run: backends } = await engineBackends();
const verbose = Boolean(process.env.GAN_STUDIO_LEARNING_VERBOSE);

const data = colouredShapes(512, 11);

interface Distances {
  fd: number;
  hist: number;
}

function measure(family: GanFamily, z: tf.Tensor2D, features: RandomFeatures, real: { feats: Float64Array[]; hist: Float64Array }): Distances {
  const images = tf.tidy(() => tf.concat([0, 1, 2, 3].map((i) => family.generate(z.slice([i * 128, 0], [128, -1])))) as tf.Tensor4D);
  const result = { fd: frechetDistance(features.features(images), real.feats), hist: histogramDistance(colourHistogram(images), real.hist) };
  images.dispose();
  return result;
}

test('the synthetic data: two independent draws are close on both distances (the floor)', { skip: backends.includes('wasm') ? false : 'needs wasm' }, async () => {
  await tf.setBackend('wasm');
  const features = new RandomFeatures();
  const a = toTensor(data);
  const b = toTensor(colouredShapes(512, 12));
  const fd = frechetDistance(features.features(a), features.features(b));
  const hist = histogramDistance(colourHistogram(a), colourHistogram(b));
  if (verbose) console.log(`[learning] floor: FD ${fd.toFixed(3)}, histogram ${hist.toFixed(3)}`);
  assert.ok(fd < 0.3 && hist < 0.05, `two draws of the data are at FD ${fd}, histogram ${hist}`);
  tf.dispose([a, b]);
  features.dispose();
});

for (const c of cases) {
  test(`${c.preset} learns coloured shapes: FD ≤ ${c.fdRatio}× and histogram ≤ ${c.histRatio}× their initial values after ${c.steps} steps [wasm]`, { skip: backends.includes('wasm') ? false : 'needs wasm' }, async () => {
    await tf.setBackend('wasm');
    const config = resolveConfig(c.preset, c.overrides);
    const features = new RandomFeatures();
    const realImages = toTensor(data);
    const real = { feats: features.features(realImages), hist: colourHistogram(realImages) };
    realImages.dispose();
    const z = tf.randomNormal([512, config.latentDim], 0, 1, 'float32', 77) as tf.Tensor2D;
    const family = createFamily(config);
    const feed = new DataFeed(data, config.seed, config.xflip);
    const initial = measure(family, z, features, real);
    const late: Distances[] = [];
    const checkpoints = new Set([Math.round(c.steps * 0.8), Math.round(c.steps * 0.9), c.steps]);
    const started = performance.now();
    for (let step = 0; step < c.steps; step++) {
      const reals = feed.next(config.batchSize, step);
      tf.dispose([family.trainStep(reals, step), reals]);
      if (checkpoints.has(step + 1)) {
        const d = measure(family, z, features, real);
        late.push(d);
        if (verbose) console.log(`[learning] ${c.preset} step ${step + 1}: FD ${d.fd.toFixed(3)}, histogram ${d.hist.toFixed(3)}`);
      }
    }
    const end = { fd: late.reduce((s, d) => s + d.fd, 0) / late.length, hist: late.reduce((s, d) => s + d.hist, 0) / late.length };
    const seconds = (performance.now() - started) / 1000;
    if (verbose) console.log(`[learning] ${c.preset}: FD ${initial.fd.toFixed(3)} → ${end.fd.toFixed(3)} (${(end.fd / initial.fd).toFixed(2)}×), histogram ${initial.hist.toFixed(3)} → ${end.hist.toFixed(3)} (${(end.hist / initial.hist).toFixed(2)}×), ${c.steps} steps in ${seconds.toFixed(1)} s`);
    family.dispose();
    z.dispose();
    features.dispose();
    assert.ok(Number.isFinite(end.fd) && end.fd <= c.fdRatio * initial.fd, `FD ${initial.fd.toFixed(3)} → ${end.fd.toFixed(3)}: not below ${c.fdRatio}× the initial value`);
    assert.ok(Number.isFinite(end.hist) && end.hist <= c.histRatio * initial.hist, `histogram distance ${initial.hist.toFixed(3)} → ${end.hist.toFixed(3)}: not below ${c.histRatio}× the initial value`);
  });
}
