/**
 * The equalized learning rate as an option of the DCGAN networks (dcgan, wgan, wgan-gp), checked against
 * its definition (Karras et al. 2018, §4.1): every conv and dense weight is stored N(0, 1) and used times
 * its He constant c = gain/√fan-in (gain √2, 1 for the linear output layers), biases start at 0.
 *
 *  - init: stored weights have mean 0 and std 1, the weights the layers use have std c, with fan-ins
 *    computed here from the layer definitions (conv [k, k, in, out]: k²·in; DCGAN's 4×4 stride-2 transposed
 *    conv: 4·in, the 2×2 taps an output pixel sees per input channel; dense [in, out]: in); a layer fed
 *    unit-variance noise gives outputs of variance gain² (what the fan-in is for);
 *  - gradients: ∂L/∂(stored W) = c·∂L/∂(used W) (against the same network without the option holding the
 *    used weights) and against central finite differences;
 *  - with spectral normalization the used weight has spectral norm 1 (not c); WGAN's clip bounds the used
 *    weights by ±c_clip; transfer to and from a run without the option keeps the generator's function;
 *  - a short training run with spectral norm and gradient clipping: finite scalars, D learns, no tensor
 *    leak per step. (Exact checkpoint resume with the option: tests/engine/families.test.ts.)
 *
 * Tolerances: a sample std of n normal draws has a standard error of ≈ 1/√(2n); statistics are compared
 * within 4 standard errors (seeded, so a pass is stable). float32 products are compared within 1e-5 of
 * the larger magnitude; finite differences use gradcheck.ts's tolerance (rtol 2e-2).
 *
 * Run: npx tsx --test tests/engine/equalizedLr.test.ts
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { CheckpointManifest } from '../../main/runs/runStore.ts';
import { discriminatorLoss, generatorLoss } from '../../main/engine/loss/logistic.ts';
import { DcganDiscriminator, DcganGenerator } from '../../main/engine/models/dcgan.ts';
import { ProganDiscriminator, ProganGenerator } from '../../main/engine/models/progan.ts';
import { StyleGan2Discriminator, StyleGan2Generator } from '../../main/engine/models/stylegan2.ts';
import { downConv, upConv } from '../../main/engine/models/layers.ts';
import type { Params } from '../../main/engine/models/params.ts';
import { SpectralNorm } from '../../main/engine/models/spectralNorm.ts';
import { Rng } from '../../main/engine/rng.ts';
import { packTensors } from '../../main/engine/training/checkpoint.ts';
import { DataFeed } from '../../main/engine/training/dataFeed.ts';
import { createFamily } from '../../main/engine/training/family.ts';
import { gridLatents, transferWeights } from '../../main/engine/training/trainingLoop.ts';
import { resolveConfig, type ResolvedConfig, type TrainingOverrides } from '../../shared/presets.ts';
import { colouredSquares } from './trainingFixtures.ts';
import { checkVariableGradients, engineBackends, maxAbsDiff, randomTensor } from './gradcheck.ts';

const { run: backends, skipped } = await engineBackends();
for (const s of skipped) test(`equalized learning rate on the ${s.name} backend`, { skip: `${s.name} skipped: ${s.reason}` }, () => undefined);

/** The He constant of a DCGAN weight, from its name and shape (independently of the engine's helpers). */
function expectedHe(name: string, shape: number[]): number {
  const [a, , c, d] = shape as [number, number, number, number];
  let fanIn: number;
  if (name === 'g.fc.weight' || name === 'd.fc.weight') fanIn = a; // dense [in, out]
  else if (name.startsWith('g.up') || name === 'g.rgb.weight') fanIn = 2 * 2 * d; // transposed [4, 4, out, in], stride 2
  else if (name.startsWith('d.down')) fanIn = 4 * 4 * c; // conv [4, 4, in, out]
  else throw new Error(`no He constant expected for ${name}`);
  const gain = name === 'g.rgb.weight' || name === 'd.fc.weight' ? 1 : Math.SQRT2;
  return gain / Math.sqrt(fanIn);
}

function stats(values: Float32Array): { mean: number; std: number } {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  return { mean, std: Math.sqrt(sq / values.length) };
}

function read(make: () => tf.Tensor): Float32Array {
  const t = tf.tidy(make);
  const out = Float32Array.from(t.dataSync() as Float32Array);
  t.dispose();
  return out;
}

/** |a − b| ≤ rel·max|b| + abs, elementwise; the message names the worst element. */
function assertClose(a: Float32Array, b: Float32Array, rel: number, what: string, abs = 0): void {
  const { diff, scale } = maxAbsDiff(a, b);
  assert.ok(diff <= rel * scale + abs, `${what}: max |difference| ${diff.toExponential(3)} for values up to ${scale.toExponential(3)}`);
}

/** Largest singular value of a row-major [rows, cols] matrix, by float64 power iteration on AᵀA. */
function sigmaMax(a: Float32Array, rows: number, cols: number): number {
  let v = new Float64Array(cols).fill(1);
  const times = (x: Float64Array): Float64Array => {
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r] = (out[r] as number) + (a[r * cols + c] as number) * (x[c] as number);
    return out;
  };
  for (let it = 0; it < 300; it++) {
    const av = times(v);
    const atav = new Float64Array(cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) atav[c] = (atav[c] as number) + (a[r * cols + c] as number) * (av[r] as number);
    const norm = Math.hypot(...atav);
    v = atav.map((x) => x / norm);
  }
  return Math.hypot(...times(v));
}

const weightNames = (params: Params): string[] => params.named().map(([name]) => name).filter((name) => name.endsWith('.weight'));

/** Installs spectral norm on `params`, runs `iterations` power iterations, and checks σ(used weight) ≈ 1. */
function assertSpectralNormOne(params: Params, iterations: number, tolerance: number): void {
  const sn = new SpectralNorm(params);
  for (let i = 0; i < iterations; i++) sn.update();
  for (const name of weightNames(params)) {
    const shape = params.get(name).shape;
    const cols = shape[shape.length - 1] as number;
    const used = read(() => params.weight(name));
    const sigma = sigmaMax(used, used.length / cols, cols);
    assert.ok(Math.abs(sigma - 1) < tolerance, `${name}: σ(used weight) = ${sigma} (He constant ${params.scaleOf(name).toFixed(4)})`);
  }
}

/** A small DCGAN (16 px, latent 8, 2→8 feature maps) with and without the option. */
const small = (equalizedLr: boolean, overrides: TrainingOverrides = {}): ResolvedConfig =>
  resolveConfig('quick-dcgan', { resolution: 16, latentDim: 8, channelsAtOutput: 2, maxChannels: 8, equalizedLr, ...overrides });

/** A copy of `from`'s networks without the option, holding the weights `from` uses (stored × c). */
function plainTwin<T extends DcganGenerator | DcganDiscriminator>(from: T, make: (config: ResolvedConfig) => T): T {
  const twin = make({ ...(from.shape as ResolvedConfig), equalizedLr: false });
  const source = new Map(from.params.named());
  tf.tidy(() => {
    for (const [name, v] of twin.params.named()) v.assign((source.get(name) as tf.Variable).mul(from.params.scaleOf(name)));
  });
  return twin;
}

const TINY = { resolution: 16, batchSize: 8, channelsAtOutput: 4, maxChannels: 16, latentDim: 16, seed: 7, gridSide: 2 } as const;
const DATA = colouredSquares(32, 16, 99);

for (const backend of backends) {
  const use = async (): Promise<void> => assert.ok(await tf.setBackend(backend), `tf.setBackend('${backend}') failed`);

  test(`init: stored weights N(0, 1), used weights He-scaled (std gain/√fan-in), biases 0; unit-variance inputs give variance gain² [${backend}]`, async () => {
    await use();
    // 32 px: G 4 (dense) → 8 → 16 (transposed convs) → 32 RGB; D 32 → 16 → 8 → 4 (convs) → dense.
    const config = resolveConfig('quick-dcgan', { resolution: 32, latentDim: 64, channelsAtOutput: 16, maxChannels: 64, equalizedLr: true });
    const g = new DcganGenerator(config, new Rng(1));
    const d = new DcganDiscriminator(config, new Rng(2));
    const before = tf.memory().numTensors;
    for (const net of [g, d]) {
      const weights = weightNames(net.params);
      for (const [name, v] of net.params.named()) {
        const stored = Float32Array.from(v.dataSync() as Float32Array);
        if (!weights.includes(name)) {
          assert.equal(net.params.scaleOf(name), 1, `${name} is not a conv/dense weight but has a run-time scale`);
          if (name.endsWith('.bias')) assert.ok(stored.every((x) => x === 0), `${name} does not start at 0`);
          continue;
        }
        const c = expectedHe(name, v.shape);
        const n = stored.length;
        assert.ok(Math.abs(net.params.scaleOf(name) / c - 1) < 1e-12, `${name}: run-time scale ${net.params.scaleOf(name)}, He constant ${c}`);
        const s = stats(stored);
        assert.ok(Math.abs(s.mean) <= 4 / Math.sqrt(n) && Math.abs(s.std - 1) <= 4 / Math.sqrt(2 * n), `${name} [${v.shape}]: stored mean ${s.mean.toFixed(4)}, std ${s.std.toFixed(4)} (n = ${n})`);
        const used = read(() => net.params.weight(name));
        const u = stats(used);
        assert.ok(Math.abs(u.std / c - 1) <= 4 / Math.sqrt(2 * n), `${name}: used std ${u.std.toExponential(4)}, He ${c.toExponential(4)}`);
        assertClose(used, stored.map((x) => x * c), 1e-6, `${name}: used ≠ c·stored`);
      }
    }
    assert.deepEqual(weightNames(g.params), ['g.fc.weight', 'g.up0.weight', 'g.up1.weight', 'g.rgb.weight']);
    assert.deepEqual(weightNames(d.params), ['d.down0.weight', 'd.down1.weight', 'd.down2.weight', 'd.fc.weight']);

    // What the fan-in is for: N(0, 1) inputs → pre-activation variance gain² = 2 at interior pixels.
    const variance = (make: () => tf.Tensor): number => {
      const values = read(make);
      return values.reduce((a, x) => a + x * x, 0) / values.length;
    };
    const interior = (y: tf.Tensor4D): tf.Tensor => y.slice([0, 1, 1, 0], [-1, y.shape[1] - 2, y.shape[2] - 2, -1]);
    const cases: Array<[string, () => tf.Tensor]> = [
      ['g.fc.weight (dense)', () => tf.matMul(randomTensor([256, 64], 11) as tf.Tensor2D, g.params.weight('g.fc.weight') as tf.Tensor2D)],
      ['g.up0.weight (transposed conv, in 64)', () => interior(upConv(randomTensor([16, 4, 4, 64], 12) as tf.Tensor4D, g.params.weight('g.up0.weight') as tf.Tensor4D))],
      ['d.down1.weight (conv, in 32)', () => interior(downConv(randomTensor([16, 16, 16, 32], 13) as tf.Tensor4D, d.params.weight('d.down1.weight') as tf.Tensor4D))],
    ];
    for (const [what, make] of cases) {
      const v = variance(make);
      assert.ok(Math.abs(v / 2 - 1) < 0.1, `${what}: output variance ${v.toFixed(3)}, expected 2 (He)`);
    }
    assert.equal(tf.memory().numTensors, before, 'reading used weights leaked tensors');

    // Off: DCGAN's N(0, 0.02), used as stored.
    const plain = new DcganGenerator({ ...config, equalizedLr: false }, new Rng(1));
    for (const name of weightNames(plain.params)) {
      assert.equal(plain.params.scaleOf(name), 1);
      assert.ok(Math.abs(stats(plain.params.get(name).dataSync() as Float32Array).std / 0.02 - 1) < 0.1, `${name}: without the option the init is N(0, 0.02)`);
    }
    for (const net of [g, d, plain]) net.dispose();
  });

  test(`gradients: ∂L/∂stored = He constant × ∂L/∂used, and central finite differences agree [${backend}]`, async (t: TestContext) => {
    await use();
    const d = new DcganDiscriminator(small(true), new Rng(3));
    const g = new DcganGenerator(small(true), new Rng(4));
    const dPlain = plainTwin(d, (c) => new DcganDiscriminator(c, new Rng(0)));
    const gPlain = plainTwin(g, (c) => new DcganGenerator(c, new Rng(0)));
    const reals = randomTensor([4, 16, 16, 3], 90, 0.5) as tf.Tensor4D;
    const fakes = randomTensor([4, 16, 16, 3], 91, 0.5) as tf.Tensor4D;
    const z = randomTensor([4, 8], 92) as tf.Tensor2D;
    const lossD = (net: DcganDiscriminator) => () => discriminatorLoss(net.apply(reals), net.apply(fakes)).loss;
    const lossG = (gen: DcganGenerator) => () => generatorLoss(dPlain.apply(gen.apply(z, 'train').images));

    const compare = (what: string, eq: Params, plain: Params, loss: () => tf.Scalar, plainLoss: () => tf.Scalar): void => {
      const a = tf.variableGrads(loss, eq.trainable());
      const b = tf.variableGrads(plainLoss, plain.trainable());
      assertClose(Float32Array.from(a.value.dataSync()), Float32Array.from(b.value.dataSync()), 1e-5, `${what}: the two networks compute different losses`);
      const plainByName = new Map(plain.named());
      for (const [name, v] of eq.named()) {
        const ga = a.grads[v.name];
        if (!ga) continue;
        const gb = b.grads[(plainByName.get(name) as tf.Variable).name] as tf.Tensor;
        const c = eq.scaleOf(name);
        assertClose(Float32Array.from(ga.dataSync() as Float32Array), read(() => gb.mul(c)), 1e-4, `${what}: ∂L/∂${name} ≠ ${c.toFixed(4)} × ∂L/∂(used ${name})`, 1e-9);
      }
      tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
    };
    await t.test('against the same networks without the option, holding the used weights', () => {
      compare('L_D', d.params, dPlain.params, lossD(d), lossD(dPlain));
      compare('L_G', g.params, gPlain.params, lossG(g), lossG(gPlain));
      // The check sees the scale: at c ≠ 1 the plain gradients alone are far off.
      const a = tf.variableGrads(lossD(d), [d.params.get('d.down1.weight')]);
      const b = tf.variableGrads(lossD(dPlain), [dPlain.params.get('d.down1.weight')]);
      const [ga, gb] = [Object.values(a.grads)[0] as tf.Tensor, Object.values(b.grads)[0] as tf.Tensor];
      assert.ok(maxAbsDiff(ga.dataSync(), gb.dataSync()).diff > 0.1 * maxAbsDiff(gb.dataSync(), ga.dataSync()).scale, 'plain and stored gradients coincide');
      tf.dispose([a.value, b.value, ga, gb]);
    });
    // Steps as in gradients.test.ts (kinks of the ReLUs inside the nets): 1e-3 down to 1e-4.
    const h = [1e-3, 3e-4, 1e-4];
    for (const name of ['d.down0.weight', 'd.down1.weight', 'd.fc.weight']) {
      await t.test(`L_D w.r.t. stored ${name}: finite differences`, () => {
        const r = checkVariableGradients(lossD(d), [d.params.get(name)], { names: [name], h, label: `L_D [${backend}]` });
        assert.ok(r.worstRatio <= 1, r.worst);
      });
    }
    for (const name of ['g.fc.weight', 'g.up0.weight', 'g.rgb.weight']) {
      await t.test(`L_G w.r.t. stored ${name}: finite differences`, () => {
        const r = checkVariableGradients(lossG(g), [g.params.get(name)], { names: [name], h, label: `L_G [${backend}]` });
        assert.ok(r.worstRatio <= 1, r.worst);
      });
    }
    tf.dispose([reals, fakes, z]);
    for (const net of [d, g, dPlain, gPlain]) net.dispose();
  });

  test(`with spectral normalization every used weight has spectral norm 1, not the He constant [${backend}]`, async () => {
    await use();
    for (const net of [new DcganDiscriminator(small(true), new Rng(5)), new DcganGenerator(small(true), new Rng(6))]) {
      assertSpectralNormOne(net.params, 40, 1e-3);
      net.dispose();
    }
  });

  test(`ProGAN and StyleGAN2: used weights He-scaled with the papers' gains; with spectral normalization each has spectral norm 1 [${backend}]`, async () => {
    await use();
    // The gains, written out here from the papers' code rather than taken from the engine: ProGAN √2, but
    // √2/4 for G's first dense layer and 1 for toRGB and D's output; StyleGAN2 1 everywhere (its lrelu
    // carries the √2), the mapping layers with lr multiplier μ (stored N(0, 1/μ²), used ×μ/√fan-in), and
    // the modulated convs unscaled (demodulation normalizes them).
    const fanIn = (shape: number[]): number => shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const proganGain = (name: string): number => (name === 'g.b4.fc.weight' ? Math.SQRT2 / 4 : /rgb\d+\.weight$/.test(name) && name.startsWith('g.') ? 1 : name === 'd.b4.out.weight' ? 1 : Math.SQRT2);
    const mu = 0.01;
    const pcfg = resolveConfig('quick-progan', { resolution: 16, channelsAtOutput: 4, maxChannels: 8, latentDim: 8 });
    const scfg = resolveConfig('quick-stylegan2', { resolution: 16, channelsAtOutput: 4, maxChannels: 8, latentDim: 8, mappingLayers: 2, mappingLrMul: mu });
    const pshape = { ...pcfg, mbstdGroup: 2 };
    const sshape = { ...scfg, mappingLayers: 2, mappingLrMul: mu, mbstdGroup: 2, dResidual: true };
    const nets: { params: Params; expected: (name: string, shape: number[]) => { std: number; scale: number }; dispose: () => void }[] = [
      ...[new ProganGenerator(pshape, new Rng(1)), new ProganDiscriminator(pshape, new Rng(2))].map((net) => ({
        params: net.params,
        expected: (name: string, shape: number[]) => ({ std: 1, scale: proganGain(name) / Math.sqrt(fanIn(shape)) }),
        dispose: () => net.dispose(),
      })),
      ...[new StyleGan2Generator(sshape, new Rng(3)), new StyleGan2Discriminator(sshape, new Rng(4))].map((net) => ({
        params: net.params,
        expected: (name: string, shape: number[]) =>
          /^g\.b\d+\.conv\d\.weight$/.test(name) ? { std: 1, scale: 1 } : name.startsWith('g.map.') ? { std: 1 / mu, scale: mu / Math.sqrt(fanIn(shape)) } : { std: 1, scale: 1 / Math.sqrt(fanIn(shape)) },
        dispose: () => net.dispose(),
      })),
    ];
    for (const net of nets) {
      for (const name of weightNames(net.params)) {
        const shape = net.params.get(name).shape;
        const { std, scale } = net.expected(name, shape);
        assert.ok(Math.abs(net.params.scaleOf(name) - scale) <= 1e-9 * scale, `${name}: run-time scale ${net.params.scaleOf(name)}, expected ${scale}`);
        const stored = stats(read(() => net.params.get(name).clone()));
        const n = net.params.get(name).size;
        assert.ok(Math.abs(stored.std - std) <= (4 * std) / Math.sqrt(2 * n), `${name}: stored std ${stored.std}, expected ${std} (${n} values)`);
      }
      // Spectral norm normalizes the weight the layer computes with, He constant included: σ = 1, not c.
      assertSpectralNormOne(net.params, 60, 2e-3);
      net.dispose();
    }
  });

  test(`training with spectral norm (D and G) and gradient clipping: finite scalars, D learns, flat tensor count; WGAN clips the used weights [${backend}]`, async () => {
    await use();
    const steps = 12;
    // D at a high rate against a slow G, so D's loss must fall within a few steps (a learning check; at
    // equal rates the game is balanced and the loss only wanders). Stored weights are O(1), so an Adam step
    // of 1e-2 changes them by ~1% (DCGAN's 2e-4 on N(0, 0.02) weights: the same relative step).
    const config = resolveConfig('quick-dcgan-stable', { ...TINY, equalizedLr: true, spectralNormG: true, gLearningRate: 1e-4, dLearningRate: 1e-2 });
    assert.deepEqual([config.equalizedLr, config.spectralNormD, config.spectralNormG, config.gradClip], [true, true, true, true]);
    const baseline = tf.memory().numTensors;
    const family = createFamily(config);
    const feed = new DataFeed(DATA, config.seed, config.xflip);
    const lossD: number[] = [];
    let flat = -1;
    for (let step = 0; step < steps; step++) {
      const reals = feed.next(config.batchSize, step);
      const scalars = family.trainStep(reals, step);
      reals.dispose();
      const values = Array.from(await scalars.data());
      scalars.dispose();
      values.forEach((v, i) => assert.ok(Number.isFinite(v), `step ${step}: ${family.scalarNames[i]} = ${v}`));
      lossD.push(values[family.scalarNames.indexOf('loss/D')] as number);
      if (step === 1) flat = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, flat, 'the tensor count grew after step 1 (a leak per step)');
    const last = lossD.slice(-5).reduce((a, b) => a + b, 0) / 5;
    assert.ok(last < (lossD[0] as number) - 0.2, `loss/D did not go down: ${lossD.map((x) => x.toFixed(3)).join(' ')}`);
    family.dispose();
    assert.equal(tf.memory().numTensors, baseline, 'dispose() did not free every tensor');

    // WGAN: the critic's used weights are clipped to ±c (its stored ones to ±c/He), every step.
    const wgan = resolveConfig('quick-wgan', { ...TINY, equalizedLr: true, nCritic: 2 });
    const clip = wgan.weightClip as number;
    const critic = createFamily(wgan);
    const wfeed = new DataFeed(DATA, wgan.seed, wgan.xflip);
    for (let step = 0; step < 3; step++) {
      const reals = wfeed.next(wgan.batchSize, step);
      tf.dispose([critic.trainStep(reals, step), reals]);
    }
    for (const [name, v] of critic.stateTensors()) {
      if (!name.startsWith('d.')) continue;
      const c = name.endsWith('.weight') ? expectedHe(name, v.shape) : 1;
      const used = Array.from(v.dataSync(), (x) => x * c);
      const top = Math.max(...used.map(Math.abs));
      assert.ok(top <= clip * (1 + 1e-5), `${name}: |used weight| up to ${top}, beyond the clip ${clip}`);
      // Stored N(0, 1) weights are far beyond ±c/He: the clip is reached (not ±c on the stored values).
      if (name.endsWith('.weight')) assert.ok(top > clip * (1 - 1e-5), `${name}: |used weight| only up to ${top}, clip ${clip}`);
    }
    critic.dispose();
  });

  test(`transfer between runs with and without the option keeps the generator's function; biases copied as is [${backend}]`, async () => {
    await use();
    for (const [fromEq, toEq] of [
      [false, true],
      [true, false],
    ] as const) {
      const source = resolveConfig('quick-dcgan', { ...TINY, equalizedLr: fromEq });
      const target = resolveConfig('quick-dcgan', { ...TINY, equalizedLr: toEq, seed: 8 });
      const original = createFamily(source);
      const feed = new DataFeed(DATA, source.seed, source.xflip);
      for (let step = 0; step < 2; step++) {
        const reals = feed.next(source.batchSize, step);
        tf.dispose([original.trainStep(reals, step), reals]);
      }
      const { entries, bytes } = await packTensors(original.stateTensors());
      const manifest: CheckpointManifest = { format: 'gan-studio-checkpoint/1', step: 2, kimg: 0.016, createdAt: '', backend, config: source, tensors: entries, trainerState: {}, weightsByteLength: bytes.byteLength, weightsSha256: '' };
      const copy = createFamily(target);
      const notes = transferWeights(copy, { manifest, weights: bytes }, 'source/step-2', target);
      const weights = entries.filter((e) => e.name.endsWith('.weight') && !e.name.startsWith('opt')).length;
      assert.ok(weights === 6 && notes.some((n) => n.startsWith(`rescaled ${weights} weights`)), notes.join('\n'));
      const z = gridLatents(source);
      const a = read(() => original.generate(z));
      const b = read(() => copy.generate(z));
      assertClose(b, a, 1e-4, `${fromEq ? 'with' : 'without'} → ${toEq ? 'with' : 'without'}: generated images differ`);
      const copied = new Map(copy.stateTensors());
      for (const [name, v] of original.stateTensors()) {
        if (name.endsWith('.bias') && !name.startsWith('opt')) assert.deepEqual(Array.from((copied.get(name) as tf.Tensor).dataSync()), Array.from(v.dataSync()), `${name} changed in transfer`);
      }
      z.dispose();
      original.dispose();
      copy.dispose();
    }
  });
}
