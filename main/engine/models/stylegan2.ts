/**
 * StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN"), config-F
 * architecture as stylegan2-ada-pytorch builds it, sized by the config:
 *
 *   mapping: z → normalize 2nd moment → `mappingLayers` × (dense, lrelu) at lr ×`mappingLrMul` → w;
 *     w_avg (a buffer) tracks E[w] for the truncation trick w' = w_avg + ψ·(w − w_avg).
 *   synthesis (skip architecture, Fig. 7b): a learned 4×4 constant, then per resolution modulated 3×3
 *     convolutions with weight demodulation (§2.2), per-pixel noise with a learned strength, and a
 *     toRGB (modulated 1×1, no demodulation) whose outputs are upsampled with the [1,3,3,1] filter and
 *     summed. One w per layer (ws [N, numWs, w]) so styles can be mixed (§3.2).
 *   discriminator (residual, Fig. 7c): fromRGB, then per resolution conv 3×3 and conv 3×3 with 2×
 *     downsampling plus a downsampled 1×1 skip, summed ×√½; minibatch stddev, conv, dense, dense.
 *
 * Modulated convolution is written as the paper's non-fused form (eq. 1–3): scale the input channels by
 * the sample's style, one shared convolution, scale the output channels by the sample's demodulation
 * coefficient 1/√(Σ (s·w)² + ε). Equalized learning rate everywhere; LeakyReLU 0.2 with gain √2.
 *
 * Substitutions (documented, for speed and exact gradients on every backend): a 2× upsampling conv is
 * "[1,3,3,1] upsample, then 3×3 conv" and a 2× downsampling conv "[1,3,3,1] downsample, then 3×3 conv"
 * (the official code convolves at the higher resolution with stride 2 / a transposed conv, then filters);
 * both keep the same filter and receptive field order. Resampling is ops/resample.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import { FIR_TAPS, downsample2x, upsample2x } from '../ops/resample.ts';
import type { Rng } from '../rng.ts';
import { channelsAt } from './dcgan.ts';
import { conv, defineEqWeight, dense, lreluGain, minibatchStddev } from './layers.ts';
import { Params } from './params.ts';

export interface StyleGan2Shape extends Pick<ResolvedConfig, 'resolution' | 'latentDim' | 'channelsAtOutput' | 'maxChannels' | 'leakySlope'> {
  mappingLayers: number;
  mappingLrMul: number;
  mbstdGroup: number;
  dResidual: boolean;
}

/** 4, 8, ..., R. */
function resolutions(resolution: number): number[] {
  const out: number[] = [];
  for (let r = 4; r <= resolution; r *= 2) out.push(r);
  return out;
}

/** How noise inputs are drawn: fresh per call (training, seeded) or the stored constant maps (samples). */
export type NoiseMode = { kind: 'random'; seed: number } | { kind: 'const' };

/** w_avg's decay per update (stylegan2-ada-pytorch's w_avg_beta). */
export const W_AVG_BETA = 0.995;

interface SynthesisLayer {
  name: string;
  resolution: number;
  cin: number;
  cout: number;
  up: boolean;
}

export class StyleGan2Generator {
  readonly params: Params;
  /** ws per sample: one per conv layer plus the last toRGB (toRGBs share the next block's first w). */
  readonly numWs: number;
  private readonly layers: SynthesisLayer[] = [];
  private readonly levels: number[];

  constructor(
    readonly shape: StyleGan2Shape,
    rng: Rng,
  ) {
    this.params = new Params(rng);
    const p = this.params;
    const w = shape.latentDim;
    this.levels = resolutions(shape.resolution);
    // Mapping: weights N(0, 1/lrMul²), used times lrMul/√fan-in (unit He-scaled); biases 0.
    for (let i = 0; i < shape.mappingLayers; i++) {
      defineEqWeight(p, `g.map.fc${i}.weight`, [w, w], 1, shape.mappingLrMul);
      p.constant(`g.map.fc${i}.bias`, [w], 0);
    }
    p.constant('g.map.w_avg', [w], 0, false);

    const c4 = channelsAt(shape, 4);
    p.normal('g.b4.const', [1, 4, 4, c4], 1);
    this.defineLayer({ name: 'g.b4.conv1', resolution: 4, cin: c4, cout: c4, up: false });
    this.defineRgb('g.b4.rgb', c4);
    for (const r of this.levels.slice(1)) {
      const cin = channelsAt(shape, r / 2);
      const c = channelsAt(shape, r);
      this.defineLayer({ name: `g.b${r}.conv0`, resolution: r, cin, cout: c, up: true });
      this.defineLayer({ name: `g.b${r}.conv1`, resolution: r, cin: c, cout: c, up: false });
      this.defineRgb(`g.b${r}.rgb`, c);
    }
    this.numWs = this.layers.length + 1;
  }

  private defineAffine(name: string, cin: number): void {
    // Styles start at 1 (bias init 1), so modulation starts as the identity.
    defineEqWeight(this.params, `${name}.affine.weight`, [this.shape.latentDim, cin], 1);
    this.params.constant(`${name}.affine.bias`, [cin], 1);
  }

  private defineLayer(layer: SynthesisLayer): void {
    const p = this.params;
    this.defineAffine(layer.name, layer.cin);
    p.normal(`${layer.name}.weight`, [3, 3, layer.cin, layer.cout], 1);
    p.constant(`${layer.name}.bias`, [layer.cout], 0);
    p.constant(`${layer.name}.noise_strength`, [1], 0);
    p.normal(`${layer.name}.noise_const`, [1, layer.resolution, layer.resolution, 1], 1, 0, false);
    this.layers.push(layer);
  }

  private defineRgb(name: string, cin: number): void {
    this.defineAffine(name, cin);
    defineEqWeight(this.params, `${name}.weight`, [1, 1, cin, 3], 1); // used ×1/√Cin (the reference scales the styles instead)
    this.params.constant(`${name}.bias`, [3], 0);
  }

  /** z [N, w] → w [N, w]. */
  mapping(z: tf.Tensor2D): tf.Tensor2D {
    const { mappingLayers, mappingLrMul } = this.shape;
    // normalize_2nd_moment: z / √(mean(z²) + ε).
    let x = z.mul(z.square().mean(1, true).add(1e-8).rsqrt()) as tf.Tensor2D;
    for (let i = 0; i < mappingLayers; i++) {
      x = lreluGain(dense(x, this.params.weight(`g.map.fc${i}.weight`), this.params.get(`g.map.fc${i}.bias`), mappingLrMul), this.shape.leakySlope);
    }
    return x;
  }

  /** w_avg ← lerp(mean w of the batch, w_avg, 0.995) (call outside any gradient). */
  trackWAvg(w: tf.Tensor2D): void {
    tf.tidy(() => {
      const avg = this.params.get('g.map.w_avg');
      avg.assign(w.mean(0).add(avg.sub(w.mean(0)).mul(W_AVG_BETA)));
    });
  }

  /** w' = w_avg + ψ·(w − w_avg). */
  truncate(w: tf.Tensor2D, psi: number): tf.Tensor2D {
    if (psi === 1) return w;
    const avg = this.params.get('g.map.w_avg');
    return avg.add(w.sub(avg).mul(psi)) as tf.Tensor2D;
  }

  /** One w for every layer: [N, w] → [N, numWs, w]. */
  broadcastWs(w: tf.Tensor2D): tf.Tensor3D {
    const [n, d] = w.shape;
    return w.reshape([n, 1, d]).mul(tf.ones([1, this.numWs, 1])) as tf.Tensor3D;
  }

  /** Style mixing: layers from `cutoff` on take their w from `other`. */
  mixWs(ws: tf.Tensor3D, other: tf.Tensor3D, cutoff: number): tf.Tensor3D {
    if (cutoff >= this.numWs) return ws;
    const [n, , d] = ws.shape;
    return tf.concat([ws.slice([0, 0, 0], [n, cutoff, d]), other.slice([0, cutoff, 0], [n, this.numWs - cutoff, d])], 1) as tf.Tensor3D;
  }

  private styles(name: string, w: tf.Tensor2D): tf.Tensor2D {
    return dense(w, this.params.weight(`${name}.affine.weight`), this.params.get(`${name}.affine.bias`));
  }

  /** Modulated 3×3 conv with demodulation, noise, bias and lrelu·√2 (one synthesis layer). */
  private layer(x: tf.Tensor4D, layer: SynthesisLayer, w: tf.Tensor2D, noise: NoiseMode, index: number): tf.Tensor4D {
    const n = x.shape[0];
    const s = this.styles(layer.name, w); // [N, Cin]
    const weight = this.params.weight(`${layer.name}.weight`);
    let y = layer.up ? upsample2x(x, FIR_TAPS) : x;
    y = tf.conv2d(y.mul(s.reshape([n, 1, 1, layer.cin])) as tf.Tensor4D, weight as tf.Tensor4D, 1, 'same');
    // Demodulation: d[n, o] = 1/√(Σ_{k, i} (s[n, i]·W[k, i, o])² + ε) = rsqrt(s² · Σ_k W² + ε).
    const demod = tf.matMul(s.square(), weight.square().sum([0, 1]) as tf.Tensor2D).add(1e-8).rsqrt();
    y = y.mul(demod.reshape([n, 1, 1, layer.cout]));
    const r = layer.resolution;
    const maps = noise.kind === 'const' ? this.params.get(`${layer.name}.noise_const`) : tf.randomNormal([n, r, r, 1], 0, 1, 'float32', noise.seed + index);
    y = y.add(maps.mul(this.params.get(`${layer.name}.noise_strength`)));
    return lreluGain(y.add(this.params.get(`${layer.name}.bias`)), this.shape.leakySlope);
  }

  /** toRGB: modulated 1×1 conv without demodulation (weight ×1/√Cin), plus bias. */
  private rgb(x: tf.Tensor4D, name: string, w: tf.Tensor2D): tf.Tensor4D {
    const [n, , , cin] = x.shape;
    const s = this.styles(name, w);
    const y = tf.conv2d(x.mul(s.reshape([n, 1, 1, cin])) as tf.Tensor4D, this.params.weight(`${name}.weight`) as tf.Tensor4D, 1, 'same');
    return y.add(this.params.get(`${name}.bias`)) as tf.Tensor4D;
  }

  /** ws [N, numWs, w] → images [N, R, R, 3] (no output nonlinearity, as in the paper). */
  synthesis(ws: tf.Tensor3D, noise: NoiseMode): tf.Tensor4D {
    const n = ws.shape[0];
    const w = tf.unstack(ws, 1) as tf.Tensor2D[];
    const at = (i: number): tf.Tensor2D => w[i] as tf.Tensor2D;
    const constant = this.params.get('g.b4.const');
    let x = constant.mul(tf.ones([n, 1, 1, 1])) as tf.Tensor4D;
    x = this.layer(x, this.layers[0] as SynthesisLayer, at(0), noise, 0);
    let img = this.rgb(x, 'g.b4.rgb', at(1));
    this.levels.slice(1).forEach((r, k) => {
      const i = 1 + 2 * k; // conv0 of this block
      x = this.layer(x, this.layers[i] as SynthesisLayer, at(i), noise, i);
      x = this.layer(x, this.layers[i + 1] as SynthesisLayer, at(i + 1), noise, i + 1);
      img = upsample2x(img, FIR_TAPS).add(this.rgb(x, `g.b${r}.rgb`, at(i + 2))) as tf.Tensor4D;
    });
    return img;
  }

  dispose(): void {
    this.params.dispose();
  }
}

export class StyleGan2Discriminator {
  readonly params: Params;
  private readonly levels: number[];

  constructor(
    readonly shape: StyleGan2Shape,
    rng: Rng,
  ) {
    this.params = new Params(rng);
    const p = this.params;
    this.levels = resolutions(shape.resolution).reverse(); // R, ..., 4
    const cR = channelsAt(shape, shape.resolution);
    defineEqWeight(p, `d.b${shape.resolution}.rgb.weight`, [1, 1, 3, cR], 1);
    p.constant(`d.b${shape.resolution}.rgb.bias`, [cR], 0);
    for (const r of this.levels.slice(0, -1)) {
      const c = channelsAt(shape, r);
      const next = channelsAt(shape, r / 2);
      defineEqWeight(p, `d.b${r}.conv0.weight`, [3, 3, c, c], 1);
      p.constant(`d.b${r}.conv0.bias`, [c], 0);
      defineEqWeight(p, `d.b${r}.conv1.weight`, [3, 3, c, next], 1);
      p.constant(`d.b${r}.conv1.bias`, [next], 0);
      if (shape.dResidual) defineEqWeight(p, `d.b${r}.skip.weight`, [1, 1, c, next], 1);
    }
    const c4 = channelsAt(shape, 4);
    defineEqWeight(p, 'd.b4.conv.weight', [3, 3, c4 + 1, c4], 1);
    p.constant('d.b4.conv.bias', [c4], 0);
    defineEqWeight(p, 'd.b4.fc.weight', [16 * c4, c4], 1);
    p.constant('d.b4.fc.bias', [c4], 0);
    defineEqWeight(p, 'd.b4.out.weight', [c4, 1], 1);
    p.constant('d.b4.out.bias', [1], 0);
  }

  private conv(x: tf.Tensor4D, name: string): tf.Tensor4D {
    return lreluGain(conv(x, this.params.weight(`${name}.weight`), this.params.get(`${name}.bias`)), this.shape.leakySlope);
  }

  /** images [N, R, R, 3] → logits [N]. */
  apply(images: tf.Tensor4D): tf.Tensor1D {
    const n = images.shape[0];
    let x = this.conv(images, `d.b${this.shape.resolution}.rgb`);
    for (const r of this.levels.slice(0, -1)) {
      const main = this.conv(downsample2x(this.conv(x, `d.b${r}.conv0`), FIR_TAPS), `d.b${r}.conv1`);
      if (this.shape.dResidual) {
        const skip = conv(downsample2x(x, FIR_TAPS), this.params.weight(`d.b${r}.skip.weight`), null);
        x = skip.add(main).mul(Math.SQRT1_2) as tf.Tensor4D;
      } else {
        x = main;
      }
    }
    x = this.conv(minibatchStddev(x, this.shape.mbstdGroup), 'd.b4.conv');
    const hidden = dense(x.reshape([n, -1]) as tf.Tensor2D, this.params.weight('d.b4.fc.weight'), this.params.get('d.b4.fc.bias'));
    return dense(lreluGain(hidden, this.shape.leakySlope), this.params.weight('d.b4.out.weight'), this.params.get('d.b4.out.bias')).reshape([n]) as tf.Tensor1D;
  }

  dispose(): void {
    this.params.dispose();
  }
}
