/**
 * Spectral normalization (Miyato et al. 2018): every weight W of a network is used as W / σ(W), σ the
 * largest singular value of W viewed as a matrix [fan-in, out] (the last axis is the output axis of
 * dense and conv2d weights; for conv2dTranspose's [kh, kw, out, in] it is the input axis, which bounds
 * the same operator norm). σ ≈ uᵀ·W·v from one power iteration per training step (Algorithm 1); u and v
 * are buffers (checkpointed by name) and constants for the gradient, as in the paper.
 *
 * With the equalized learning rate (Params.scaled) the weight normalized is the one the layer would use,
 * c·W: σ(c·W) = c·σ(W), so the power iteration on the stored W finds the same u and v, and the layer uses
 * c·W / σ(c·W) = W / σ(W), spectral norm 1 whatever c (normalizing W first and scaling after would leave
 * every layer at spectral norm c ≪ 1).
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from './params.ts';

interface Entry {
  rows: number;
  cols: number;
  weight: tf.Variable;
  u: tf.Variable;
  v: tf.Variable;
}

const EPS = 1e-12;

function l2normalize(x: tf.Tensor): tf.Tensor {
  return x.div(x.square().sum().sqrt().add(EPS));
}

export class SpectralNorm {
  private readonly entries = new Map<string, Entry>();

  /** Normalize every trainable parameter whose name ends in ".weight" (the networks' naming convention). */
  constructor(params: Params) {
    const trainable = new Set(params.trainable());
    for (const [name, weight] of params.named()) {
      if (!name.endsWith('.weight') || !trainable.has(weight) || weight.rank < 2) continue;
      const cols = weight.shape[weight.rank - 1] as number;
      const rows = weight.size / cols;
      const u = params.normal(`${name}.sn.u`, [rows], 1, 0, false);
      const v = params.constant(`${name}.sn.v`, [cols], 0, false);
      this.entries.set(name, { rows, cols, weight, u, v });
    }
    tf.tidy(() => {
      for (const e of this.entries.values()) e.u.assign(l2normalize(e.u));
    });
    this.update();
    params.setWeightTransform((name, w) => {
      const e = this.entries.get(name);
      return e ? w.div(this.sigma(e, w)) : w;
    });
  }

  /** One power iteration per weight: v ← Wᵀu/‖·‖, u ← Wv/‖·‖ (outside any gradient). */
  update(): void {
    tf.tidy(() => {
      for (const e of this.entries.values()) {
        const w = e.weight.reshape([e.rows, e.cols]) as tf.Tensor2D;
        const v = l2normalize(tf.matMul(e.u.reshape([1, e.rows]) as tf.Tensor2D, w).reshape([e.cols]));
        const u = l2normalize(tf.matMul(w, v.reshape([e.cols, 1]) as tf.Tensor2D).reshape([e.rows]));
        e.v.assign(v);
        e.u.assign(u);
      }
    });
  }

  /** σ(W) ≈ uᵀ W v, differentiable in W. */
  private sigma(e: Entry, w: tf.Tensor): tf.Scalar {
    const wv = tf.matMul(w.reshape([e.rows, e.cols]) as tf.Tensor2D, e.v.reshape([e.cols, 1]) as tf.Tensor2D);
    return wv.reshape([e.rows]).mul(e.u).sum() as tf.Scalar;
  }
}
