/**
 * Second-order gradients (what WGAN-GP, R1 and path-length regularization differentiate through), on every
 * backend present, for every op the engine's networks and losses use plus the gaps ops/gradients.ts closes.
 *
 * The check: for an op g and fixed seeded projections R₁, R₂, let
 *
 *     F(x) = ⟨∇ₓ ⟨g(x), R₁⟩, R₂⟩        (a scalar made of the first-order gradient)
 *
 * then ∇F (tfjs differentiating its own gradient: a Hessian-vector product) is compared with central finite
 * differences of F, i.e. of the first-order gradient (gradcheck.ts: random directions and single
 * coordinates, step h = 1e-2 (and smaller where stated), pass when |analytic − numeric| ≤ atol + 2e-2·max,
 * atol = 1e-6·max(1, |F|)/h: float32 rounding of F divided by the step). First-order gradients of the
 * same ops are checked first (gradients.test.ts covers the rest), so F itself is trusted.
 *
 * Pinned values: closed forms evaluated in float64 here, and a float64 PyTorch 1.13 twin of a small
 * critic (numbers embedded below; the test does not need Python): tfjs as shipped gets the first one
 * wrong (0.298 instead of 0.156).
 *
 * Run: npx tsx --test tests/engine/secondOrder.test.ts
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { softplus } from '../../main/engine/loss/logistic.ts';
import { conv, dense, heConstant, leakyRelu, lreluGain, minibatchStddev, pixelNorm } from '../../main/engine/models/layers.ts';
import { FIR_TAPS, NEAREST_TAPS, blur121, downsample2x, downsample2xMatrix, resample2d, upsample2x, upsample2xMatrix } from '../../main/engine/ops/resample.ts';
import { Rng } from '../../main/engine/rng.ts';
import { r1Penalty, pathLengths } from '../../main/engine/loss/regularizers.ts';
import { criticLoss, gradientPenalty } from '../../main/engine/loss/wasserstein.ts';
import { DcganDiscriminator } from '../../main/engine/models/dcgan.ts';
import type { Params } from '../../main/engine/models/params.ts';
import { ProganDiscriminator, ProganGenerator } from '../../main/engine/models/progan.ts';
import { StyleGan2Discriminator, StyleGan2Generator } from '../../main/engine/models/stylegan2.ts';
import { resolveConfig } from '../../shared/presets.ts';
import { awayFromZero, checkGradients, checkVariableGradients, engineBackends, project, randomTensor, type GradCheckOptions, type GradCheckResult } from './gradcheck.ts';

const { run: backends, skipped } = await engineBackends();

for (const s of skipped) {
  test(`second-order gradients on the ${s.name} backend`, { skip: `${s.name} skipped: ${s.reason}` }, () => undefined);
}

async function use(backend: string): Promise<void> {
  assert.ok(await tf.setBackend(backend), `tf.setBackend('${backend}') failed`);
  assert.equal(tf.getBackend(), backend);
}

function gradcheck(f: (...xs: tf.Tensor[]) => tf.Scalar, inputs: tf.Tensor[], opts: GradCheckOptions): GradCheckResult {
  const before = tf.memory().numTensors;
  const result = checkGradients(f, inputs, opts);
  assert.equal(tf.memory().numTensors, before, `${opts.label ?? ''}: the gradient check leaked tensors`);
  assert.ok(result.worstRatio <= 1, result.worst);
  return result;
}

/** F(xs) = Σᵢ ⟨∇_{xᵢ} ⟨g(xs), R₁⟩, R₂ᵢ⟩: its gradient is second order in g. */
function gradientProjection(g: (...xs: tf.Tensor[]) => tf.Tensor, seed: number): (...xs: tf.Tensor[]) => tf.Scalar {
  return (...xs) => {
    const grads = tf.grads((...ys: tf.Tensor[]) => project(g(...ys), seed))(xs);
    return grads.map((gr, i) => project(gr, seed + 1 + i)).reduce((a, b) => a.add(b)) as tf.Scalar;
  };
}

/** Distinct values (a shuffled grid with spacing 0.25, centred), so max/min/argmax never tie under a step. */
function distinct(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const p = new Rng(seed).permutation(n);
  return tf.tensor(Float32Array.from(p, (v) => (v - n / 2) * 0.25), shape, 'float32');
}

const positive = (shape: number[], seed: number): tf.Tensor => tf.tidy(() => randomTensor(shape, seed).abs().add(0.5));

interface OpCase {
  name: string;
  inputs: () => tf.Tensor[];
  g: (...xs: tf.Tensor[]) => tf.Tensor;
  /** Finite-difference steps, when the default (1e-2) is too coarse. */
  h?: number[];
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** Ops as the networks and losses use them, and the kernels whose gradients ops/gradients.ts registers. */
function opCases(): OpCase[] {
  const r4 = (seed: number, std = 1): tf.Tensor => randomTensor([2, 4, 4, 3], seed, std);
  return [
    // Gradients that reuse the op's output in tfjs (re-registered from the input).
    { name: 'sigmoid', inputs: () => [randomTensor([3, 5], 1, 1.5)], g: (x) => tf.sigmoid(x) },
    { name: 'x·sigmoid(x)', inputs: () => [randomTensor([3, 5], 2, 1.5)], g: (x) => x.mul(tf.sigmoid(x)) },
    { name: 'tanh', inputs: () => [randomTensor([3, 5], 3, 1.2)], g: (x) => tf.tanh(x) },
    { name: 'exp', inputs: () => [randomTensor([3, 5], 4)], g: (x) => tf.exp(x) },
    { name: 'elu', inputs: () => [awayFromZero([3, 5], 5)], g: (x) => tf.elu(x).mul(x) },
    { name: 'softmax (last axis)', inputs: () => [randomTensor([3, 5], 6)], g: (x) => tf.softmax(x) },
    { name: 'log-softmax as x − logSumExp(x)', inputs: () => [randomTensor([3, 5], 7)], g: (x) => x.sub(tf.logSumExp(x, -1, true)) },
    { name: 'max over axis 1', inputs: () => [distinct([3, 5], 8)], g: (x) => tf.max(x, 1).square() },
    { name: 'min over axes [0, 1] keepDims', inputs: () => [distinct([3, 5], 9)], g: (x) => tf.min(x, [0, 1], true).square().mul(x) },
    { name: 'pow(a, b), a > 0', inputs: () => [positive([3, 4], 10), randomTensor([3, 4], 11, 0.5)], g: (a, b) => tf.pow(a, b as tf.Tensor) },
    { name: 'pow(a, 3) broadcast exponent', inputs: () => [randomTensor([3, 4], 12)], g: (a) => tf.pow(a, tf.scalar(3)) },
    { name: 'pow(a, b), b broadcast [4] and scalar-shaped [1, 1]', inputs: () => [positive([3, 4], 13), randomTensor([4], 14, 0.5), randomTensor([1, 1], 15, 0.5)], g: (a, b, c) => tf.pow(a, b as tf.Tensor).add(tf.pow(a, c as tf.Tensor)) },
    // Comparisons inside gradients (Greater/Less/LogicalAnd had none).
    { name: 'tf.leakyRelu(x, 0.2)·x', inputs: () => [awayFromZero([3, 5], 13)], g: (x) => tf.leakyRelu(x, 0.2).mul(x) },
    { name: 'layers.leakyRelu(x, 0.2)·x', inputs: () => [awayFromZero([1, 3, 5, 2], 14)], g: (x) => leakyRelu(x as tf.Tensor4D, 0.2).mul(x) },
    { name: 'tf.prelu(x, α)·x', inputs: () => [awayFromZero([3, 5], 15), positive([5], 16)], g: (x, a) => tf.prelu(x, a as tf.Tensor).mul(x) },
    { name: 'maximum(a, b)²', inputs: () => [distinct([3, 4], 17), distinct([3, 4], 18).add(0.1)], g: (a, b) => tf.maximum(a, b as tf.Tensor).square() },
    { name: 'minimum(a, b)²', inputs: () => [distinct([3, 4], 19), distinct([3, 4], 20).add(0.1)], g: (a, b) => tf.minimum(a, b as tf.Tensor).square() },
    { name: 'clipByValue(x, −1, 1)·x', inputs: () => [distinct([4, 4], 21).mul(0.6).add(0.07)], g: (x) => tf.clipByValue(x, -1, 1).mul(x) },
    { name: 'relu(x)·x', inputs: () => [awayFromZero([3, 5], 22)], g: (x) => tf.relu(x).mul(x) },
    { name: 'abs(x)·x', inputs: () => [awayFromZero([3, 5], 23)], g: (x) => tf.abs(x).mul(x) },
    // Smooth elementwise ops and reductions.
    { name: 'softplus (tf)', inputs: () => [randomTensor([3, 5], 24, 2)], g: (x) => tf.softplus(x) },
    { name: 'softplus (loss/logistic.ts composite)', inputs: () => [awayFromZero([3, 5], 25, 0.2)], g: (x) => softplus(x) },
    { name: 'sqrt', inputs: () => [positive([3, 5], 26)], g: (x) => tf.sqrt(x) },
    { name: 'rsqrt', inputs: () => [positive([3, 5], 27)], g: (x) => tf.rsqrt(x) },
    { name: 'log, log1p', inputs: () => [positive([3, 5], 28)], g: (x) => tf.log(x).add(tf.log1p(x)) },
    { name: 'div', inputs: () => [randomTensor([3, 4], 29), positive([3, 4], 30)], g: (a, b) => a.div(b as tf.Tensor) },
    { name: 'square, mul, sub, add with broadcast', inputs: () => [r4(31), randomTensor([3], 32)], g: (x, b) => x.square().mul(b as tf.Tensor).sub(x.add(b as tf.Tensor).square()) },
    { name: 'mean over [1,2] keepDims, sum', inputs: () => [r4(33)], g: (x) => x.mul(x.mean([1, 2], true)).add(x.sum().square().mul(0.01)) },
    { name: 'tf.moments variance + ε, rsqrt (normalization)', inputs: () => [r4(34)], g: (x) => x.mul(tf.moments(x, [1, 2, 3], true).variance.add(1e-3).rsqrt()) },
    { name: 'norm (Euclidean)', inputs: () => [randomTensor([3, 5], 35)], g: (x) => tf.norm(x, 'euclidean', 1) },
    // Shape ops.
    { name: 'reshape, transpose, slice, concat, stack, pad', inputs: () => [r4(36)], g: (x) => tf.concat([x.transpose([0, 2, 1, 3]).slice([0, 1, 0, 0], [2, 2, 4, 3]), tf.pad(x.slice([0, 0, 0, 0], [2, 1, 4, 3]), [[0, 0], [0, 0], [0, 0], [0, 0]])], 1).square().add(tf.stack([x, x.neg()]).sum(0).reshape([2, 48, 1, 1]).sum()) },
    { name: 'gather along axis 0 (UnsortedSegmentSum on wasm)', inputs: () => [randomTensor([5, 3], 37)], g: (x) => tf.gather(x, tf.tensor1d([4, 0, 4, 2], 'int32')).square() },
    { name: 'tile rank 4', inputs: () => [randomTensor([2, 1, 3, 2], 38)], g: (x) => tf.tile(x, [1, 3, 1, 2]).square() },
    { name: 'tile rank 5 (tfjs has no gradient above rank 4)', inputs: () => [randomTensor([2, 1, 2, 1, 2], 39)], g: (x) => tf.tile(x, [1, 2, 1, 3, 1]).square() },
    // Linear algebra and convolutions.
    { name: 'matMul', inputs: () => [randomTensor([3, 4], 40), randomTensor([4, 2], 41)], g: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D).square() },
    { name: 'matMul with transposes', inputs: () => [randomTensor([4, 3], 42), randomTensor([2, 4], 43)], g: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, true).square() },
    { name: 'batched matMul, broadcast batch [1,m,k]×[n,k,p]', inputs: () => [randomTensor([1, 3, 4], 44), randomTensor([2, 4, 2], 45)], g: (a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D).square() },
    { name: 'batched matMul, rank 2 × rank 3 [m,k]×[n,k,p], transposed', inputs: () => [randomTensor([4, 3], 46), randomTensor([2, 2, 4], 47)], g: (a, b) => tf.matMul(a, b, true, true).square() },
    { name: 'conv2d 3×3 stride 1 same', inputs: () => [r4(46), randomTensor([3, 3, 3, 2], 47, 0.4)], g: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').square() },
    { name: 'conv2d 4×4 stride 2 pad 1', inputs: () => [r4(48), randomTensor([4, 4, 3, 2], 49, 0.4)], g: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]).square() },
    { name: 'conv2d 1×1 valid', inputs: () => [r4(50), randomTensor([1, 1, 3, 4], 51, 0.4)], g: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid').square() },
    { name: 'conv2dTranspose 4×4 stride 2 same', inputs: () => [randomTensor([2, 2, 2, 3], 52), randomTensor([4, 4, 2, 3], 53, 0.4)], g: (x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [2, 4, 4, 2], 2, 'same').square() },
    // Resampling: tfjs's pool/resize kernels (gradients registered here) and the matmul substitution.
    { name: 'avgPool 2×2 stride 2', inputs: () => [r4(54)], g: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid').square() },
    { name: 'resizeBilinear ×2, halfPixelCenters', inputs: () => [randomTensor([2, 3, 4, 2], 55)], g: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [6, 8], false, true).square() },
    { name: 'resizeBilinear 3×4→5×7 alignCorners', inputs: () => [randomTensor([2, 3, 4, 2], 56)], g: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [5, 7], true).square() },
    { name: 'resizeNearestNeighbor ×2, batch 2', inputs: () => [randomTensor([2, 3, 3, 2], 57)], g: (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [6, 6]).square() },
    { name: 'resizeNearestNeighbor 4×4→6×5 halfPixelCenters', inputs: () => [randomTensor([2, 4, 4, 2], 58)], g: (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [6, 5], false, true).square() },
    { name: 'resample upsample2x nearest / FIR [1,3,3,1]', inputs: () => [r4(59)], g: (x) => upsample2x(x as tf.Tensor4D, NEAREST_TAPS).square().add(upsample2x(x as tf.Tensor4D, FIR_TAPS).square()) },
    { name: 'resample downsample2x box / FIR [1,3,3,1]', inputs: () => [r4(60)], g: (x) => downsample2x(x as tf.Tensor4D, NEAREST_TAPS).square().add(downsample2x(x as tf.Tensor4D, FIR_TAPS).square()) },
    { name: 'resample2d with a [1,2,5,7] filter (matrix form, broadcast matmul)', inputs: () => [r4(61)], g: (x) => upsample2x(x as tf.Tensor4D, [1, 2, 5, 7]).square() },
    { name: 'avgPool 2×2 stride 1 (blur121)', inputs: () => [r4(62)], g: (x) => blur121(x as tf.Tensor4D).square() },
    // tfjs's own AvgPoolGrad divides border windows of 'same' pools by k² instead of their real size.
    { name: "avgPool 3×3 stride 2 'same' (border windows)", inputs: () => [randomTensor([2, 5, 5, 2], 63)], g: (x) => tf.avgPool(x as tf.Tensor4D, 3, 2, 'same').square() },
    { name: "avgPool 2×2 stride 1 'same'", inputs: () => [randomTensor([2, 4, 5, 2], 73)], g: (x) => tf.avgPool(x as tf.Tensor4D, 2, 1, 'same').square() },
    { name: "avgPool 2×2 stride 2 'valid' on 5×5 (via AvgPoolGrad)", inputs: () => [randomTensor([2, 5, 5, 2], 74)], g: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid').square() },
    // The networks' building blocks (models/layers.ts).
    { name: 'pixelNorm', inputs: () => [r4(64)], g: (x) => pixelNorm(x).mul(x) },
    { name: 'minibatchStddev, group 2 of a batch of 4', inputs: () => [randomTensor([4, 3, 3, 2], 65)], g: (x) => minibatchStddev(x as tf.Tensor4D, 2).square() },
    // Weights times their He constant, as Params.weight gives an equalized-learning-rate weight to the layer.
    { name: 'He-scaled conv 3×3 + bias, lreluGain', inputs: () => [r4(66), randomTensor([3, 3, 3, 2], 67), randomTensor([2], 68)], g: (x, w, b) => lreluGain(conv(x as tf.Tensor4D, (w as tf.Tensor).mul(heConstant(27)), b as tf.Tensor), 0.2).square(), h: [1e-2, 1e-3, 3e-4] },
    { name: 'He-scaled dense with lr multiplier 0.01', inputs: () => [randomTensor([3, 4], 69), randomTensor([4, 5], 70, 100), randomTensor([5], 71, 100)], g: (x, w, b) => tf.sigmoid(dense(x as tf.Tensor2D, (w as tf.Tensor).mul(heConstant(4, 0.01)), b as tf.Tensor, 0.01)) },
    { name: 'unstack / stack along axis 1', inputs: () => [randomTensor([2, 3, 4], 72)], g: (x) => tf.stack(tf.unstack(x, 1).map((t, i) => t.mul(i + 1).square()), 1) },
  ];
}

for (const backend of backends) {
  test(`pinned second derivatives (closed forms in float64) [${backend}]`, async () => {
    await use(backend);
    const x0 = -1.5;
    const s = sigmoid(x0);
    const t = Math.tanh(x0);
    const cases: Array<[string, (x: tf.Tensor) => tf.Tensor, number]> = [
      // f = xσ(x): f'' = 2σ(1−σ) + xσ(1−σ)(1−2σ) = 0.15620; tfjs 4.22 as shipped: 0.29829 (drops the second term).
      ['x·sigmoid(x)', (x) => x.mul(tf.sigmoid(x)), 2 * s * (1 - s) + x0 * s * (1 - s) * (1 - 2 * s)],
      ['sigmoid', (x) => tf.sigmoid(x), s * (1 - s) * (1 - 2 * s)],
      ['tanh', (x) => tf.tanh(x), -2 * t * (1 - t * t)],
      ['exp', (x) => tf.exp(x), Math.exp(x0)],
      ['elu', (x) => tf.elu(x), Math.exp(x0)],
      ['softplus', (x) => tf.softplus(x), s * (1 - s)],
      ['leakyRelu(x, 0.2)·x', (x) => tf.leakyRelu(x, 0.2).mul(x), 0.4],
      ['maximum(x, 0.2x)·x', (x) => tf.maximum(x, x.mul(0.2)).mul(x), 0.4],
    ];
    const x = tf.scalar(x0);
    for (const [name, f, expected] of cases) {
      const d2 = tf.tidy(() => tf.grad((a: tf.Tensor) => tf.grad(f)(a))(x).dataSync()[0] as number);
      assert.ok(Math.abs(d2 - expected) <= 1e-5 * Math.max(1, Math.abs(expected)), `${name}: d²/dx² at ${x0} = ${d2}, expected ${expected}`);
    }
    x.dispose();
  });

  test(`a small critic's gradient penalty and R1, and their parameter gradients, match a float64 PyTorch twin [${backend}]`, async () => {
    await use(backend);
    // conv 3×3 (+bias) → leakyRelu 0.2 → FIR [1,3,3,1] 2× downsample → dense → softplus, on x[2,4,4,2];
    // every value is a closed-form function of its flat index (NHWC / [kh,kw,cin,cout]) so the PyTorch
    // script (float64, torch 1.13) builds the identical network. Loss = Σₙ(‖∇ₓₙD‖ − 1)² + ½·Σ‖∇ₓD‖².
    const seq = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));
    const x = tf.tensor4d(seq(64, (i) => Math.sin(0.3 + 0.37 * i)), [2, 4, 4, 2]);
    const w1 = tf.variable(tf.tensor4d(seq(54, (i) => 0.4 * Math.cos(0.5 + 0.23 * i)), [3, 3, 2, 3]), true, 'pinned-critic-w1');
    const b1 = tf.variable(tf.tensor1d([-0.1, 0, 0.1]), true, 'pinned-critic-b1');
    const w2 = tf.variable(tf.tensor2d(seq(12, (i) => 0.3 * Math.sin(1 + 0.41 * i)), [12, 1]), true, 'pinned-critic-w2');
    const critic = (input: tf.Tensor4D): tf.Tensor1D => {
      const h = downsample2x(leakyRelu(tf.conv2d(input, w1, 1, 'same').add(b1), 0.2), FIR_TAPS);
      return softplus(tf.matMul(h.reshape([2, 12]), w2)).reshape([2]) as tf.Tensor1D;
    };
    const penalties = (): { gp: tf.Scalar; r1: tf.Scalar } => {
      const g = tf.grad((input: tf.Tensor) => critic(input as tf.Tensor4D).sum())(x);
      const norms = g.reshape([2, -1]).square().sum(1).sqrt();
      return { gp: norms.sub(1).square().sum() as tf.Scalar, r1: g.square().sum() as tf.Scalar };
    };
    const close = (got: number, want: number, what: string): void => {
      // float32 through two differentiations of a ~100-flop net: ~1e-6 relative; a dropped term is O(1).
      assert.ok(Math.abs(got - want) <= 2e-5 * Math.max(0.05, Math.abs(want)), `${what}: ${got}, PyTorch float64 ${want}`);
    };
    const d = tf.tidy(() => Array.from(critic(x).dataSync()));
    close(d[0] as number, 0.6637483914242075, 'D(x₀)');
    close(d[1] as number, 0.6474876792123858, 'D(x₁)');
    const values = tf.tidy(() => {
      const p = penalties();
      return [p.gp.dataSync()[0] as number, p.r1.dataSync()[0] as number];
    });
    close(values[0] as number, 1.6302918398855362, 'gradient penalty');
    close(values[1] as number, 0.019027922052176932, 'R1');
    const { grads } = tf.variableGrads(() => {
      const p = penalties();
      return p.gp.add(p.r1.mul(0.5)) as tf.Scalar;
    }, [w1, b1, w2]);
    const at = (v: tf.Variable, i: number): number => (grads[v.name] as tf.Tensor).dataSync()[i] as number;
    [0, 5, 17, 53].forEach((i, k) => close(at(w1, i), [-0.02564355369619193, -0.004792356174147949, 0.02461017266689044, -0.04596481190696927][k] as number, `∂/∂w1[${i}]`));
    [-0.008324384247079977, -0.00015998788268640086, 0.009692385053694127].forEach((want, i) => close(at(b1, i), want, `∂/∂b1[${i}]`));
    [0, 4, 11].forEach((i, k) => close(at(w2, i), [-0.11932688774067036, -0.13469075735189562, 0.17998001445210215][k] as number, `∂/∂w2[${i}]`));
    tf.dispose([x, w1, b1, w2, ...Object.values(grads)]);
  });

  test(`fast resampling equals the upfirdn matrices (nearest/box, [1,3,3,1]) [${backend}]`, async () => {
    await use(backend);
    tf.tidy(() => {
      const x = randomTensor([2, 8, 6, 3], 90) as tf.Tensor4D;
      for (const taps of [NEAREST_TAPS, FIR_TAPS]) {
        const up = upsample2x(x, taps).dataSync();
        const upRef = resample2d(x, upsample2xMatrix(8, taps), upsample2xMatrix(6, taps)).dataSync();
        const down = downsample2x(x, taps).dataSync();
        const downRef = resample2d(x, downsample2xMatrix(8, taps), downsample2xMatrix(6, taps)).dataSync();
        for (const [a, b, what] of [
          [up, upRef, 'up'],
          [down, downRef, 'down'],
        ] as const) {
          assert.equal(a.length, b.length);
          let diff = 0;
          for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
          assert.ok(diff < 1e-5, `${what} [${taps.join(',')}]: max |fast − matrix| = ${diff}`);
        }
      }
    });
  });

  test(`first and second order, op by op, against finite differences of the gradient [${backend}]`, async (t: TestContext) => {
    await use(backend);
    let seed = 500;
    for (const c of opCases()) {
      await t.test(`${c.name} [${backend}]`, () => {
        const inputs = c.inputs();
        const names = inputs.map((_, i) => `x${i}`);
        const h = c.h ?? [1e-2, 3e-3];
        gradcheck((...xs) => project(c.g(...xs), seed), inputs, { names, h, label: `${c.name}, first order [${backend}]` });
        gradcheck(gradientProjection(c.g, seed + 10), inputs, { names, h, label: `${c.name}, second order [${backend}]` });
        seed += 20;
        tf.dispose(inputs);
      });
    }
  });
}

// ---- whole networks: the penalties the families train with, w.r.t. network parameters ----

/** Kinks (leaky ReLU) inside the nets: steps from 1e-3 down to 1e-4, as in gradients.test.ts. */
const NET_H = [1e-3, 3e-4, 1e-4];

function checkParams(t: TestContext, label: string, loss: () => tf.Scalar, params: Params, names: readonly string[]): Promise<void> {
  return names.reduce(
    (chain, name) =>
      chain.then(() =>
        t.test(`${label} w.r.t. ${name}`, () => {
          const before = tf.memory().numTensors;
          const r = checkVariableGradients(loss, [params.get(name)], { names: [name], h: NET_H, directions: 2, coordinates: 2, label });
          assert.ok(r.worstRatio <= 1, r.worst);
          assert.equal(tf.memory().numTensors, before, `${label}: leaked tensors`);
        }),
      ),
    Promise.resolve(),
  );
}

for (const backend of backends) {
  test(`network penalties (second order) and losses w.r.t. parameters: WGAN-GP, ProGAN, StyleGAN2 [${backend}]`, async (t: TestContext) => {
    await use(backend);
    const small = { resolution: 8, latentDim: 8, channelsAtOutput: 4, maxChannels: 8, seed: 1 } as const;
    const reals = randomTensor([4, 8, 8, 3], 300, 0.6) as tf.Tensor4D;
    const fakes = randomTensor([4, 8, 8, 3], 301, 0.6) as tf.Tensor4D;
    const eps = tf.tensor4d([0.2, 0.5, 0.7, 0.9], [4, 1, 1, 1]);

    // WGAN-GP critic (DCGAN D without BatchNorm), at He-scaled weights so every layer matters.
    const wcfg = resolveConfig('quick-wgan-gp', { ...small, resolution: 16 });
    const reals16 = randomTensor([4, 16, 16, 3], 305, 0.6) as tf.Tensor4D;
    const fakes16 = randomTensor([4, 16, 16, 3], 306, 0.6) as tf.Tensor4D;
    const wd = new DcganDiscriminator(wcfg, new Rng(5));
    tf.tidy(() => {
      for (const [name, v] of wd.params.named()) if (name.endsWith('.weight')) v.assign(randomTensor(v.shape, name.length, Math.sqrt(2 / (v.size / (v.shape[v.rank - 1] as number)))));
    });
    const wApply = (x: tf.Tensor4D): tf.Tensor1D => wd.apply(x);
    await checkParams(t, `WGAN-GP gradient penalty [${backend}]`, () => gradientPenalty(wApply, reals16, fakes16, eps as tf.Tensor4D), wd.params, ['d.down0.weight', 'd.down1.weight', 'd.down1.bias', 'd.fc.weight']);
    await checkParams(t, `WGAN critic loss [${backend}]`, () => criticLoss(wApply(reals16), wApply(fakes16)).loss, wd.params, ['d.down0.weight', 'd.fc.bias']);
    wd.dispose();
    tf.dispose([reals16, fakes16]);

    // ProGAN at 8×8 while fading in (α = 0.4): both paths of D, GP + drift; G's loss through D.
    const pcfg = resolveConfig('quick-progan', { ...small, mbstdGroup: 2 });
    const shape = { ...pcfg, mbstdGroup: 2 };
    const pd = new ProganDiscriminator(shape, new Rng(6));
    const pg = new ProganGenerator(shape, new Rng(7));
    const growth = { resolution: 8, alpha: 0.4 };
    const pApply = (x: tf.Tensor4D): tf.Tensor1D => pd.apply(x, growth);
    await checkParams(t, `ProGAN gradient penalty + drift [${backend}]`, () => gradientPenalty(pApply, reals, fakes, eps as tf.Tensor4D).add(pApply(reals).square().mean().mul(0.001)) as tf.Scalar, pd.params, ['d.rgb8.weight', 'd.rgb4.weight', 'd.b8.conv1.weight', 'd.b4.conv.weight', 'd.b4.fc.weight']);
    const z = randomTensor([4, 8], 302) as tf.Tensor2D;
    await checkParams(t, `ProGAN G loss through D [${backend}]`, () => pApply(pg.apply(z, growth)).mean().neg() as tf.Scalar, pg.params, ['g.b4.fc.weight', 'g.b8.conv0.weight', 'g.rgb8.weight', 'g.rgb4.bias']);
    pd.dispose();
    pg.dispose();

    // StyleGAN2 at 8×8: R1 through the residual D; path length through modulated convs (const noise).
    const scfg = resolveConfig('quick-stylegan2', { ...small, mbstdGroup: 2, mappingLayers: 2 });
    const sshape = { ...scfg, mappingLayers: 2, mappingLrMul: 0.01, mbstdGroup: 2, dResidual: true };
    const sd = new StyleGan2Discriminator(sshape, new Rng(8));
    const sg = new StyleGan2Generator(sshape, new Rng(9));
    tf.tidy(() => {
      // Non-zero noise strengths, so their gradients are exercised too.
      for (const [name, v] of sg.params.named()) if (name.endsWith('noise_strength')) v.assign(tf.fill([1], 0.3));
    });
    const sApply = (x: tf.Tensor4D): tf.Tensor1D => sd.apply(x);
    await checkParams(t, `StyleGAN2 R1 [${backend}]`, () => r1Penalty(sApply, reals), sd.params, ['d.b8.rgb.weight', 'd.b8.conv0.weight', 'd.b8.conv1.weight', 'd.b8.skip.weight', 'd.b4.conv.weight', 'd.b4.fc.weight']);
    const noise = randomTensor([2, 8, 8, 3], 303, 1 / 8) as tf.Tensor4D;
    const zs = randomTensor([2, 8], 304) as tf.Tensor2D;
    const penalty = (): tf.Scalar => {
      const ws = sg.broadcastWs(sg.mapping(zs));
      return pathLengths((w) => sg.synthesis(w, { kind: 'const' }), ws, noise).sub(0.3).square().mean() as tf.Scalar;
    };
    await checkParams(t, `StyleGAN2 path-length penalty [${backend}]`, penalty, sg.params, ['g.map.fc0.weight', 'g.b4.const', 'g.b4.conv1.weight', 'g.b4.conv1.affine.weight', 'g.b8.conv0.weight', 'g.b8.conv1.noise_strength', 'g.b8.rgb.affine.bias']);
    await checkParams(t, `StyleGAN2 G loss with mixed styles [${backend}]`, () => {
      const ws = sg.mixWs(sg.broadcastWs(sg.mapping(zs)), sg.broadcastWs(sg.mapping(zs.reverse(0) as tf.Tensor2D)), 3);
      return sApply(sg.synthesis(ws, { kind: 'const' }).concat(sg.synthesis(ws, { kind: 'const' }).reverse(0))).mean() as tf.Scalar;
    }, sg.params, ['g.map.fc1.bias', 'g.b4.conv1.affine.weight', 'g.b8.rgb.weight']);
    sd.dispose();
    sg.dispose();
    tf.dispose([reals, fakes, eps, z, noise, zs]);
  });
}
