/**
 * What the training loop needs from a model family, and the registry that builds one from a config.
 * A family owns its networks, losses and optimizers; the loop owns time (steps, ticks, snapshots).
 */
import type * as tf from '@tensorflow/tfjs';
import type { Family, ResolvedConfig } from '../../../shared/presets.ts';
import type { NamedTensors } from './checkpoint.ts';
import { DcganFamily } from './dcganFamily.ts';
import { ProganFamily } from './proganFamily.ts';
import { StyleGan2Family } from './stylegan2Family.ts';
import { WganFamily } from './wganFamily.ts';

/** Scalar names in the order of the tensor `trainStep` returns. */
export type ScalarNames = readonly string[];

export interface GanFamily {
  /** Names of the scalars that trainStep returns, e.g. ['loss/G', 'loss/D', ...]. */
  readonly scalarNames: ScalarNames;
  /**
   * One training step: every phase due at `step`. Returns a 1-D tensor of scalars (kept on the device,
   * so the loop can average them over a tick and read them once).
   */
  trainStep(reals: tf.Tensor4D, step: number): tf.Tensor1D;
  /** The phases `trainStep` runs at `step` (e.g. ['D'], ['D', 'G'], ['Gmain', 'Greg', 'Dmain', 'Dreg']). */
  phasesAt(step: number): readonly string[];
  /** The generator used for samples and export: latents → images in [-1, 1]. */
  generate(z: tf.Tensor2D): tf.Tensor4D;
  /** Everything a checkpoint needs: weights, buffers and optimizer state, by stable name. */
  stateTensors(): NamedTensors;
  /** Restore from checkpoint tensors; throws naming the first tensor that is missing or mis-shaped. */
  loadState(tensors: Map<string, tf.Tensor>, options: { generatorOnly: boolean }): void;
  /**
   * Transfer from another run's checkpoint (`from`: its config): the factor a weight of the same name and
   * shape is multiplied by when the two runs store it differently (the equalized learning rate stores
   * weights divided by their He constant). Absent, or 1: copied as is.
   */
  transferFactor?(name: string, from: ResolvedConfig): number;
  dispose(): void;
}

const registry: Record<Family, (config: ResolvedConfig) => GanFamily> = {
  dcgan: (config) => new DcganFamily(config),
  wgan: (config) => new WganFamily(config),
  'wgan-gp': (config) => new WganFamily(config),
  progan: (config) => new ProganFamily(config),
  stylegan2: (config) => new StyleGan2Family(config),
};

export function createFamily(config: ResolvedConfig): GanFamily {
  return registry[config.family](config);
}
