/**
 * The Wasserstein GAN losses (Arjovsky et al. 2017) and the terms that keep the critic Lipschitz:
 *   L_D = E[D(G(z))] − E[D(x)],   L_G = −E[D(G(z))]
 *   gradient penalty (Gulrajani et al. 2017, eq. 3): λ·E[(‖∇D(x̂)‖₂ − 1)²], x̂ = εx + (1−ε)G(z), ε ~ U[0,1]
 *   drift (Karras et al. 2018, appendix A.1): ε_drift·E[D(x)²]
 */
import * as tf from '@tensorflow/tfjs';

export function criticLoss(realScores: tf.Tensor1D, fakeScores: tf.Tensor1D): { loss: tf.Scalar; real: tf.Scalar; fake: tf.Scalar } {
  const real = realScores.mean() as tf.Scalar;
  const fake = fakeScores.mean() as tf.Scalar;
  return { loss: fake.sub(real) as tf.Scalar, real, fake };
}

export function generatorLoss(fakeScores: tf.Tensor1D): tf.Scalar {
  return fakeScores.mean().neg() as tf.Scalar;
}

/**
 * E[(‖∇ₓ̂ D(x̂)‖₂ − 1)²] on x̂ = ε·reals + (1−ε)·fakes, one ε per sample. The gradient is of Σ D(x̂) over
 * the batch (per-sample gradients when D treats samples independently, as the official code does also
 * with minibatch stddev). Differentiable w.r.t. D's parameters: a second-order term.
 */
export function gradientPenalty(critic: (x: tf.Tensor4D) => tf.Tensor1D, reals: tf.Tensor4D, fakes: tf.Tensor4D, epsilon: tf.Tensor4D): tf.Scalar {
  const mixed = reals.mul(epsilon).add(fakes.mul(tf.scalar(1).sub(epsilon))) as tf.Tensor4D;
  const grads = tf.grad((x: tf.Tensor) => critic(x as tf.Tensor4D).sum())(mixed);
  // ‖g‖ = √(Σg² + 1e-12): the tiny constant keeps the derivative of √ finite at g = 0.
  const norms = grads.reshape([reals.shape[0], -1]).square().sum(1).add(1e-12).sqrt();
  return norms.sub(1).square().mean() as tf.Scalar;
}

export function drift(realScores: tf.Tensor1D): tf.Scalar {
  return realScores.square().mean() as tf.Scalar;
}
