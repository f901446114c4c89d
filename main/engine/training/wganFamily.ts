/**
 * WGAN (Arjovsky et al. 2017, Algorithm 1) and WGAN-GP (Gulrajani et al. 2017, Algorithm 1) on the DCGAN
 * networks: every step is one critic update on a fresh batch of reals; every n_critic-th step (from step
 * 0) also one generator update. WGAN keeps the critic Lipschitz by clipping its weights to [−c, c] after
 * each update; WGAN-GP by the gradient penalty λ·(‖∇D(x̂)‖ − 1)² on random interpolates.
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import { criticLoss, generatorLoss, gradientPenalty } from '../loss/wasserstein.ts';
import { mixSeed } from '../rng.ts';
import { DcganNetworksFamily } from './dcganNetworksFamily.ts';
import { need } from './familyKit.ts';

export class WganFamily extends DcganNetworksFamily {
  /** WGAN: the clip value c; WGAN-GP: null. */
  private readonly weightClip: number | null;
  /** WGAN-GP: λ; WGAN: null. */
  private readonly gpLambda: number | null;

  constructor(config: ResolvedConfig) {
    const gp = config.family === 'wgan-gp';
    super(config, ['loss/G', 'loss/D', 'score/real', 'score/fake', 'wasserstein', ...(gp ? ['loss/gp'] : [])]);
    this.weightClip = gp ? null : need(config, 'weightClip');
    this.gpLambda = gp ? need(config, 'gpLambda') : null;
  }

  protected generatorLoss(fakeScores: tf.Tensor1D): tf.Scalar {
    return generatorLoss(fakeScores);
  }

  protected discriminatorPhase(reals: tf.Tensor4D, fakes: tf.Tensor4D, step: number): Record<string, tf.Tensor> {
    const n = reals.shape[0];
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
      // The weights the critic uses are clipped: with the equalized learning rate a stored weight is
      // used times its He constant s, so it is clipped to ±c/s (s = 1 for everything else).
      const c = this.weightClip;
      const trainable = new Set(this.d.params.trainable());
      for (const [name, p] of this.d.params.named()) {
        if (!trainable.has(p)) continue;
        const bound = c / this.d.params.scaleOf(name);
        p.assign(tf.clipByValue(p, -bound, bound));
      }
    }
    const dLogged = logged as unknown as tf.Tensor1D;
    const [real, fake, penalty] = tf.unstack(dLogged) as [tf.Tensor, tf.Tensor, tf.Tensor];
    dLogged.dispose();
    const fresh: Record<string, tf.Tensor> = { 'loss/D': dGrads.value, 'score/real': real, 'score/fake': fake, wasserstein: real.sub(fake) };
    if (this.gpLambda !== null) fresh['loss/gp'] = penalty;
    return fresh;
  }
}
