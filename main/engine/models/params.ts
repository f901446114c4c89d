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

  constructor(private readonly rng: Rng) {}

  private add(name: string, values: Float32Array, shape: number[], trainable: boolean): tf.Variable {
    if (this.entries.has(name)) throw new Error(`parameter ${name} defined twice`);
    // tidy: tf.variable keeps the initial tensor alive (and counted) unless it is disposed.
    const variable = tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), trainable, `${this.tag}/${name}`));
    this.entries.set(name, { variable, trainable });
    return variable;
  }

  normal(name: string, shape: number[], std: number, mean = 0): tf.Variable {
    return this.add(name, this.rng.normalArray(shape.reduce((a, b) => a * b, 1), std, mean), shape, true);
  }

  constant(name: string, shape: number[], value: number, trainable = true): tf.Variable {
    return this.add(name, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape, trainable);
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
