/**
 * Progressive GAN (Karras et al. 2018): networks defined up to the full resolution R, used up to the
 * current resolution r ≤ R with a fade-in factor α for the newest block (Figure 2):
 *   G: z → pixel norm → dense to 4×4 → conv 3×3 → [2× nearest upsample, conv 3×3, conv 3×3]* → toRGB 1×1;
 *      while fading in r: lerp(upsample(toRGB_{r/2}(x_{r/2})), toRGB_r(x_r), α)
 *   D: fromRGB 1×1 → [conv 3×3, conv 3×3, 2× box downsample]* → minibatch stddev → conv 3×3 → dense → dense;
 *      while fading in r: lerp(fromRGB_{r/2}(downsample(img)), block_r(fromRGB_r(img)), α)
 * Every layer uses the equalized learning rate and LeakyReLU 0.2; G normalizes features pixelwise after
 * every conv. Feature maps follow the config's doubling rule (the paper: min(16384/r, 512)).
 * Resampling is the matmul form of ops/resample.ts (exact gradients at every order on every backend).
 */
import type * as tf from '@tensorflow/tfjs';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import { downsample2x, upsample2x } from '../ops/resample.ts';
import type { Rng } from '../rng.ts';
import { channelsAt } from './dcgan.ts';
import { SQRT2, conv, defineEqWeight, dense, leakyRelu, minibatchStddev, pixelNorm } from './layers.ts';
import { Params } from './params.ts';

export type ProganShape = Pick<ResolvedConfig, 'resolution' | 'latentDim' | 'channelsAtOutput' | 'maxChannels' | 'leakySlope'> & { mbstdGroup: number };

/** 4, 8, ..., R. */
export function proganResolutions(resolution: number): number[] {
  const out: number[] = [];
  for (let r = 4; r <= resolution; r *= 2) out.push(r);
  return out;
}

/** Where a progressive network stands: the resolution trained and the fade-in of its newest block. */
export interface Growth {
  resolution: number;
  alpha: number;
}

export class ProganGenerator {
  readonly params: Params;

  constructor(
    readonly shape: ProganShape,
    rng: Rng,
  ) {
    this.params = new Params(rng);
    const p = this.params;
    const c4 = channelsAt(shape, 4);
    // Weights N(0, 1), used times their He constant (equalized learning rate). The official code
    // overrides the first dense layer's gain to √2/4 (it acts as a 4×4 "deconv" of a 1×1 input).
    defineEqWeight(p, 'g.b4.fc.weight', [shape.latentDim, 16 * c4], SQRT2 / 4);
    p.constant('g.b4.fc.bias', [c4], 0);
    defineEqWeight(p, 'g.b4.conv.weight', [3, 3, c4, c4]);
    p.constant('g.b4.conv.bias', [c4], 0);
    for (const r of proganResolutions(shape.resolution)) {
      const c = channelsAt(shape, r);
      if (r > 4) {
        defineEqWeight(p, `g.b${r}.conv0.weight`, [3, 3, channelsAt(shape, r / 2), c]);
        p.constant(`g.b${r}.conv0.bias`, [c], 0);
        defineEqWeight(p, `g.b${r}.conv1.weight`, [3, 3, c, c]);
        p.constant(`g.b${r}.conv1.bias`, [c], 0);
      }
      defineEqWeight(p, `g.rgb${r}.weight`, [1, 1, c, 3], 1);
      p.constant(`g.rgb${r}.bias`, [3], 0);
    }
  }

  private conv(x: tf.Tensor4D, name: string): tf.Tensor4D {
    return pixelNorm(leakyRelu(conv(x, this.params.weight(`${name}.weight`), this.params.get(`${name}.bias`)), this.shape.leakySlope));
  }

  private toRgb(x: tf.Tensor4D, r: number): tf.Tensor4D {
    return conv(x, this.params.weight(`g.rgb${r}.weight`), this.params.get(`g.rgb${r}.bias`));
  }

  /** z [N, latent] → images [N, r, r, 3] at the growth stage (no output nonlinearity, as in the paper). */
  apply(z: tf.Tensor2D, growth: Growth): tf.Tensor4D {
    const n = z.shape[0];
    const c4 = channelsAt(this.shape, 4);
    let x = dense(pixelNorm(z), this.params.weight('g.b4.fc.weight'), null).reshape([n, 4, 4, c4]) as tf.Tensor4D;
    x = pixelNorm(leakyRelu(x.add(this.params.get('g.b4.fc.bias')), this.shape.leakySlope));
    x = this.conv(x, 'g.b4.conv');
    let previous = x;
    for (let r = 8; r <= growth.resolution; r *= 2) {
      previous = x;
      x = this.conv(upsample2x(x), `g.b${r}.conv0`);
      x = this.conv(x, `g.b${r}.conv1`);
    }
    const image = this.toRgb(x, growth.resolution);
    if (growth.resolution === 4 || growth.alpha >= 1) return image;
    const low = upsample2x(this.toRgb(previous, growth.resolution / 2));
    return low.add(image.sub(low).mul(growth.alpha)) as tf.Tensor4D;
  }

  dispose(): void {
    this.params.dispose();
  }
}

export class ProganDiscriminator {
  readonly params: Params;

  constructor(
    readonly shape: ProganShape,
    rng: Rng,
  ) {
    this.params = new Params(rng);
    const p = this.params;
    for (const r of proganResolutions(shape.resolution)) {
      const c = channelsAt(shape, r);
      defineEqWeight(p, `d.rgb${r}.weight`, [1, 1, 3, c]);
      p.constant(`d.rgb${r}.bias`, [c], 0);
      if (r > 4) {
        defineEqWeight(p, `d.b${r}.conv0.weight`, [3, 3, c, c]);
        p.constant(`d.b${r}.conv0.bias`, [c], 0);
        defineEqWeight(p, `d.b${r}.conv1.weight`, [3, 3, c, channelsAt(shape, r / 2)]);
        p.constant(`d.b${r}.conv1.bias`, [channelsAt(shape, r / 2)], 0);
      }
    }
    const c4 = channelsAt(shape, 4);
    const c2 = channelsAt(shape, 2);
    defineEqWeight(p, 'd.b4.conv.weight', [3, 3, c4 + 1, c4]);
    p.constant('d.b4.conv.bias', [c4], 0);
    defineEqWeight(p, 'd.b4.fc.weight', [16 * c4, c2]);
    p.constant('d.b4.fc.bias', [c2], 0);
    defineEqWeight(p, 'd.b4.out.weight', [c2, 1], 1);
    p.constant('d.b4.out.bias', [1], 0);
  }

  private act(x: tf.Tensor4D, name: string): tf.Tensor4D {
    return leakyRelu(conv(x, this.params.weight(`${name}.weight`), this.params.get(`${name}.bias`)), this.shape.leakySlope);
  }

  /** images [N, r, r, 3] at the growth stage → scores [N]. */
  apply(images: tf.Tensor4D, growth: Growth): tf.Tensor1D {
    const n = images.shape[0];
    let x = this.act(images, `d.rgb${growth.resolution}`);
    for (let r = growth.resolution; r > 4; r /= 2) {
      x = downsample2x(this.act(this.act(x, `d.b${r}.conv0`), `d.b${r}.conv1`));
      if (r === growth.resolution && growth.alpha < 1) {
        const low = this.act(downsample2x(images), `d.rgb${r / 2}`);
        x = low.add(x.sub(low).mul(growth.alpha)) as tf.Tensor4D;
      }
    }
    x = this.act(minibatchStddev(x, this.shape.mbstdGroup), 'd.b4.conv');
    const flat = x.reshape([n, -1]) as tf.Tensor2D;
    const hidden = leakyRelu(dense(flat, this.params.weight('d.b4.fc.weight'), this.params.get('d.b4.fc.bias')), this.shape.leakySlope);
    return dense(hidden, this.params.weight('d.b4.out.weight'), this.params.get('d.b4.out.bias')).reshape([n]) as tf.Tensor1D;
  }

  dispose(): void {
    this.params.dispose();
  }
}
