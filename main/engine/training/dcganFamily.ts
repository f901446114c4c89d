/**
 * DCGAN training: alternating D and G steps with the non-saturating logistic loss and Adam, as in the
 * paper. The networks, schedule, G phase and checkpoint state are shared with the WGANs
 * (dcganNetworksFamily.ts); options shared by every family: n_critic D steps per G step, spectral
 * normalization, per-layer gradient clipping, RMSProp; and the equalized learning rate (models/dcgan.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import { discriminatorLoss, generatorLoss } from '../loss/logistic.ts';
import { DcganNetworksFamily } from './dcganNetworksFamily.ts';

export class DcganFamily extends DcganNetworksFamily {
  constructor(config: ResolvedConfig) {
    super(config, ['loss/G', 'loss/D', 'loss/D_real', 'loss/D_fake', 'score/real', 'score/fake']);
  }

  protected generatorLoss(fakeLogits: tf.Tensor1D): tf.Scalar {
    return generatorLoss(fakeLogits);
  }

  protected discriminatorPhase(reals: tf.Tensor4D, fakes: tf.Tensor4D): Record<string, tf.Tensor> {
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
    const [dReal, dFake, scoreReal, scoreFake] = tf.unstack(dLogged) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    dLogged.dispose();
    return { 'loss/D': dGrads.value, 'loss/D_real': dReal, 'loss/D_fake': dFake, 'score/real': scoreReal, 'score/fake': scoreFake };
  }
}
