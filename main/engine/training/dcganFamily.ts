/**
 * DCGAN training: alternating D and G steps with the non-saturating logistic loss and Adam, as in the
 * paper. BatchNorm running statistics of G are updated from the D step's fakes (no gradient there).
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import { discriminatorLoss, generatorLoss } from '../loss/logistic.ts';
import { DcganDiscriminator, DcganGenerator } from '../models/dcgan.ts';
import { Rng, mixSeed } from '../rng.ts';
import { assignNamed, type NamedTensors } from './checkpoint.ts';
import type { GanFamily } from './family.ts';
import { AdamState } from './optimizers.ts';

export class DcganFamily implements GanFamily {
  readonly scalarNames = ['loss/G', 'loss/D', 'loss/D_real', 'loss/D_fake', 'score/real', 'score/fake'] as const;
  private readonly g: DcganGenerator;
  private readonly d: DcganDiscriminator;
  private readonly optG: AdamState;
  private readonly optD: AdamState;

  constructor(private readonly config: ResolvedConfig) {
    this.g = new DcganGenerator(config, new Rng(mixSeed(config.seed, 0x6e)));
    this.d = new DcganDiscriminator(config, new Rng(mixSeed(config.seed, 0xd1)));
    this.optG = new AdamState('optG', this.g.params, config.gLearningRate, config.adamBeta1, config.adamBeta2);
    this.optD = new AdamState('optD', this.d.params, config.dLearningRate, config.adamBeta1, config.adamBeta2);
  }

  private latents(n: number, step: number, phase: number): tf.Tensor2D {
    return tf.randomNormal([n, this.config.latentDim], 0, 1, 'float32', mixSeed(this.config.seed, step, phase)) as tf.Tensor2D;
  }

  trainStep(reals: tf.Tensor4D, step: number): tf.Tensor1D {
    const n = reals.shape[0];
    return tf.tidy(() => {
      // D phase: fakes from G in training mode, G's running statistics updated outside the gradient.
      const fakes = tf.tidy(() => {
        const { images, stats } = this.g.apply(this.latents(n, step, 1), 'train');
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

      // G phase: the non-saturating loss through the updated D.
      const gGrads = tf.variableGrads(() => generatorLoss(this.d.apply(this.g.apply(this.latents(n, step, 2), 'train').images)), this.g.params.trainable());
      this.optG.apply(gGrads.grads);

      const dLogged = logged as unknown as tf.Tensor1D;
      const scalars = tf.concat([tf.stack([gGrads.value, dGrads.value]), dLogged]) as tf.Tensor1D;
      dLogged.dispose();
      return scalars;
    });
  }

  generate(z: tf.Tensor2D): tf.Tensor4D {
    return this.g.apply(z, 'eval').images;
  }

  stateTensors(): NamedTensors {
    return [...this.g.params.named(), ...this.d.params.named(), ...this.optG.named(), ...this.optD.named()];
  }

  loadState(tensors: Map<string, tf.Tensor>, options: { generatorOnly: boolean }): void {
    assignNamed(this.g.params.named(), tensors, 'generator');
    if (options.generatorOnly) return;
    assignNamed(this.d.params.named(), tensors, 'discriminator');
    this.optG.load(tensors);
    this.optD.load(tensors);
  }

  dispose(): void {
    this.g.dispose();
    this.d.dispose();
    this.optG.dispose();
    this.optD.dispose();
  }
}
