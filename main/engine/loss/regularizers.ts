/**
 * StyleGAN2's regularizers (Karras et al. 2020; Mescheder et al. 2018), both second order:
 *   R1 = E[‖∇ₓ D(x)‖²] on reals (the loss adds γ/2 · R1)
 *   path length: for w → image g(w) and y ~ N(0, I)/√(H·W), a = ‖J_wᵀ y‖ (the mean over the layers' w of
 *   the squared norms, then √, as stylegan2-ada-pytorch computes it); penalty (a − ā)², ā a running mean
 *   with decay `plDecay`.
 */
import * as tf from '@tensorflow/tfjs';

export function r1Penalty(critic: (x: tf.Tensor4D) => tf.Tensor1D, reals: tf.Tensor4D): tf.Scalar {
  const grads = tf.grad((x: tf.Tensor) => critic(x as tf.Tensor4D).sum())(reals);
  return grads.square().sum([1, 2, 3]).mean() as tf.Scalar;
}

/**
 * Path lengths a_n of `synthesis` at ws [N, numWs, wDim], given the image-space noise y (shaped like the
 * images, already divided by √(H·W)). Returns [N]; differentiable w.r.t. the synthesis parameters.
 */
export function pathLengths(synthesis: (ws: tf.Tensor3D) => tf.Tensor4D, ws: tf.Tensor3D, noise: tf.Tensor4D): tf.Tensor1D {
  const grads = tf.grad((w: tf.Tensor) => synthesis(w as tf.Tensor3D).mul(noise).sum())(ws);
  return grads.square().sum(2).mean(1).add(1e-12).sqrt() as tf.Tensor1D;
}
