/**
 * DCGAN (Radford, Metz & Chintala 2015), generalised to any power-of-two resolution:
 *   G: z → dense → 4×4×C → [4×4 transposed conv stride 2, BatchNorm, ReLU]* → transposed conv to RGB → tanh
 *   D: x → [4×4 conv stride 2, (BatchNorm from the 2nd layer), LeakyReLU 0.2]* down to 4×4 → dense → logit
 * Weights are drawn from N(0, 0.02) and BatchNorm scales from N(1, 0.02), as in the paper; with the
 * equalized learning rate (`equalizedLr`) conv and dense weights are stored N(0, 1) and used times their He
 * constant √2/√fan-in (gain 1 for the linear output layers: G's RGB conv before tanh, D's logit), biases 0.
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import type { Rng } from '../rng.ts';
import { Params } from './params.ts';
import { SQRT2, batchMoments, batchNorm, convFanIn, downConv, heConstant, leakyRelu, upConv, upConvFanIn, type BatchStats } from './layers.ts';

const INIT_STD = 0.02;
/** Running statistics follow PyTorch's BatchNorm default: new = 0.9·old + 0.1·batch. */
const BN_MOMENTUM = 0.1;

export type DcganShape = Pick<ResolvedConfig, 'resolution' | 'latentDim' | 'channelsAtOutput' | 'maxChannels' | 'leakySlope' | 'dBatchNorm' | 'equalizedLr'>;

/**
 * A conv or dense weight of either network: N(0, 0.02), or with the equalized learning rate N(0, 1) used
 * times its He constant. `heConstants` gets the constant either way (a transfer between runs with and
 * without the option converts with it).
 */
function defineWeight(params: Params, heConstants: Map<string, number>, shape: DcganShape, name: string, dims: number[], fanIn: number, gain: number): void {
  const c = heConstant(fanIn, gain);
  heConstants.set(name, c);
  if (shape.equalizedLr) params.scaled(name, dims, c);
  else params.normal(name, dims, INIT_STD);
}

/** Feature maps at an inner resolution r: doubling per halving from the output, capped. */
export function channelsAt(shape: Pick<ResolvedConfig, 'resolution' | 'channelsAtOutput' | 'maxChannels'>, r: number): number {
  return Math.min(shape.maxChannels, Math.round((shape.channelsAtOutput * shape.resolution) / r));
}

/** Inner resolutions 4, 8, ..., resolution/2. */
function innerResolutions(resolution: number): number[] {
  const out: number[] = [];
  for (let r = 4; r < resolution; r *= 2) out.push(r);
  return out;
}

export type GeneratorMode = 'train' | 'eval';

export class DcganGenerator {
  readonly params: Params;
  /** He constant of every conv/dense weight by name (the run-time scale when `equalizedLr` is on). */
  readonly heConstants = new Map<string, number>();
  private readonly levels: number[];

  constructor(
    readonly shape: DcganShape,
    rng: Rng,
  ) {
    this.params = new Params(rng);
    this.levels = innerResolutions(shape.resolution);
    const c4 = channelsAt(shape, 4);
    const weight = (name: string, dims: number[], fanIn: number, gain = SQRT2) => defineWeight(this.params, this.heConstants, shape, name, dims, fanIn, gain);
    weight('g.fc.weight', [shape.latentDim, 16 * c4], shape.latentDim);
    this.defineBatchNorm('g.fc.bn', c4);
    this.levels.slice(1).forEach((r, i) => {
      const inC = channelsAt(shape, r / 2);
      const outC = channelsAt(shape, r);
      // conv2dTranspose filters are [kh, kw, out, in].
      const dims = [4, 4, outC, inC];
      weight(`g.up${i}.weight`, dims, upConvFanIn(dims));
      this.defineBatchNorm(`g.up${i}.bn`, outC);
    });
    const last = this.levels[this.levels.length - 1] ?? 4;
    const rgb = [4, 4, 3, channelsAt(shape, last)];
    weight('g.rgb.weight', rgb, upConvFanIn(rgb), 1);
    this.params.constant('g.rgb.bias', [3], 0);
  }

  private defineBatchNorm(prefix: string, channels: number): void {
    this.params.normal(`${prefix}.gamma`, [channels], INIT_STD, 1);
    this.params.constant(`${prefix}.beta`, [channels], 0);
    this.params.constant(`${prefix}.runningMean`, [channels], 0, false);
    this.params.constant(`${prefix}.runningVar`, [channels], 1, false);
  }

  private norm(prefix: string, x: tf.Tensor4D, mode: GeneratorMode, collected: Array<[string, BatchStats]>): tf.Tensor4D {
    const p = (n: string) => this.params.get(`${prefix}.${n}`) as tf.Tensor1D;
    let stats: BatchStats;
    if (mode === 'train') {
      stats = batchMoments(x);
      collected.push([prefix, stats]);
    } else {
      stats = { mean: p('runningMean'), variance: p('runningVar') };
    }
    return tf.relu(batchNorm(x, stats, p('gamma'), p('beta')));
  }

  /**
   * z [N, latentDim] → images [N, R, R, 3] in [-1, 1]. In 'train' mode BatchNorm uses batch statistics
   * and returns them (for the running averages); in 'eval' mode it uses the running averages, so one
   * latent gives the same image whatever else is in the batch (export by seed depends on that).
   */
  apply(z: tf.Tensor2D, mode: GeneratorMode): { images: tf.Tensor4D; stats: Array<[string, BatchStats]> } {
    const stats: Array<[string, BatchStats]> = [];
    const n = z.shape[0];
    const c4 = channelsAt(this.shape, 4);
    let x = tf.matMul(z, this.params.weight('g.fc.weight') as tf.Tensor2D).reshape([n, 4, 4, c4]) as tf.Tensor4D;
    x = this.norm('g.fc.bn', x, mode, stats);
    this.levels.slice(1).forEach((_, i) => {
      x = upConv(x, this.params.weight(`g.up${i}.weight`) as tf.Tensor4D);
      x = this.norm(`g.up${i}.bn`, x, mode, stats);
    });
    const rgb = upConv(x, this.params.weight('g.rgb.weight') as tf.Tensor4D).add(this.params.get('g.rgb.bias'));
    return { images: tf.tanh(rgb) as tf.Tensor4D, stats };
  }

  /** Fold one training batch's statistics into the running averages (call outside any gradient tape). */
  updateRunningStats(stats: Array<[string, BatchStats]>, count: number): void {
    tf.tidy(() => {
      const unbias = count > 1 ? count / (count - 1) : 1;
      for (const [prefix, s] of stats) {
        const mean = this.params.get(`${prefix}.runningMean`);
        const variance = this.params.get(`${prefix}.runningVar`);
        mean.assign(mean.mul(1 - BN_MOMENTUM).add(s.mean.mul(BN_MOMENTUM)));
        variance.assign(variance.mul(1 - BN_MOMENTUM).add(s.variance.mul(BN_MOMENTUM * unbias)));
      }
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}

export class DcganDiscriminator {
  readonly params: Params;
  /** He constant of every conv/dense weight by name (the run-time scale when `equalizedLr` is on). */
  readonly heConstants = new Map<string, number>();
  private readonly levels: number[];
  /** BatchNorm from the 2nd layer on (DCGAN, WGAN); off for critics with a per-sample penalty (WGAN-GP). */
  private readonly batchNorm: boolean;

  constructor(
    readonly shape: DcganShape,
    rng: Rng,
  ) {
    this.params = new Params(rng);
    // Absent in configs written before the option existed: those were all DCGANs with BatchNorm.
    this.batchNorm = shape.dBatchNorm ?? true;
    // Downsampling layers go from resolution R to 4: R→R/2, ..., 8→4.
    this.levels = innerResolutions(shape.resolution).reverse(); // output resolutions R/2, ..., 4
    const weight = (name: string, dims: number[], gain = SQRT2) => defineWeight(this.params, this.heConstants, shape, name, dims, convFanIn(dims), gain);
    let inC = 3;
    this.levels.forEach((r, i) => {
      const outC = channelsAt(shape, r);
      weight(`d.down${i}.weight`, [4, 4, inC, outC]);
      if (i === 0 || !this.batchNorm) {
        this.params.constant(`d.down${i}.bias`, [outC], 0);
      } else {
        this.params.normal(`d.down${i}.gamma`, [outC], INIT_STD, 1);
        this.params.constant(`d.down${i}.beta`, [outC], 0);
      }
      inC = outC;
    });
    weight('d.fc.weight', [16 * inC, 1], 1);
    this.params.constant('d.fc.bias', [1], 0);
  }

  /** images [N, R, R, 3] → logits [N]. BatchNorm (when on) always uses the batch's own statistics. */
  apply(images: tf.Tensor4D): tf.Tensor1D {
    let x = images;
    this.levels.forEach((_, i) => {
      x = downConv(x, this.params.weight(`d.down${i}.weight`) as tf.Tensor4D);
      if (i === 0 || !this.batchNorm) {
        x = x.add(this.params.get(`d.down${i}.bias`));
      } else {
        x = batchNorm(x, batchMoments(x), this.params.get(`d.down${i}.gamma`) as tf.Tensor1D, this.params.get(`d.down${i}.beta`) as tf.Tensor1D);
      }
      x = leakyRelu(x, this.shape.leakySlope);
    });
    const n = images.shape[0];
    const flat = x.reshape([n, -1]) as tf.Tensor2D;
    return tf.matMul(flat, this.params.weight('d.fc.weight') as tf.Tensor2D).add(this.params.get('d.fc.bias')).reshape([n]) as tf.Tensor1D;
  }

  dispose(): void {
    this.params.dispose();
  }
}
