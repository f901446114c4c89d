/**
 * A network's parameters by stable name ("g.up1.weight"), so checkpoints are plain named tensors that
 * survive refactors of the code that uses them. Non-trainable buffers (BatchNorm running statistics) live
 * here too, so they are saved and restored with the weights.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.ts';

let instances = 0;

export class Params {
  private readonly entries = new Map<string, { variable: tf.Variable; trainable: boolean }>();
  /** tfjs variable names are global; a per-instance tag lets two models (train + export) coexist. */
  private readonly tag = `m${++instances}`;
  private transform: ((name: string, weight: tf.Tensor) => tf.Tensor) | null = null;
  /** Run-time multipliers of the weights defined by `scaled` (the equalized learning rate). */
  private readonly scales = new Map<string, number>();

  constructor(private readonly rng: Rng) {}

  private add(name: string, values: Float32Array, shape: number[], trainable: boolean): tf.Variable {
    if (this.entries.has(name)) throw new Error(`parameter ${name} defined twice`);
    // tidy: tf.variable keeps the initial tensor alive (and counted) unless it is disposed.
    const variable = tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), trainable, `${this.tag}/${name}`));
    this.entries.set(name, { variable, trainable });
    return variable;
  }

  normal(name: string, shape: number[], std: number, mean = 0, trainable = true): tf.Variable {
    return this.add(name, this.rng.normalArray(shape.reduce((a, b) => a * b, 1), std, mean), shape, trainable);
  }

  constant(name: string, shape: number[], value: number, trainable = true): tf.Variable {
    return this.add(name, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape, trainable);
  }

  /**
   * A weight with the equalized learning rate (Karras et al. 2018, §4.1): stored N(0, std²) (std 1, or
   * 1/lrMul for a layer with a learning-rate multiplier) and used times `scale` (its He constant
   * gain·lrMul/√fan-in, layers.ts `heConstant`), so an optimizer step moves every layer's weights by the
   * same amount relative to their size. The checkpoint holds the stored values.
   */
  scaled(name: string, shape: number[], scale: number, std = 1): tf.Variable {
    if (!(scale > 0 && Number.isFinite(scale))) throw new Error(`parameter ${name}: run-time scale ${scale} is not a positive number`);
    const variable = this.normal(name, shape, std);
    this.scales.set(name, scale);
    return variable;
  }

  /** What a parameter is multiplied by when used: its `scaled` constant, else 1. */
  scaleOf(name: string): number {
    return this.scales.get(name) ?? 1;
  }

  /**
   * A weight as the network uses it: the parameter times its run-time scale (when defined by `scaled`),
   * then transformed (spectral normalization, models/spectralNorm.ts) when a transform is installed, so
   * the transform sees the weight the layer would otherwise use.
   */
  weight(name: string): tf.Tensor {
    const variable = this.get(name);
    const scale = this.scales.get(name);
    const used = scale === undefined ? variable : variable.mul(scale);
    return this.transform ? this.transform(name, used) : used;
  }

  setWeightTransform(transform: ((name: string, weight: tf.Tensor) => tf.Tensor) | null): void {
    this.transform = transform;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  get(name: string): tf.Variable {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no parameter ${name}`);
    return entry.variable;
  }

  trainable(): tf.Variable[] {
    return [...this.entries.values()].filter((e) => e.trainable).map((e) => e.variable);
  }

  named(): Array<[string, tf.Variable]> {
    return [...this.entries].map(([name, e]) => [name, e.variable]);
  }

  dispose(): void {
    for (const { variable } of this.entries.values()) variable.dispose();
    this.entries.clear();
    this.scales.clear();
  }
}
