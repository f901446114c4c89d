/**
 * Adam (Kingma & Ba 2015) with its state held as named tensors, so a checkpoint stores the moments by
 * parameter name and a resumed run continues with exactly the optimizer it had. (tf.train.adam keeps its
 * moments positionally and creates them lazily, which makes exact resume fragile.)
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../models/params.ts';

const EPSILON = 1e-8;

export class AdamState {
  private readonly entries: Array<{ name: string; param: tf.Variable; m: tf.Variable; v: tf.Variable }>;
  private readonly t: tf.Variable;

  constructor(
    private readonly prefix: string,
    params: Params,
    private readonly lr: number,
    private readonly beta1: number,
    private readonly beta2: number,
  ) {
    const trainable = new Set(params.trainable());
    this.entries = params
      .named()
      .filter(([, v]) => trainable.has(v))
      .map(([name, param]) => ({
        name,
        param,
        m: tf.tidy(() => tf.variable(tf.zerosLike(param), false)),
        v: tf.tidy(() => tf.variable(tf.zerosLike(param), false)),
      }));
    // tidy: tf.variable keeps the initial tensor alive (and counted) unless it is disposed.
    this.t = tf.tidy(() => tf.variable(tf.scalar(0, 'float32'), false));
  }

  /** One update from gradients keyed by tfjs variable name (what tf.variableGrads returns). */
  apply(grads: tf.NamedTensorMap): void {
    tf.tidy(() => {
      this.t.assign(this.t.add(1));
      const c1 = tf.scalar(1).sub(tf.pow(this.beta1, this.t));
      const sqrtC2 = tf.scalar(1).sub(tf.pow(this.beta2, this.t)).sqrt();
      const lrOverC1 = tf.scalar(this.lr).div(c1);
      for (const e of this.entries) {
        const g = grads[e.param.name];
        if (!g) throw new Error(`${this.prefix}: no gradient for ${e.name}`);
        e.m.assign(e.m.mul(this.beta1).add(g.mul(1 - this.beta1)));
        e.v.assign(e.v.mul(this.beta2).add(g.square().mul(1 - this.beta2)));
        // p −= lr · m̂ / (√v̂ + ε), with m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ); ε outside the root as in the paper.
        e.param.assign(e.param.sub(e.m.mul(lrOverC1).div(e.v.sqrt().div(sqrtC2).add(EPSILON))));
      }
    });
    for (const g of Object.values(grads)) g.dispose();
  }

  named(): Array<[string, tf.Variable]> {
    return [[`${this.prefix}.t`, this.t], ...this.entries.flatMap((e): Array<[string, tf.Variable]> => [[`${this.prefix}.m.${e.name}`, e.m], [`${this.prefix}.v.${e.name}`, e.v]])];
  }

  load(tensors: Map<string, tf.Tensor>): void {
    for (const [name, variable] of this.named()) {
      const value = tensors.get(name);
      if (!value) throw new Error(`optimizer: the checkpoint has no tensor ${name}`);
      variable.assign(value);
    }
  }

  dispose(): void {
    this.t.dispose();
    for (const e of this.entries) {
      e.m.dispose();
      e.v.dispose();
    }
  }
}
