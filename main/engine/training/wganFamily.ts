/**
 * WGAN (Arjovsky et al. 2017, Algorithm 1) and WGAN-GP (Gulrajani et al. 2017, Algorithm 1) on the DCGAN
 * networks: every step is one critic update on a fresh batch of reals; every n_critic-th step (from step
 * 0) also one generator update. WGAN keeps the critic Lipschitz by clipping its weights to [−c, c] after
 * each update; WGAN-GP by the gradient penalty λ·(‖∇D(x̂)‖ − 1)² on random interpolates.
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import { criticLoss, generatorLoss, gradientPenalty } from '../loss/wasserstein.ts';
import { DcganDiscriminator, DcganGenerator } from '../models/dcgan.ts';
import { SpectralNorm } from '../models/spectralNorm.ts';
import { Rng, mixSeed } from '../rng.ts';
import { assignNamed, type NamedTensors } from './checkpoint.ts';
import type { GanFamily } from './family.ts';
import { ScalarBoard, latents, makeOptimizer, need } from './familyKit.ts';
import type { Optimizer } from './optimizers.ts';

export class WganFamily implements GanFamily {
  readonly scalarNames: readonly string[];
  private readonly g: DcganGenerator;
  private readonly d: DcganDiscriminator;
  private readonly snG: SpectralNorm | null;
  private readonly snD: SpectralNorm | null;
  private readonly optG: Optimizer;
  private readonly optD: Optimizer;
  private readonly board: ScalarBoard;
  /** WGAN: the clip value c; WGAN-GP: null. */
  private readonly weightClip: number | null;
  /** WGAN-GP: λ; WGAN: null. */
  private readonly gpLambda: number | null;

  constructor(private readonly config: ResolvedConfig) {
    const gp = config.family === 'wgan-gp';
    this.weightClip = gp ? null : need(config, 'weightClip');
    this.gpLambda = gp ? need(config, 'gpLambda') : null;
    this.scalarNames = ['loss/G', 'loss/D', 'score/real', 'score/fake', 'wasserstein', ...(gp ? ['loss/gp'] : [])];
    this.g = new DcganGenerator(config, new Rng(mixSeed(config.seed, 0x6e)));
    this.d = new DcganDiscriminator(config, new Rng(mixSeed(config.seed, 0xd1)));
    this.snG = config.spectralNormG ? new SpectralNorm(this.g.params) : null;
    this.snD = config.spectralNormD ? new SpectralNorm(this.d.params) : null;
    this.optG = makeOptimizer(config, 'G', this.g.params);
    this.optD = makeOptimizer(config, 'D', this.d.params);
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
      const fakes = tf.tidy(() => {
        const { images, stats } = this.g.apply(latents(this.config, n, step, 1), 'train');
        this.g.updateRunningStats(stats, n);
        return images;
      });
      const epsilon = this.gpLambda === null ? null : (tf.randomUniform([n, 1, 1, 1], 0, 1, 'float32', mixSeed(this.config.seed, step, 3)) as tf.Tensor4D);
      let logged: tf.Tensor1D | null = null;
      const dGrads = tf.variableGrads(() => {
        const realScores = this.d.apply(reals);
        const fakeScores = this.d.apply(fakes);
        const parts = criticLoss(realScores, fakeScores);
        let loss = parts.loss;
        let penalty: tf.Scalar = tf.scalar(0);
        if (epsilon && this.gpLambda !== null) {
          penalty = gradientPenalty((x) => this.d.apply(x), reals, fakes, epsilon).mul(this.gpLambda) as tf.Scalar;
          loss = loss.add(penalty) as tf.Scalar;
        }
        logged = tf.keep(tf.stack([parts.real, parts.fake, penalty]) as tf.Tensor1D);
        return loss;
      }, this.d.params.trainable());
      this.optD.apply(dGrads.grads);
      if (this.weightClip !== null) {
        const c = this.weightClip;
        for (const p of this.d.params.trainable()) p.assign(tf.clipByValue(p, -c, c));
      }
      const dLogged = logged as unknown as tf.Tensor1D;
      const [real, fake, penalty] = tf.unstack(dLogged) as [tf.Tensor, tf.Tensor, tf.Tensor];
      dLogged.dispose();
      const fresh: Record<string, tf.Tensor> = { 'loss/D': dGrads.value, 'score/real': real, 'score/fake': fake, wasserstein: real.sub(fake) };
      if (this.gpLambda !== null) fresh['loss/gp'] = penalty;

      if (this.generatorDue(step)) {
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
