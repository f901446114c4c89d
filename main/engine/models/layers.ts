/**
 * The few layer functions the networks are built from, as pure functions of tensors and parameters.
 * Written with plain ops whose gradients are covered by tests/engine/gradients.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from './params.ts';

export const BN_EPSILON = 1e-5;

export interface BatchStats {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** BatchNorm over all axes but the channels; normalizes with the given (batch or running) statistics. */
export function batchNorm(x: tf.Tensor4D, stats: BatchStats, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor4D {
  return x.sub(stats.mean).mul(stats.variance.add(BN_EPSILON).rsqrt()).mul(gamma).add(beta);
}

export function batchMoments(x: tf.Tensor4D): BatchStats {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return { mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/**
 * He et al. 2015's constant gain/√fan-in: the std that keeps a layer's output variance at gain² times its
 * input's. The equalized learning rate multiplies N(0, 1) weights by it at run time (Karras et al. 2018,
 * §4.1): `Params.scaled`, through `defineEqWeight` here for ProGAN and StyleGAN2.
 */
export function heConstant(fanIn: number, gain: number = Math.SQRT2): number {
  return gain / Math.sqrt(fanIn);
}

/** Fan-in of a conv2d weight [kh, kw, in, out] or a dense weight [in, out]: every axis but the last. */
export function convFanIn(shape: readonly number[]): number {
  return shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

/**
 * Fan-in of `upConv`'s weight [kh, kw, out, in] (stride 2): an output pixel sees every other tap of the
 * kernel along each axis, (kh/2)·(kw/2) taps of each input channel (4·in for DCGAN's 4×4 kernels, not the
 * 16·in a stride-1 conv would see).
 */
export function upConvFanIn(shape: readonly number[]): number {
  const [kh, kw, , inC] = shape as [number, number, number, number];
  return (kh / 2) * (kw / 2) * inC;
}

/** 4×4 stride-2 convolution, padding 1 (DCGAN's downsampling layer). */
export function downConv(x: tf.Tensor4D, weight: tf.Tensor4D): tf.Tensor4D {
  return tf.conv2d(x, weight, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
}

/** 4×4 stride-2 transposed convolution, padding 1 (DCGAN's upsampling layer): r×r → 2r×2r. */
export function upConv(x: tf.Tensor4D, weight: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const outChannels = weight.shape[2];
  return tf.conv2dTranspose(x, weight, [n, h * 2, w * 2, outChannels], 2, 'same');
}

export function leakyRelu<T extends tf.Tensor>(x: T, slope: number): T {
  // The LeakyRelu kernel: its gradient goes through Greater, which ops/gradients.ts makes differentiable.
  // A step saves only x for the backward pass; relu(x) − slope·relu(−x) saved three tensors, which made
  // the double backprop of the gradient penalties take ~40% more memory (quick-progan: 1.05 → 0.64 GB
  // of wasm heap) at the same speed.
  return tf.leakyRelu(x, slope) as T;
}

// ---- ProGAN / StyleGAN building blocks ----

export const SQRT2 = Math.SQRT2;

/**
 * Declares a weight with the equalized learning rate (Karras et al. 2018, §4.1): stored as N(0, 1)/lrMul
 * and used (`Params.weight`) times gain·lrMul/√fan-in, so every layer learns at the same speed under Adam.
 * The constant lives with the parameter, not in the layer that uses it, so whatever transforms the used
 * weight (spectral norm) sees the weight the layer computes with. Fan-in: every axis but the last.
 */
export function defineEqWeight(params: Params, name: string, dims: number[], gain = SQRT2, lrMul = 1): void {
  params.scaled(name, dims, heConstant(convFanIn(dims), gain * lrMul), 1 / lrMul);
}

/** Dense layer x·W + b; W as `Params.weight` gives it. The bias is stored /lrMul, as its weight is. */
export function dense(x: tf.Tensor2D, weight: tf.Tensor, bias: tf.Tensor | null, lrMul = 1): tf.Tensor2D {
  const y = tf.matMul(x, weight as tf.Tensor2D);
  return (bias ? y.add(lrMul === 1 ? bias : bias.mul(lrMul)) : y) as tf.Tensor2D;
}

/** Convolution, stride 1, 'same' padding, plus bias; weight [k, k, in, out] as `Params.weight` gives it. */
export function conv(x: tf.Tensor4D, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor4D {
  const y = tf.conv2d(x, weight as tf.Tensor4D, 1, 'same');
  return (bias ? y.add(bias) : y) as tf.Tensor4D;
}

/** Pixelwise feature normalization (Karras et al. 2018, §4.2): each pixel's feature vector to unit RMS. */
export function pixelNorm<T extends tf.Tensor>(x: T): T {
  return x.mul(x.square().mean(-1, true).add(1e-8).rsqrt()) as T;
}

/** The largest group size ≤ `group` that divides the batch (the layer needs equal groups). */
export function stddevGroup(batch: number, group: number): number {
  let g = Math.max(1, Math.min(group, batch));
  while (batch % g !== 0) g--;
  return g;
}

/**
 * Minibatch standard deviation (Karras et al. 2018, §3; StyleGAN2's variant with one feature map): split
 * the batch into groups of G (sample n is in group member ⌊n/M⌋, position n mod M), take the standard
 * deviation of each feature over the group, average it over features and pixels, and append it as one
 * constant feature map. Written with rank ≤ 4 ops and a broadcasting multiply (no rank-5 tile).
 */
export function minibatchStddev(x: tf.Tensor4D, group: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const g = stddevGroup(n, group);
  const m = n / g;
  const y = x.reshape([g, m, h * w * c]);
  const centered = y.sub(y.mean(0, true));
  const std = centered.square().mean(0).add(1e-8).sqrt(); // [M, HWC]
  const perPosition = std.mean(1).reshape([1, m]); // [1, M]
  const perSample = perPosition.mul(tf.ones([g, 1])).reshape([n, 1, 1, 1]);
  return tf.concat([x, perSample.mul(tf.ones([1, h, w, 1]))], 3) as tf.Tensor4D;
}

/** StyleGAN's leaky ReLU with its √2 gain (keeps activations at unit variance). */
export function lreluGain<T extends tf.Tensor>(x: T, slope = 0.2): T {
  return leakyRelu(x, slope).mul(SQRT2) as T;
}
