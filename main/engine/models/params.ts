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
  private transform: ((name: string, variable: tf.Variable) => tf.Tensor) | null = null;

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
   * A weight as the network uses it: the parameter itself, or transformed (spectral normalization,
   * models/spectralNorm.ts) when a transform is installed.
   */
  weight(name: string): tf.Tensor {
    const variable = this.get(name);
    return this.transform ? this.transform(name, variable) : variable;
  }

  setWeightTransform(transform: ((name: string, variable: tf.Variable) => tf.Tensor) | null): void {
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
  }
}
