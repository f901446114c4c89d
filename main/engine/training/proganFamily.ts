/**
 * ProGAN training (Karras et al. 2018): the phase schedule of progressive growing, WGAN-GP with the drift
 * term, Adam(β 0, 0.99) restarted at every phase change (as the official code's reset_opt_for_new_lod),
 * and an exponential moving average of G for samples.
 *
 * Schedule, in thousands of real images shown: 4×4 for `stableKimg`, then per new resolution a fade-in of
 * `fadeKimg` (α rising linearly 0 → 1) and a stabilization of `stableKimg`; the last resolution stays.
 * Reals are box-downsampled to the current resolution and, during a fade-in, blended with their own
 * lower-resolution version exactly as G's output is (so D sees the same kind of image from both).
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import { criticLoss, drift, generatorLoss, gradientPenalty } from '../loss/wasserstein.ts';
import { ProganDiscriminator, ProganGenerator, proganResolutions, type Growth, type ProganShape } from '../models/progan.ts';
import { SpectralNorm } from '../models/spectralNorm.ts';
import { downsample2x, resizePow2, upsample2x } from '../ops/resample.ts';
import { Rng, mixSeed } from '../rng.ts';
import { assignNamed, type NamedTensors } from './checkpoint.ts';
import type { GanFamily } from './family.ts';
import { ScalarBoard, copyParams, emaBeta, latents, makeOptimizer, need, renamed, updateEma } from './familyKit.ts';
import type { Optimizer } from './optimizers.ts';

export interface ProganStage extends Growth {
  /** 0: stabilizing 4×4; then 2i−1 fading in and 2i stabilizing the i-th added resolution. */
  phase: number;
}

/** Where progressive growing stands at `step` (a function of the images shown, so resume-exact). */
export function proganStage(config: ResolvedConfig, step: number): ProganStage {
  const levels = proganResolutions(config.resolution);
  const fade = need(config, 'fadeKimg');
  const stable = need(config, 'stableKimg');
  let t = (step * config.batchSize) / 1000;
  if (levels.length === 1 || t < stable) return { resolution: 4, alpha: 1, phase: 0 };
  t -= stable;
  for (let i = 1; i < levels.length; i++) {
    const resolution = levels[i] as number;
    if (t < fade) return { resolution, alpha: t / fade, phase: 2 * i - 1 };
    t -= fade;
    if (t < stable || i === levels.length - 1) return { resolution, alpha: 1, phase: 2 * i };
    t -= stable;
  }
  return { resolution: config.resolution, alpha: 1, phase: 2 * (levels.length - 1) };
}

/** The first step that trains at the full resolution with α = 1 (for benchmarks and tests). */
export function proganFullResolutionStep(config: ResolvedConfig): number {
  const levels = proganResolutions(config.resolution).length;
  const kimg = need(config, 'stableKimg') * levels + need(config, 'fadeKimg') * (levels - 1) - need(config, 'stableKimg');
  return Math.ceil((kimg * 1000) / config.batchSize);
}

export class ProganFamily implements GanFamily {
  readonly scalarNames = ['loss/G', 'loss/D', 'score/real', 'score/fake', 'wasserstein', 'loss/gp', 'loss/drift', 'progress/resolution', 'progress/alpha'] as const;
  private readonly g: ProganGenerator;
  private readonly d: ProganDiscriminator;
  /** G's moving average (samples and export), or null when emaKimg is 0. */
  private readonly gEma: ProganGenerator | null;
  private readonly snG: SpectralNorm | null;
  private readonly snD: SpectralNorm | null;
  private readonly optG: Optimizer;
  private readonly optD: Optimizer;
  private readonly board: ScalarBoard;
  /** The step of the latest trainStep: the growth stage samples are drawn at. State: `progress.step`. */
  private readonly progress: tf.Variable;
  private lastStep = 0;
  private readonly gpLambda: number;
  private readonly driftEpsilon: number;
  private readonly emaKimg: number;

  constructor(private readonly config: ResolvedConfig) {
    const shape: ProganShape = { ...config, mbstdGroup: need(config, 'mbstdGroup') };
    this.gpLambda = need(config, 'gpLambda');
    this.driftEpsilon = need(config, 'driftEpsilon');
    this.emaKimg = config.emaKimg ?? 0;
    proganStage(config, 0); // validates fadeKimg / stableKimg up front
    this.g = new ProganGenerator(shape, new Rng(mixSeed(config.seed, 0x6e)));
    this.d = new ProganDiscriminator(shape, new Rng(mixSeed(config.seed, 0xd1)));
    this.gEma = this.emaKimg > 0 ? new ProganGenerator(shape, new Rng(mixSeed(config.seed, 0x6e))) : null;
    this.snG = config.spectralNormG ? new SpectralNorm(this.g.params) : null;
    this.snD = config.spectralNormD ? new SpectralNorm(this.d.params) : null;
    if (this.gEma) {
      if (this.snG) new SpectralNorm(this.gEma.params); // same buffers, so the average has the same names
      copyParams(this.g.params, this.gEma.params);
    }
    this.optG = makeOptimizer(config, 'G', this.g.params);
    this.optD = makeOptimizer(config, 'D', this.d.params);
    this.board = new ScalarBoard(this.scalarNames, config.nCritic > 1);
    this.progress = tf.tidy(() => tf.variable(tf.scalar(0), false));
  }

  private generatorDue(step: number): boolean {
    return step % this.config.nCritic === 0;
  }

  phasesAt(step: number): readonly string[] {
    const { resolution, alpha } = proganStage(this.config, step);
    const growth = `${resolution}px${alpha < 1 ? ' fade' : ''}`;
    return this.generatorDue(step) ? ['D', 'G', growth] : ['D', growth];
  }

  /** Reals at the stage: box-downsampled, and blended with their lower resolution while fading in. */
  private realsAt(reals: tf.Tensor4D, stage: Growth): tf.Tensor4D {
    const x = resizePow2(reals, stage.resolution);
    if (stage.alpha >= 1 || stage.resolution === 4) return x;
    const low = upsample2x(downsample2x(x));
    return low.add(x.sub(low).mul(stage.alpha)) as tf.Tensor4D;
  }

  trainStep(reals: tf.Tensor4D, step: number): tf.Tensor1D {
    const n = reals.shape[0];
    const stage = proganStage(this.config, step);
    if (step > 0 && proganStage(this.config, step - 1).phase !== stage.phase) {
      this.optG.reset();
      this.optD.reset();
    }
    return tf.tidy(() => {
      this.snD?.update();
      const x = this.realsAt(reals, stage);
      const fakes = tf.tidy(() => this.g.apply(latents(this.config, n, step, 1), stage));
      const epsilon = tf.randomUniform([n, 1, 1, 1], 0, 1, 'float32', mixSeed(this.config.seed, step, 3)) as tf.Tensor4D;
      let logged: tf.Tensor1D | null = null;
      const dGrads = tf.variableGrads(() => {
        const realScores = this.d.apply(x, stage);
        const fakeScores = this.d.apply(fakes, stage);
        const parts = criticLoss(realScores, fakeScores);
        const gp = gradientPenalty((y) => this.d.apply(y, stage), x, fakes, epsilon).mul(this.gpLambda);
        const dr = drift(realScores).mul(this.driftEpsilon);
        logged = tf.keep(tf.stack([parts.real, parts.fake, gp, dr]) as tf.Tensor1D);
        return parts.loss.add(gp).add(dr) as tf.Scalar;
      }, this.d.params.trainable());
      this.optD.apply(dGrads.grads, true);
      const dLogged = logged as unknown as tf.Tensor1D;
      const [real, fake, gp, dr] = tf.unstack(dLogged) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      dLogged.dispose();
      const fresh: Record<string, tf.Tensor> = {
        'loss/D': dGrads.value,
        'score/real': real,
        'score/fake': fake,
        wasserstein: real.sub(fake),
        'loss/gp': gp,
        'loss/drift': dr,
        'progress/resolution': tf.scalar(stage.resolution),
        'progress/alpha': tf.scalar(stage.alpha),
      };
      if (this.generatorDue(step)) {
        this.snG?.update();
        const gGrads = tf.variableGrads(() => generatorLoss(this.d.apply(this.g.apply(latents(this.config, n, step, 2), stage), stage)), this.g.params.trainable());
        this.optG.apply(gGrads.grads, true);
        fresh['loss/G'] = gGrads.value;
        if (this.gEma) updateEma(this.g.params, this.gEma.params, emaBeta(n, this.emaKimg, 0, (step + 1) * n));
      }
      this.progress.assign(tf.scalar(step));
      this.lastStep = step;
      return this.board.collect(fresh);
    });
  }

  /** Samples at the current stage, nearest-upsampled to the full resolution (early phases look blocky). */
  generate(z: tf.Tensor2D): tf.Tensor4D {
    const stage = proganStage(this.config, this.lastStep);
    return resizePow2((this.gEma ?? this.g).apply(z, stage), this.config.resolution);
  }

  private generatorState(): Array<[string, tf.Variable]> {
    return [...this.g.params.named(), ...(this.gEma ? renamed(this.gEma.params.named(), 'g.', 'g_ema.') : []), ['progress.step', this.progress]];
  }

  stateTensors(): NamedTensors {
    return [...this.generatorState(), ...this.d.params.named(), ...this.optG.named(), ...this.optD.named(), ...this.board.named()];
  }

  loadState(tensors: Map<string, tf.Tensor>, options: { generatorOnly: boolean }): void {
    assignNamed(this.generatorState(), tensors, 'generator');
    this.lastStep = this.progress.dataSync()[0] as number;
    if (options.generatorOnly) return;
    assignNamed(this.d.params.named(), tensors, 'discriminator');
    this.optG.load(tensors);
    this.optD.load(tensors);
    this.board.load(tensors);
  }

  dispose(): void {
    this.g.dispose();
    this.d.dispose();
    this.gEma?.dispose();
    this.optG.dispose();
    this.optD.dispose();
    this.board.dispose();
    this.progress.dispose();
  }
}
