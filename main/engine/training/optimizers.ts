/**
 * Optimizers with their state held as named tensors, so a checkpoint stores the moments by parameter name
 * and a resumed run continues with exactly the optimizer it had. (tf.train.* keep their state positionally
 * and create it lazily, which makes exact resume fragile.)
 *
 * Both take an optional per-parameter gradient clip: each parameter tensor's gradient is scaled to an L2
 * norm of at most `clipNorm` before the update (per-layer clipping, one threshold per network).
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../models/params.ts';

const EPSILON = 1e-8;

export interface OptimizerOptions {
  /** Per-parameter-tensor gradient L2-norm limit; null or undefined = no clipping. */
  clipNorm?: number | null;
}

export interface Optimizer {
  /**
   * One update from gradients keyed by tfjs variable name (what tf.variableGrads returns); disposes them.
   * With `partial`, parameters without a gradient are left alone (ProGAN's inactive layers); otherwise a
   * missing gradient is an error (it means a parameter is not connected to the loss).
   */
  apply(grads: tf.NamedTensorMap, partial?: boolean): void;
  /** Forget the moments (ProGAN restarts its optimizers at every phase, as the official code does). */
  reset(): void;
  named(): Array<[string, tf.Variable]>;
  load(tensors: Map<string, tf.Tensor>): void;
  dispose(): void;
}

interface Slot {
  name: string;
  param: tf.Variable;
  moments: tf.Variable[];
}

function trainableSlots(params: Params, momentCount: number): Slot[] {
  const trainable = new Set(params.trainable());
  return params
    .named()
    .filter(([, v]) => trainable.has(v))
    .map(([name, param]) => ({
      name,
      param,
      // tidy: tf.variable keeps the initial tensor alive (and counted) unless it is disposed.
      moments: Array.from({ length: momentCount }, () => tf.tidy(() => tf.variable(tf.zerosLike(param), false))),
    }));
}

/** g·min(1, c/‖g‖): the direction kept, the length capped. */
function clip(g: tf.Tensor, clipNorm: number | null | undefined): tf.Tensor {
  if (!clipNorm) return g;
  const norm = g.square().sum().sqrt();
  return g.mul(tf.minimum(1, tf.scalar(clipNorm).div(norm.add(1e-12))));
}

abstract class NamedOptimizer implements Optimizer {
  protected readonly slots: Slot[];
  protected readonly t: tf.Variable;

  constructor(
    protected readonly prefix: string,
    params: Params,
    private readonly momentNames: readonly string[],
    protected readonly options: OptimizerOptions,
  ) {
    this.slots = trainableSlots(params, momentNames.length);
    this.t = tf.tidy(() => tf.variable(tf.scalar(0, 'float32'), false));
  }

  protected abstract update(slot: Slot, g: tf.Tensor): void;
  protected prepare(): void {}

  apply(grads: tf.NamedTensorMap, partial = false): void {
    tf.tidy(() => {
      this.t.assign(this.t.add(1));
      this.prepare();
      for (const slot of this.slots) {
        const g = grads[slot.param.name];
        if (!g) {
          if (partial) continue;
          throw new Error(`${this.prefix}: no gradient for ${slot.name}`);
        }
        this.update(slot, clip(g, this.options.clipNorm));
      }
    });
    for (const g of Object.values(grads)) g.dispose();
  }

  reset(): void {
    tf.tidy(() => {
      this.t.assign(tf.scalar(0));
      for (const slot of this.slots) for (const m of slot.moments) m.assign(tf.zerosLike(m));
    });
  }

  named(): Array<[string, tf.Variable]> {
    return [
      [`${this.prefix}.t`, this.t],
      ...this.slots.flatMap((s) => s.moments.map((m, i): [string, tf.Variable] => [`${this.prefix}.${this.momentNames[i] as string}.${s.name}`, m])),
    ];
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
    for (const s of this.slots) for (const m of s.moments) m.dispose();
  }
}

/** Adam (Kingma & Ba 2015). State: `<prefix>.t`, `<prefix>.m.<param>`, `<prefix>.v.<param>`. */
export class AdamState extends NamedOptimizer {
  private lrOverC1: tf.Scalar | null = null;
  private sqrtC2: tf.Scalar | null = null;

  constructor(
    prefix: string,
    params: Params,
    private readonly lr: number,
    private readonly beta1: number,
    private readonly beta2: number,
    options: OptimizerOptions = {},
  ) {
    super(prefix, params, ['m', 'v'], options);
  }

  protected override prepare(): void {
    // Bias corrections 1 − β1ᵗ and √(1 − β2ᵗ); created inside apply's tidy.
    this.lrOverC1 = tf.scalar(this.lr).div(tf.scalar(1).sub(tf.pow(this.beta1, this.t))) as tf.Scalar;
    this.sqrtC2 = tf.scalar(1).sub(tf.pow(this.beta2, this.t)).sqrt() as tf.Scalar;
  }

  protected update({ param, moments }: Slot, g: tf.Tensor): void {
    const [m, v] = moments as [tf.Variable, tf.Variable];
    m.assign(m.mul(this.beta1).add(g.mul(1 - this.beta1)));
    v.assign(v.mul(this.beta2).add(g.square().mul(1 - this.beta2)));
    // p −= lr · m̂ / (√v̂ + ε), with m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ); ε outside the root as in the paper.
    param.assign(param.sub(m.mul(this.lrOverC1 as tf.Scalar).div(v.sqrt().div(this.sqrtC2 as tf.Scalar).add(EPSILON))));
  }
}

/**
 * RMSProp (Tieleman & Hinton 2012) as PyTorch implements it (what the WGAN paper used): v ← αv + (1−α)g²,
 * p ← p − lr·g/(√v + ε), α = 0.99, ε = 1e-8, no momentum. State: `<prefix>.t`, `<prefix>.sq.<param>`.
 */
export class RmsPropState extends NamedOptimizer {
  static readonly DECAY = 0.99;

  constructor(
    prefix: string,
    params: Params,
    private readonly lr: number,
    options: OptimizerOptions = {},
  ) {
    super(prefix, params, ['sq'], options);
  }

  protected update({ param, moments }: Slot, g: tf.Tensor): void {
    const [sq] = moments as [tf.Variable];
    sq.assign(sq.mul(RmsPropState.DECAY).add(g.square().mul(1 - RmsPropState.DECAY)));
    param.assign(param.sub(g.mul(this.lr).div(sq.sqrt().add(EPSILON))));
  }
}
