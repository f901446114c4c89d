/**
 * The logistic GAN loss of Goodfellow et al. 2014 in its non-saturating form, the loss DCGAN and
 * StyleGAN train with:  L_D = softplus(D(G(z))) + softplus(−D(x)),   L_G = softplus(−D(G(z))).
 */
import * as tf from '@tensorflow/tfjs';

/** softplus(x) = max(x, 0) + log1p(exp(−|x|)): exact for large |x| and differentiable to any order. */
export function softplus(x: tf.Tensor): tf.Tensor {
  return tf.relu(x).add(tf.log1p(tf.exp(tf.abs(x).neg())));
}

export function discriminatorLoss(realLogits: tf.Tensor1D, fakeLogits: tf.Tensor1D): { loss: tf.Scalar; real: tf.Scalar; fake: tf.Scalar } {
  const real = softplus(realLogits.neg()).mean() as tf.Scalar;
  const fake = softplus(fakeLogits).mean() as tf.Scalar;
  return { loss: real.add(fake) as tf.Scalar, real, fake };
}

export function generatorLoss(fakeLogits: tf.Tensor1D): tf.Scalar {
  return softplus(fakeLogits.neg()).mean() as tf.Scalar;
}
