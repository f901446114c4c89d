/**
 * The few layer functions the networks are built from, as pure functions of tensors and parameters.
 * Written with plain ops whose gradients are covered by tests/engine/gradients.test.ts.
 */
import * as tf from '@tensorflow/tfjs';

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

export function leakyRelu(x: tf.Tensor4D, slope: number): tf.Tensor4D {
  // max(x, slope·x) for slope < 1, written without Greater/Less so it stays differentiable to any order.
  return tf.relu(x).sub(tf.relu(x.neg()).mul(slope));
}
