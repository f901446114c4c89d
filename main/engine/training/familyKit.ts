/**
 * What every family's training step needs besides its networks and losses: seeded latents, the optimizer
 * the config asks for, the scalars it logs, exponential moving averages of weights, and reading the
 * family-specific config fields.
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import type { Params } from '../models/params.ts';
import { mixSeed } from '../rng.ts';
import { AdamState, RmsPropState, type Optimizer } from './optimizers.ts';

/** A family-specific config field that the family cannot run without (presets always set it). */
export function need<K extends keyof ResolvedConfig>(config: ResolvedConfig, key: K): NonNullable<ResolvedConfig[K]> {
  const value = config[key];
  if (value === undefined || value === null) throw new Error(`the ${config.family} family needs "${String(key)}" in its config (preset ${config.presetId})`);
  return value as NonNullable<ResolvedConfig[K]>;
}

/** Latents for (step, phase): the same at every backend and on every resume. */
export function latents(config: ResolvedConfig, n: number, step: number, phase: number): tf.Tensor2D {
  return tf.randomNormal([n, config.latentDim], 0, 1, 'float32', mixSeed(config.seed, step, phase)) as tf.Tensor2D;
}

/**
 * The optimizer of one network as the config says (Adam or RMSProp, the network's learning rate, its
 * gradient-clip threshold when clipping is on). `lrScale`/`betaPower` rescale for lazy regularization.
 */
export function makeOptimizer(config: ResolvedConfig, net: 'G' | 'D', params: Params, lrScale = 1, betaPower = 1): Optimizer {
  const lr = (net === 'G' ? config.gLearningRate : config.dLearningRate) * lrScale;
  const options = { clipNorm: config.gradClip ? (net === 'G' ? config.gradClipG : config.gradClipD) : null };
  const prefix = `opt${net}`;
  if (config.optimizer === 'rmsprop') return new RmsPropState(prefix, params, lr, options);
  return new AdamState(prefix, params, lr, config.adamBeta1 ** betaPower, config.adamBeta2 ** betaPower, options);
}

/**
 * The scalars a family logs, in a fixed order. A phase that does not run every step (G under n_critic,
 * lazy regularization) reports its latest value in between; those latest values are state (`log.<name>`),
 * so a resumed run reports exactly what the uninterrupted one would have.
 */
export class ScalarBoard {
  private readonly values: tf.Variable[];

  /** `persistent`: whether the latest values are state (needed only when some scalar is not fresh every step). */
  constructor(
    readonly names: readonly string[],
    private readonly persistent = true,
  ) {
    this.values = names.map(() => tf.tidy(() => tf.variable(tf.scalar(0), false)));
  }

  /** Record this step's fresh values (by name) and return every scalar, fresh or latest, as one tensor. */
  collect(fresh: Record<string, tf.Tensor>): tf.Tensor1D {
    return tf.tidy(() => {
      for (const [name, value] of Object.entries(fresh)) {
        const i = this.names.indexOf(name);
        if (i < 0) throw new Error(`scalar ${name} is not among ${this.names.join(', ')}`);
        (this.values[i] as tf.Variable).assign(value.reshape([]));
      }
      return tf.stack(this.values) as tf.Tensor1D;
    });
  }

  named(): Array<[string, tf.Variable]> {
    if (!this.persistent) return [];
    return this.names.map((name, i) => [`log.${name}`, this.values[i] as tf.Variable]);
  }

  load(tensors: Map<string, tf.Tensor>): void {
    for (const [name, variable] of this.named()) {
      const value = tensors.get(name);
      if (!value) throw new Error(`scalars: the checkpoint has no tensor ${name}`);
      variable.assign(value);
    }
  }

  dispose(): void {
    for (const v of this.values) v.dispose();
  }
}

/**
 * ema ← p + β·(ema − p) over matching parameters (the generator average of Karras et al. 2018/2020);
 * buffers (non-trainable: running statistics, w_avg, constant noise) are copied.
 */
export function updateEma(source: Params, target: Params, beta: number): void {
  tf.tidy(() => {
    const trainable = new Set(source.trainable());
    const targets = new Map(target.named());
    for (const [name, p] of source.named()) {
      const ema = targets.get(name);
      if (!ema) throw new Error(`EMA: the average has no ${name}`);
      ema.assign(trainable.has(p) ? p.add(ema.sub(p).mul(beta)) : p);
    }
  });
}

/** Copy every parameter and buffer (start of training: the average begins at the initial weights). */
export function copyParams(source: Params, target: Params): void {
  updateEma(source, target, 0);
}

/**
 * StyleGAN2-ADA's EMA decay per step: β = 0.5^(batch / ema_nimg), with ema_nimg = emaKimg·1000, ramped up
 * to at most rampup · (images seen so far) when rampup > 0.
 */
export function emaBeta(batch: number, emaKimg: number, rampup: number, imagesSeen: number): number {
  let emaNimg = emaKimg * 1000;
  if (rampup > 0) emaNimg = Math.min(emaNimg, imagesSeen * rampup);
  return emaNimg <= 0 ? 0 : 0.5 ** (batch / Math.max(emaNimg, 1e-8));
}

/** Prefix every name (state of a second copy of a network, e.g. the EMA generator). */
export function renamed(named: Array<[string, tf.Variable]>, from: string, to: string): Array<[string, tf.Variable]> {
  return named.map(([name, v]) => [name.startsWith(from) ? to + name.slice(from.length) : name, v]);
}
