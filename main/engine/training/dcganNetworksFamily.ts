/**
 * What every family on the DCGAN networks shares (DCGAN, WGAN, WGAN-GP): the networks and their seeded
 * init (with or without the equalized learning rate), spectral norm, optimizers, the n_critic schedule,
 * fakes for the D phase, the G phase, and the checkpoint state. A subclass supplies its D phase and its G
 * loss.
 */
import * as tf from '@tensorflow/tfjs';
import type { Family, ResolvedConfig } from '../../../shared/presets.ts';
import { DcganDiscriminator, DcganGenerator } from '../models/dcgan.ts';
import { SpectralNorm } from '../models/spectralNorm.ts';
import { Rng, mixSeed } from '../rng.ts';
import { assignNamed, type NamedTensors } from './checkpoint.ts';
import type { GanFamily } from './family.ts';
import { ScalarBoard, latents, makeOptimizer } from './familyKit.ts';
import type { Optimizer } from './optimizers.ts';

/** The families built on these networks: their checkpoints name and shape weights alike. */
const DCGAN_NETWORKS: readonly Family[] = ['dcgan', 'wgan', 'wgan-gp'];

export abstract class DcganNetworksFamily implements GanFamily {
  protected readonly g: DcganGenerator;
  protected readonly d: DcganDiscriminator;
  protected readonly snG: SpectralNorm | null;
  protected readonly snD: SpectralNorm | null;
  protected readonly optG: Optimizer;
  protected readonly optD: Optimizer;
  protected readonly board: ScalarBoard;

  constructor(
    protected readonly config: ResolvedConfig,
    readonly scalarNames: readonly string[],
  ) {
    this.g = new DcganGenerator(config, new Rng(mixSeed(config.seed, 0x6e)));
    this.d = new DcganDiscriminator(config, new Rng(mixSeed(config.seed, 0xd1)));
    this.snG = config.spectralNormG ? new SpectralNorm(this.g.params) : null;
    this.snD = config.spectralNormD ? new SpectralNorm(this.d.params) : null;
    this.optG = makeOptimizer(config, 'G', this.g.params);
    this.optD = makeOptimizer(config, 'D', this.d.params);
    // With one D step per G step every scalar is fresh every step: nothing to keep in checkpoints.
    this.board = new ScalarBoard(scalarNames, config.nCritic > 1);
  }

  /** The G loss on D's outputs for fakes (non-saturating logistic, or Wasserstein). */
  protected abstract generatorLoss(fakeOutputs: tf.Tensor1D): tf.Scalar;

  /** One D update on `reals` and `fakes`; returns the scalars it logs, by name. */
  protected abstract discriminatorPhase(reals: tf.Tensor4D, fakes: tf.Tensor4D, step: number): Record<string, tf.Tensor>;

  protected generatorDue(step: number): boolean {
    return step % this.config.nCritic === 0;
  }

  phasesAt(step: number): readonly string[] {
    return this.generatorDue(step) ? ['D', 'G'] : ['D'];
  }

  trainStep(reals: tf.Tensor4D, step: number): tf.Tensor1D {
    const n = reals.shape[0];
    return tf.tidy(() => {
      this.snD?.update();
      // Fakes from G in training mode; G's running statistics are updated outside any gradient.
      const fakes = tf.tidy(() => {
        const { images, stats } = this.g.apply(latents(this.config, n, step, 1), 'train');
        this.g.updateRunningStats(stats, n);
        return images;
      });
      const fresh = this.discriminatorPhase(reals, fakes, step);
      if (this.generatorDue(step)) {
        // G phase: G's loss through the updated D.
        this.snG?.update();
        const gGrads = tf.variableGrads(() => this.generatorLoss(this.d.apply(this.g.apply(latents(this.config, n, step, 2), 'train').images)), this.g.params.trainable());
        this.optG.apply(gGrads.grads);
        fresh['loss/G'] = gGrads.value;
      }
      return this.board.collect(fresh);
    });
  }

  generate(z: tf.Tensor2D): tf.Tensor4D {
    return this.g.apply(z, 'eval').images;
  }

  /**
   * A run with the equalized learning rate stores each conv/dense weight divided by its He constant c: from
   * a run without it, a weight is copied times 1/c; into a run without it, times c (the network computes
   * the same function either way). Everything else is copied as is.
   */
  transferFactor(name: string, from: ResolvedConfig): number {
    if (!DCGAN_NETWORKS.includes(from.family)) return 1;
    const was = from.equalizedLr ?? false;
    const is = this.config.equalizedLr ?? false;
    const c = this.g.heConstants.get(name) ?? this.d.heConstants.get(name);
    if (was === is || c === undefined) return 1;
    return was ? c : 1 / c;
  }

  stateTensors(): NamedTensors {
    return [...this.g.params.named(), ...this.d.params.named(), ...this.optG.named(), ...this.optD.named(), ...this.board.named()];
  }

  loadState(tensors: Map<string, tf.Tensor>, options: { generatorOnly: boolean }): void {
    assignNamed(this.g.params.named(), tensors, 'generator');
    if (options.generatorOnly) return;
    assignNamed(this.d.params.named(), tensors, 'discriminator');
    this.optG.load(tensors);
    this.optD.load(tensors);
    this.board.load(tensors);
  }

  dispose(): void {
    this.g.dispose();
    this.d.dispose();
    this.optG.dispose();
    this.optD.dispose();
    this.board.dispose();
  }
}
