/**
 * DCGAN training: alternating D and G steps with the non-saturating logistic loss and Adam, as in the
 * paper. BatchNorm running statistics of G are updated from the D step's fakes (no gradient there).
 * Options shared by every family: n_critic D steps per G step, spectral normalization, per-layer
 * gradient clipping, RMSProp.
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import { discriminatorLoss, generatorLoss } from '../loss/logistic.ts';
import { DcganDiscriminator, DcganGenerator } from '../models/dcgan.ts';
import { SpectralNorm } from '../models/spectralNorm.ts';
import { Rng, mixSeed } from '../rng.ts';
import { assignNamed, type NamedTensors } from './checkpoint.ts';
import type { GanFamily } from './family.ts';
import { ScalarBoard, latents, makeOptimizer } from './familyKit.ts';
import type { Optimizer } from './optimizers.ts';

export class DcganFamily implements GanFamily {
  readonly scalarNames = ['loss/G', 'loss/D', 'loss/D_real', 'loss/D_fake', 'score/real', 'score/fake'] as const;
  private readonly g: DcganGenerator;
  private readonly d: DcganDiscriminator;
  private readonly snG: SpectralNorm | null;
  private readonly snD: SpectralNorm | null;
  private readonly optG: Optimizer;
  private readonly optD: Optimizer;
  private readonly board: ScalarBoard;

  constructor(private readonly config: ResolvedConfig) {
    this.g = new DcganGenerator(config, new Rng(mixSeed(config.seed, 0x6e)));
    this.d = new DcganDiscriminator(config, new Rng(mixSeed(config.seed, 0xd1)));
    this.snG = config.spectralNormG ? new SpectralNorm(this.g.params) : null;
    this.snD = config.spectralNormD ? new SpectralNorm(this.d.params) : null;
    this.optG = makeOptimizer(config, 'G', this.g.params);
    this.optD = makeOptimizer(config, 'D', this.d.params);
    // With one D step per G step every scalar is fresh every step: nothing to keep in checkpoints.
    this.board = new ScalarBoard(this.scalarNames, config.nCritic > 1);
  }

  private generatorDue(step: number): boolean {
    return step % this.config.nCritic === 0;
  }

  phasesAt(step: number): readonly string[] {
    return this.generatorDue(step) ? ['D', 'G'] : ['D'];
  }

  trainStep(reals: tf.Tensor4D, step: number): tf.Tensor1D {
    const n = reals.shape[0];
    return tf.tidy(() => {
      this.snD?.update();
      // D phase: fakes from G in training mode, G's running statistics updated outside the gradient.
      const fakes = tf.tidy(() => {
        const { images, stats } = this.g.apply(latents(this.config, n, step, 1), 'train');
        this.g.updateRunningStats(stats, n);
        return images;
      });
      // variableGrads keeps only the loss it returns; the parts we log are kept explicitly and freed below.
      let logged: tf.Tensor1D | null = null;
      const dGrads = tf.variableGrads(() => {
        const realLogits = this.d.apply(reals);
        const fakeLogits = this.d.apply(fakes);
        const parts = discriminatorLoss(realLogits, fakeLogits);
        logged = tf.keep(tf.stack([parts.real, parts.fake, realLogits.mean(), fakeLogits.mean()]) as tf.Tensor1D);
        return parts.loss;
      }, this.d.params.trainable());
      this.optD.apply(dGrads.grads);
      const dLogged = logged as unknown as tf.Tensor1D;
      const [dReal, dFake, scoreReal, scoreFake] = tf.unstack(dLogged);
      dLogged.dispose();
      const fresh: Record<string, tf.Tensor> = {
        'loss/D': dGrads.value,
        'loss/D_real': dReal as tf.Tensor,
        'loss/D_fake': dFake as tf.Tensor,
        'score/real': scoreReal as tf.Tensor,
        'score/fake': scoreFake as tf.Tensor,
      };

      if (this.generatorDue(step)) {
        // G phase: the non-saturating loss through the updated D.
        this.snG?.update();
        const gGrads = tf.variableGrads(() => generatorLoss(this.d.apply(this.g.apply(latents(this.config, n, step, 2), 'train').images)), this.g.params.trainable());
        this.optG.apply(gGrads.grads);
        fresh['loss/G'] = gGrads.value;
      }
      return this.board.collect(fresh);
    });
  }

  generate(z: tf.Tensor2D): tf.Tensor4D {
    return this.g.apply(z, 'eval').images;
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
