/**
 * Gradients of every op the networks and losses use, against central finite differences (gradcheck.ts),
 * on each TensorFlow.js backend present; then the whole DCGAN losses w.r.t. network parameters; then our
 * wasm Conv2DBackpropFilter / Conv2DBackpropInput kernels against the cpu backend's, shape by shape.
 *
 * Every reduction to a scalar goes through `project` (a fixed random weighting of the output), so a
 * gradient that is right in sum but wrong in arrangement (a mirrored kernel, a transposed matrix) fails.
 * Inputs of kinked ops (relu, abs, leakyRelu) are kept ≥ 0.1 from the kink (`awayFromZero`).
 *
 * Run: npx tsx --test tests/engine/gradients.test.ts
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { discriminatorLoss, generatorLoss, softplus } from '../../main/engine/loss/logistic.ts';
import { DcganDiscriminator, DcganGenerator } from '../../main/engine/models/dcgan.ts';
import { BN_EPSILON, batchMoments, batchNorm, downConv, leakyRelu, upConv } from '../../main/engine/models/layers.ts';
import { Rng } from '../../main/engine/rng.ts';
import { resolveConfig } from '../../shared/presets.ts';
import {
  GradientMismatch,
  awayFromZero,
  checkGradients,
  checkVariableGradients,
  engineBackends,
  maxAbsDiff,
  project,
  randomTensor,
  type GradCheckOptions,
  type GradCheckResult,
} from './gradcheck.ts';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
const PAD_1: tf.backend_util.ExplicitPadding = [
  [0, 0],
  [1, 1],
  [1, 1],
  [0, 0],
];
const padName = (pad: Pad): string => (typeof pad === 'string' ? `'${pad}'` : JSON.stringify(pad));

const { run: backends, skipped } = await engineBackends();

for (const s of skipped) {
  test(`gradients on the ${s.name} backend`, { skip: `${s.name} skipped: ${s.reason}` }, () => undefined);
}

/** Switch to `backend` and check that the switch took. */
async function use(backend: string): Promise<void> {
  assert.ok(await tf.setBackend(backend), `tf.setBackend('${backend}') failed`);
  assert.equal(tf.getBackend(), backend);
}

/** checkGradients plus: no tensors left behind, and the result really compared something. */
function gradcheck(f: (...xs: tf.Tensor[]) => tf.Scalar, inputs: tf.Tensor[], opts: GradCheckOptions): GradCheckResult {
  const before = tf.memory().numTensors;
  const result = checkGradients(f, inputs, opts);
  assert.equal(tf.memory().numTensors, before, `${opts.label ?? ''}: the gradient check leaked tensors`);
  assert.ok(result.checks >= inputs.length * 2, `${opts.label ?? ''}: only ${result.checks} comparisons`);
  return result;
}

// ---- the checker itself must be able to fail ----

test('gradcheck: accepts a correct gradient, rejects a 5% scaled or a permuted one, restores variables', async () => {
  await use(backends[0] as string);
  const x = randomTensor([3, 4], 1);
  const square = (a: tf.Tensor): tf.Scalar => project(a.square(), 2);
  gradcheck(square, [x], { names: ['x'], label: 'x²' });

  // x ↦ project(x², 2) with a hand-written gradient 2·x·R/√n (R = the projection's weights), times `factor`,
  // or reversed along the last axis: the right one must pass, the wrong ones must be caught.
  const r = randomTensor([3, 4], 2);
  const withGradient = (factor: number, reverse: boolean) =>
    tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const a = args[0] as tf.Tensor;
      return {
        value: project(a.square(), 2),
        gradFunc: (dy: tf.Tensor) => {
          const g = dy.mul(a.mul(r).mul((2 * factor) / Math.sqrt(12)));
          return [reverse ? g.reverse(1) : g];
        },
      };
    });
  const right = withGradient(1, false);
  gradcheck((a) => right(a) as tf.Scalar, [x], { names: ['x'], label: 'hand-written gradient' });
  const scaled = withGradient(1.05, false);
  assert.throws(() => checkGradients((a) => scaled(a) as tf.Scalar, [x], { names: ['x'], label: 'scaled' }), (error: unknown) => {
    assert.ok(error instanceof GradientMismatch, `expected a GradientMismatch, got ${String(error)}`);
    assert.match(error.message, /^scaled: \d+ of \d+ gradient comparisons disagree/);
    assert.match(error.message, /x along random direction #0: analytic/);
    return true;
  });
  const permuted = withGradient(1, true);
  assert.throws(() => checkGradients((a) => permuted(a) as tf.Scalar, [x], { names: ['x'] }), /x coordinate \[\d, \d\]: analytic/);
  r.dispose();

  const v = tf.tidy(() => tf.variable(randomTensor([5], 3), true, 'gradcheck-self-test'));
  const saved = Array.from(v.dataSync());
  const result = checkVariableGradients(() => project(v.exp(), 4), [v]);
  assert.ok(result.worstRatio <= 1);
  assert.deepEqual(Array.from(v.dataSync()), saved, 'checkVariableGradients must restore the variable');
  v.dispose();
  x.dispose();
});

for (const backend of backends) {
  test(`conv2d: gradients w.r.t. input and filter, strides 1 and 2, 'same'/'valid'/explicit padding [${backend}]`, async (t: TestContext) => {
    await use(backend);
    let seed = 100;
    for (const [h, k, cin, cout] of [
      [7, 3, 3, 4],
      [8, 4, 3, 5],
    ] as const) {
      for (const stride of [1, 2]) {
        for (const pad of ['same', 'valid', PAD_1] as Pad[]) {
          const label = `conv2d x[2,${h},${h},${cin}] filter[${k},${k},${cin},${cout}] stride ${stride} pad ${padName(pad)} [${backend}]`;
          await t.test(label, () => {
            const x = randomTensor([2, h, h, cin], seed++);
            const w = randomTensor([k, k, cin, cout], seed++, 0.3);
            const r = gradcheck((a, b) => project(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), 7), [x, w], { names: ['x', 'filter'], label, seed });
            assert.ok(r.worstRatio <= 1, r.worst);
            tf.dispose([x, w]);
          });
        }
      }
    }
  });

  test(`conv2dTranspose (layers.upConv: k=4, stride 2, 'same') and layers.downConv: gradients w.r.t. input and filter [${backend}]`, async (t: TestContext) => {
    await use(backend);
    for (const [n, r, cin, cout] of [
      [2, 4, 6, 3],
      [1, 3, 2, 5],
    ] as const) {
      const label = `upConv x[${n},${r},${r},${cin}] filter[4,4,${cout},${cin}] [${backend}]`;
      await t.test(label, () => {
        const x = randomTensor([n, r, r, cin], 11 + r);
        const w = randomTensor([4, 4, cout, cin], 12 + r, 0.3);
        const out = upConv(x as tf.Tensor4D, w as tf.Tensor4D);
        assert.deepEqual(out.shape, [n, 2 * r, 2 * r, cout]);
        out.dispose();
        gradcheck((a, b) => project(upConv(a as tf.Tensor4D, b as tf.Tensor4D), 13), [x, w], { names: ['x', 'filter'], label });
        tf.dispose([x, w]);
      });
    }
    await t.test(`downConv x[2,8,8,3] filter[4,4,3,4] [${backend}]`, () => {
      const x = randomTensor([2, 8, 8, 3], 21);
      const w = randomTensor([4, 4, 3, 4], 22, 0.3);
      const out = downConv(x as tf.Tensor4D, w as tf.Tensor4D);
      assert.deepEqual(out.shape, [2, 4, 4, 4]);
      out.dispose();
      gradcheck((a, b) => project(downConv(a as tf.Tensor4D, b as tf.Tensor4D), 23), [x, w], { names: ['x', 'filter'], label: `downConv [${backend}]` });
      tf.dispose([x, w]);
    });
  });

  test(`matMul, relu, leakyRelu, tanh and the elementwise ops the engine uses [${backend}]`, async (t: TestContext) => {
    await use(backend);
    const cases: Array<{ name: string; inputs: () => tf.Tensor[]; f: (...xs: tf.Tensor[]) => tf.Tensor }> = [
      { name: 'matMul [3,5]×[5,4]', inputs: () => [randomTensor([3, 5], 31), randomTensor([5, 4], 32)], f: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D) },
      { name: 'relu', inputs: () => [awayFromZero([2, 3, 3, 4], 33)], f: (a) => tf.relu(a) },
      { name: 'layers.leakyRelu slope 0.2', inputs: () => [awayFromZero([2, 3, 3, 4], 34)], f: (a) => leakyRelu(a as tf.Tensor4D, 0.2) },
      { name: 'tanh', inputs: () => [randomTensor([2, 3, 3, 4], 35, 1.5)], f: (a) => tf.tanh(a) },
      { name: 'abs', inputs: () => [awayFromZero([4, 5], 36)], f: (a) => tf.abs(a) },
      { name: 'neg', inputs: () => [randomTensor([4, 5], 37)], f: (a) => a.neg() },
      { name: 'exp', inputs: () => [randomTensor([4, 5], 38)], f: (a) => tf.exp(a) },
      { name: 'log1p', inputs: () => [randomTensor([4, 5], 39).abs().add(-0.5)], f: (a) => tf.log1p(a) },
      { name: 'rsqrt', inputs: () => [randomTensor([4, 5], 40).abs().add(0.5)], f: (a) => tf.rsqrt(a) },
      { name: 'add (broadcast [C])', inputs: () => [randomTensor([2, 3, 3, 4], 41), randomTensor([4], 42)], f: (a, b) => a.add(b as tf.Tensor) },
      { name: 'sub (broadcast [C])', inputs: () => [randomTensor([2, 3, 3, 4], 43), randomTensor([4], 44)], f: (a, b) => a.sub(b as tf.Tensor) },
      { name: 'mul (broadcast [C])', inputs: () => [randomTensor([2, 3, 3, 4], 45), randomTensor([4], 46)], f: (a, b) => a.mul(b as tf.Tensor) },
      { name: 'add / sub / mul same shape', inputs: () => [randomTensor([3, 4], 47), randomTensor([3, 4], 48)], f: (a, b) => a.add(b as tf.Tensor).mul(a.sub(b as tf.Tensor)) },
      { name: 'reshape [2,3,3,4]→[2,36]', inputs: () => [randomTensor([2, 3, 3, 4], 49)], f: (a) => a.reshape([2, -1]) },
      { name: 'mean (all)', inputs: () => [randomTensor([2, 3, 3, 4], 50)], f: (a) => a.mean().mul(a.mean()) },
      { name: 'mean over [0,1,2]', inputs: () => [randomTensor([2, 3, 3, 4], 51)], f: (a) => a.mean([0, 1, 2]) },
      { name: 'sum (all)', inputs: () => [randomTensor([2, 3, 3, 4], 52)], f: (a) => a.sum().square() },
      { name: 'tf.moments over [0,1,2]', inputs: () => [randomTensor([3, 3, 3, 4], 53)], f: (a) => { const m = tf.moments(a, [0, 1, 2]); return tf.concat([m.mean, m.variance]); } },
    ];
    for (const c of cases) {
      const label = `${c.name} [${backend}]`;
      await t.test(label, () => {
        const inputs = c.inputs();
        const r = gradcheck((...xs) => project(c.f(...xs), 60), inputs, { label });
        assert.ok(r.worstRatio <= 1, r.worst);
        tf.dispose(inputs);
      });
    }

    await t.test(`leakyRelu values: max(x, 0.2·x), gradient 1 or 0.2 [${backend}]`, () => {
      const x = awayFromZero([50], 61);
      const xs = Array.from(x.dataSync());
      const y = Array.from(leakyRelu(x.reshape([1, 1, 5, 10]) as tf.Tensor4D, 0.2).dataSync());
      const g = Array.from(tf.grad((a: tf.Tensor) => leakyRelu(a.reshape([1, 1, 5, 10]) as tf.Tensor4D, 0.2).sum())(x).dataSync());
      xs.forEach((v, i) => {
        assert.ok(Math.abs((y[i] as number) - Math.max(v, 0.2 * v)) <= 1e-6 * Math.abs(v), `leakyRelu(${v}) = ${y[i]}`);
        assert.ok(Math.abs((g[i] as number) - (v > 0 ? 1 : 0.2)) <= 1e-6, `leakyRelu'(${v}) = ${g[i]}`);
      });
      x.dispose();
    });
  });

  test(`batchMoments + batchNorm: values and gradients w.r.t. x, gamma, beta (batch and fixed statistics) [${backend}]`, async (t: TestContext) => {
    await use(backend);
    const x = randomTensor([4, 3, 3, 5], 70, 2).add(tf.tensor1d([3, -1, 0, 0.5, 10]));
    const gamma = randomTensor([5], 71, 0.2).add(1);
    const beta = randomTensor([5], 72);

    await t.test(`forward: per-channel mean = beta, variance = gamma²·v/(v+ε) [${backend}]`, () => {
      const stats = batchMoments(x as tf.Tensor4D);
      const y = batchNorm(x as tf.Tensor4D, stats, gamma as tf.Tensor1D, beta as tf.Tensor1D);
      const m = tf.moments(y, [0, 1, 2]);
      const v = Array.from(stats.variance.dataSync());
      const expectedVar = Array.from(gamma.dataSync()).map((gm, i) => gm * gm * ((v[i] as number) / ((v[i] as number) + BN_EPSILON)));
      assert.ok(maxAbsDiff(m.mean.dataSync(), beta.dataSync()).diff < 1e-5, 'normalised mean is not beta');
      const dv = maxAbsDiff(m.variance.dataSync(), expectedVar);
      assert.ok(dv.diff < 1e-4 * Math.max(1, dv.scale), `normalised variance off by ${dv.diff}`);
      tf.dispose([stats.mean, stats.variance, y, m.mean, m.variance]);
    });

    await t.test(`train mode (batch statistics) [${backend}]`, () => {
      const label = `batchNorm(batchMoments(x)) [${backend}]`;
      const r = gradcheck(
        (a, g, b) => project(batchNorm(a as tf.Tensor4D, batchMoments(a as tf.Tensor4D), g as tf.Tensor1D, b as tf.Tensor1D), 73),
        [x, gamma, beta],
        { names: ['x', 'gamma', 'beta'], label },
      );
      assert.ok(r.worstRatio <= 1, r.worst);
    });

    await t.test(`eval mode (fixed running statistics) [${backend}]`, () => {
      const mean = tf.tensor1d([2.5, -1, 0.2, 0.5, 9]);
      const variance = tf.tensor1d([4, 3, 5, 0.5, 2]);
      const label = `batchNorm(running stats) [${backend}]`;
      gradcheck(
        (a, g, b) => project(batchNorm(a as tf.Tensor4D, { mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D }, g as tf.Tensor1D, b as tf.Tensor1D), 74),
        [x, gamma, beta],
        { names: ['x', 'gamma', 'beta'], label },
      );
      tf.dispose([mean, variance]);
    });
    tf.dispose([x, gamma, beta]);
  });

  test(`softplus composite and the logistic losses: values vs float64 and gradients [${backend}]`, async (t: TestContext) => {
    await use(backend);
    const refSoftplus = (v: number): number => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

    await t.test(`softplus values and gradient (= sigmoid) on [-60, 60], including exactly 0 [${backend}]`, () => {
      const grid = [-60, -30, -17, -5, -1, -1e-3, 0, 1e-3, 0.5, 1, 5, 17, 30, 60];
      const x = tf.tensor1d(grid);
      const y = Array.from(softplus(x).dataSync());
      const g = Array.from(tf.grad((a: tf.Tensor) => softplus(a).sum())(x).dataSync());
      grid.forEach((v, i) => {
        const ref = refSoftplus(v);
        assert.ok(Math.abs((y[i] as number) - ref) <= 2e-7 * Math.max(1, ref) + 1e-30, `softplus(${v}) = ${y[i]}, expected ${ref}`);
        const gRef = sigmoid(v);
        assert.ok(Math.abs((g[i] as number) - gRef) <= 1e-6 * Math.max(gRef, 1e-6), `softplus'(${v}) = ${g[i]}, expected sigmoid = ${gRef}`);
      });
      x.dispose();
    });

    await t.test(`softplus: finite differences [${backend}]`, () => {
      const x = randomTensor([4, 6], 80, 3);
      gradcheck((a) => project(softplus(a), 81), [x], { label: `softplus [${backend}]` });
      x.dispose();
    });

    await t.test(`discriminatorLoss and generatorLoss: values vs float64, finite differences [${backend}]`, () => {
      const real = randomTensor([6], 82, 2);
      const fake = randomTensor([6], 83, 2);
      const rv = Array.from(real.dataSync());
      const fv = Array.from(fake.dataSync());
      const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
      const parts = discriminatorLoss(real as tf.Tensor1D, fake as tf.Tensor1D);
      const expectReal = mean(rv.map((v) => refSoftplus(-v)));
      const expectFake = mean(fv.map((v) => refSoftplus(v)));
      assert.ok(Math.abs(parts.real.dataSync()[0]! - expectReal) < 1e-6, 'L_D real part');
      assert.ok(Math.abs(parts.fake.dataSync()[0]! - expectFake) < 1e-6, 'L_D fake part');
      assert.ok(Math.abs(parts.loss.dataSync()[0]! - (expectReal + expectFake)) < 2e-6, 'L_D = real + fake');
      const gl = generatorLoss(fake as tf.Tensor1D);
      assert.ok(Math.abs(gl.dataSync()[0]! - mean(fv.map((v) => refSoftplus(-v)))) < 1e-6, 'L_G');
      tf.dispose([parts.loss, parts.real, parts.fake, gl]);

      gradcheck((a, b) => discriminatorLoss(a as tf.Tensor1D, b as tf.Tensor1D).loss, [real, fake], { names: ['realLogits', 'fakeLogits'], label: `discriminatorLoss [${backend}]` });
      gradcheck((b) => generatorLoss(b as tf.Tensor1D), [fake], { names: ['fakeLogits'], label: `generatorLoss [${backend}]` });
      // The analytic gradients are known in closed form: ∂L_D/∂real = −σ(−r)/N, ∂L_D/∂fake = σ(f)/N, ∂L_G/∂fake = −σ(−f)/N.
      const [gr, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => discriminatorLoss(a as tf.Tensor1D, b as tf.Tensor1D).loss)([real, fake]);
      assert.ok(maxAbsDiff(gr!.dataSync(), rv.map((v) => -sigmoid(-v) / 6)).diff < 1e-7, '∂L_D/∂realLogits');
      assert.ok(maxAbsDiff(gf!.dataSync(), fv.map((v) => sigmoid(v) / 6)).diff < 1e-7, '∂L_D/∂fakeLogits');
      const gg = tf.grad((b: tf.Tensor) => generatorLoss(b as tf.Tensor1D))(fake);
      assert.ok(maxAbsDiff(gg.dataSync(), fv.map((v) => -sigmoid(-v) / 6)).diff < 1e-7, '∂L_G/∂fakeLogits');
      tf.dispose([gr!, gf!, gg, real, fake]);
    });

    await t.test(`losses stay finite for logits of ±80 [${backend}]`, () => {
      const big = tf.tensor1d([80, -80, 40, -40]);
      const parts = discriminatorLoss(big as tf.Tensor1D, big.neg() as tf.Tensor1D);
      const value = parts.loss.dataSync()[0]!;
      assert.ok(Number.isFinite(value) && Math.abs(value - (80 + 40) / 2) < 1e-4, `L_D = ${value}`);
      const g = tf.grad((a: tf.Tensor) => generatorLoss(a as tf.Tensor1D))(big);
      assert.ok(Array.from(g.dataSync()).every(Number.isFinite), 'L_G gradient not finite');
      tf.dispose([big, parts.loss, parts.real, parts.fake, g]);
    });
  });

  test(`DCGAN at 16×16: D loss w.r.t. D parameters, G loss through D w.r.t. G parameters [${backend}]`, async (t: TestContext) => {
    await use(backend);
    // Tiny networks: D 16→8 (conv+bias) →4 (conv+BatchNorm) → dense; G 4 (dense+BN) → 8 (upConv+BN) → 16 RGB.
    const config = resolveConfig('quick-32', { resolution: 16, latentDim: 8, channelsAtOutput: 2, maxChannels: 8 });
    const d = new DcganDiscriminator(config, new Rng(3));
    const g = new DcganGenerator(config, new Rng(4));
    // At the paper's init (std 0.02) both nets are almost linear; He-scaled weights make every layer matter.
    tf.tidy(() => {
      for (const [name, v] of [...d.params.named(), ...g.params.named()]) {
        if (!name.endsWith('.weight')) continue;
        const fanIn = name.startsWith('g.up') || name.startsWith('g.rgb') ? 16 * (v.shape[3] as number) / 4 : v.shape.slice(0, -1).reduce((a, b) => a * b, 1);
        v.assign(randomTensor(v.shape, name.length * 7 + 1, Math.sqrt(2 / fanIn)));
      }
    });
    const reals = randomTensor([4, 16, 16, 3], 90, 0.5) as tf.Tensor4D;
    const fakes = randomTensor([4, 16, 16, 3], 91, 0.5) as tf.Tensor4D;
    const z = randomTensor([4, 8], 92) as tf.Tensor2D;
    // ReLU/LeakyReLU kinks inside the nets: a step that moves every weight of a layer makes a few of the
    // ~10³ pre-activations cross zero, which biases the difference (measured: up to 40% at 1e-2, 20% at
    // 1e-3). Steps are tried from 1e-3 down to 1e-4, where no crossing remains on these inputs and float32
    // noise is still below the tolerance (atol = 1e-6·|f|/h).
    const h = [1e-3, 3e-4, 1e-4];

    const dNames = ['d.down0.weight', 'd.down0.bias', 'd.down1.weight', 'd.down1.gamma', 'd.down1.beta', 'd.fc.weight', 'd.fc.bias'];
    for (const name of dNames) {
      await t.test(`L_D w.r.t. ${name} [${backend}]`, () => {
        const before = tf.memory().numTensors;
        const r = checkVariableGradients(() => discriminatorLoss(d.apply(reals), d.apply(fakes)).loss, [d.params.get(name)], {
          names: [name],
          h,
          label: `L_D [${backend}]`,
        });
        assert.ok(r.worstRatio <= 1, r.worst);
        assert.equal(tf.memory().numTensors, before, 'leaked tensors');
      });
    }
    const gNames = ['g.fc.weight', 'g.fc.bn.gamma', 'g.up0.weight', 'g.up0.bn.beta', 'g.rgb.weight', 'g.rgb.bias'];
    for (const name of gNames) {
      await t.test(`L_G (through D) w.r.t. ${name} [${backend}]`, () => {
        const r = checkVariableGradients(() => generatorLoss(d.apply(g.apply(z, 'train').images)), [g.params.get(name)], {
          names: [name],
          h,
          label: `L_G [${backend}]`,
        });
        assert.ok(r.worstRatio <= 1, r.worst);
      });
    }
    tf.dispose([reals, fakes, z]);
    d.dispose();
    g.dispose();
  });
}

// ---- our wasm kernels against the cpu backend's ----

interface ConvCase {
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  strides: [number, number];
  pad: Pad;
  rounding?: 'floor' | 'round' | 'ceil';
}

function describeCase(c: ConvCase): string {
  return `x[${c.n},${c.h},${c.w},${c.cin}] k${c.kh}×${c.kw}→${c.cout} stride ${c.strides.join('×')} pad ${padName(c.pad)}${c.rounding ? ` ${c.rounding}` : ''}`;
}

function convCases(): ConvCase[] {
  const cases: ConvCase[] = [
    // The engine's own layers: downConv (DCGAN D) and upConv's backprop input (DCGAN G).
    { n: 8, h: 16, w: 16, cin: 3, cout: 8, kh: 4, kw: 4, strides: [2, 2], pad: PAD_1 },
    { n: 8, h: 8, w: 8, cin: 16, cout: 32, kh: 4, kw: 4, strides: [2, 2], pad: PAD_1 },
    { n: 4, h: 16, w: 16, cin: 3, cout: 8, kh: 4, kw: 4, strides: [2, 2], pad: 'same' },
    // Kernel larger than the input, 1×1 kernels with stride, non-square kernels and strides.
    { n: 2, h: 3, w: 3, cin: 2, cout: 3, kh: 5, kw: 5, strides: [1, 1], pad: 'same' },
    { n: 2, h: 4, w: 3, cin: 2, cout: 3, kh: 5, kw: 5, strides: [2, 2], pad: 'same' },
    { n: 1, h: 9, w: 7, cin: 3, cout: 2, kh: 1, kw: 1, strides: [3, 3], pad: 'valid' },
    { n: 2, h: 9, w: 11, cin: 3, cout: 4, kh: 3, kw: 5, strides: [2, 2], pad: 'same' },
    { n: 2, h: 9, w: 11, cin: 3, cout: 4, kh: 3, kw: 3, strides: [2, 1], pad: 'same' },
    { n: 2, h: 10, w: 9, cin: 3, cout: 4, kh: 4, kw: 3, strides: [1, 3], pad: 'valid' },
    // Explicit padding as large as the kernel (whole output rows of padding) and numeric padding with rounding.
    { n: 2, h: 6, w: 7, cin: 2, cout: 3, kh: 3, kw: 3, strides: [2, 2], pad: [[0, 0], [3, 0], [0, 3], [0, 0]] },
    { n: 2, h: 8, w: 8, cin: 2, cout: 3, kh: 3, kw: 3, strides: [2, 2], pad: 1, rounding: 'floor' },
    { n: 2, h: 8, w: 8, cin: 2, cout: 3, kh: 3, kw: 3, strides: [2, 2], pad: 2, rounding: 'ceil' },
    { n: 2, h: 7, w: 9, cin: 2, cout: 3, kh: 4, kw: 4, strides: [3, 3], pad: 1, rounding: 'round' },
  ];
  // Every kernel size × stride × padding kind on odd sizes, then random shapes.
  const rng = new Rng(2024);
  for (const k of [1, 3, 4, 5]) {
    for (const s of [1, 2, 3]) {
      for (const kind of ['same', 'valid', 'explicit'] as const) {
        const h = 5 + 2 * rng.int(4);
        const w = 6 + rng.int(7);
        const pad: Pad =
          kind === 'explicit'
            ? [
                [0, 0],
                [rng.int(k + 1), rng.int(k + 1)],
                [rng.int(k + 1), rng.int(k + 1)],
                [0, 0],
              ]
            : kind;
        cases.push({ n: 1 + rng.int(3), h, w, cin: 1 + rng.int(4), cout: 1 + rng.int(5), kh: k, kw: k, strides: [s, s], pad });
      }
    }
  }
  for (let i = 0; i < 12; i++) {
    const kh = 1 + rng.int(5);
    const kw = 1 + rng.int(5);
    const s = 1 + rng.int(3);
    const kinds: Pad[] = ['same', 'valid', [[0, 0], [rng.int(3), rng.int(3)], [rng.int(3), rng.int(3)], [0, 0]]];
    cases.push({ n: 1 + rng.int(3), h: 4 + rng.int(10), w: 4 + rng.int(10), cin: 1 + rng.int(6), cout: 1 + rng.int(6), kh, kw, strides: [s, rng.uniform() < 0.7 ? s : 1 + rng.int(3)], pad: kinds[rng.int(3)] as Pad });
  }
  return cases;
}

function runOn(backend: string, name: 'Conv2DBackpropFilter' | 'Conv2DBackpropInput', c: ConvCase, seed: number): { values: Float32Array; shape: number[] } {
  const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.cin], [c.kh, c.kw, c.cin, c.cout], c.strides, 1, c.pad, c.rounding);
  return tf.tidy(() => {
    const dy = randomTensor([c.n, info.outHeight, info.outWidth, c.cout], seed);
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', ...(c.rounding ? { dimRoundingMode: c.rounding } : {}) } as unknown as tf.NamedAttrMap;
    const out =
      name === 'Conv2DBackpropFilter'
        ? tf.engine().runKernel(name, { x: randomTensor([c.n, c.h, c.w, c.cin], seed + 1), dy }, { ...attrs, filterShape: [c.kh, c.kw, c.cin, c.cout] })
        : tf.engine().runKernel(name, { dy, filter: randomTensor([c.kh, c.kw, c.cin, c.cout], seed + 2) }, { ...attrs, inputShape: [c.n, c.h, c.w, c.cin] });
    const t = out as tf.Tensor;
    assert.equal(tf.getBackend(), backend);
    return { values: Float32Array.from(t.dataSync() as Float32Array), shape: t.shape };
  });
}

const kernelSkip = !backends.includes('wasm') || !tf.findBackend('cpu') ? 'needs both the wasm and cpu backends' : false;
for (const name of ['Conv2DBackpropFilter', 'Conv2DBackpropInput'] as const) {
  test(`wasm ${name} (ours) equals the cpu backend's kernel on ${convCases().length} shapes`, { skip: kernelSkip }, async (t: TestContext) => {
    assert.ok(tf.getKernel(name, 'wasm'), `no wasm ${name} kernel is registered`);
    const cases = convCases();
    let seed = 5000;
    for (const c of cases) {
      const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.cin], [c.kh, c.kw, c.cin, c.cout], c.strides, 1, c.pad, c.rounding);
      if (info.outHeight <= 0 || info.outWidth <= 0) continue;
      seed += 10;
      await t.test(describeCase(c), async () => {
        await use('wasm');
        const before = tf.memory().numTensors;
        const ours = runOn('wasm', name, c, seed);
        assert.equal(tf.memory().numTensors, before, 'the wasm kernel leaked tensors');
        await use('cpu');
        const ref = runOn('cpu', name, c, seed);
        assert.deepEqual(ours.shape, ref.shape);
        const { diff, scale } = maxAbsDiff(ours.values, ref.values);
        // A float32 sum of at most a few hundred O(1) products: rounding differences stay ~1e-6 of the scale;
        // an indexing error is O(scale).
        if (process.env.GRADCHECK_VERBOSE) console.log(`[kernel] ${name} ${describeCase(c)}: max |wasm − cpu| = ${diff.toExponential(2)}, scale ${scale.toFixed(2)}`);
        assert.ok(diff <= 1e-5 * Math.max(1, scale), `${describeCase(c)}: max |wasm − cpu| = ${diff} (scale ${scale})`);
      });
    }
    await use(backends[0] as string);
  });
}
