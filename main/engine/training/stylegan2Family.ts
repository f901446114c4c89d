/**
 * StyleGAN2 training as stylegan2-ada-pytorch runs it (without ADA): per step the phases, in order,
 *
 *   Gmain  non-saturating logistic loss of G (with style mixing)                  every step
 *   Greg   path-length penalty, ×gRegInterval                                       step % gRegInterval = 0
 *   Dmain  logistic loss of D on reals and fakes                                     every step
 *   Dreg   R1 on reals, γ/2 · ‖∇D(x)‖², ×dRegInterval                                step % dRegInterval = 0
 *
 * Lazy regularization (Karras et al. 2020, §3.1): main and reg phases of a network share one Adam whose
 * lr is scaled by c = I/(I+1) and whose betas are raised to the power c (I the interval), so the moments
 * see the same effective horizon. Then G's moving average (EMA, half-life emaKimg, ramped up to
 * emaRampup × images seen) is updated. Samples come from the EMA G with truncation ψ and constant noise.
 *
 * Differences from the reference, on purpose: w_avg follows the Gmain phase's w only (the reference
 * updates it on every training-mode mapping call, ~3× per step, with the same β 0.995); parameters the
 * path-length penalty does not reach (toRGB biases) skip the Greg update instead of getting a zero
 * gradient (the same under β1 = 0, except that Adam's second moment does not decay on those steps).
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import { discriminatorLoss, generatorLoss } from '../loss/logistic.ts';
import { pathLengths, r1Penalty } from '../loss/regularizers.ts';
import { SpectralNorm } from '../models/spectralNorm.ts';
import { StyleGan2Discriminator, StyleGan2Generator, type StyleGan2Shape } from '../models/stylegan2.ts';
import { Rng, mixSeed } from '../rng.ts';
import { assignNamed, type NamedTensors } from './checkpoint.ts';
import type { GanFamily } from './family.ts';
import { ScalarBoard, copyParams, emaBeta, latents, makeOptimizer, need, renamed, updateEma } from './familyKit.ts';
import type { Optimizer } from './optimizers.ts';

/** Phase tags for latents and noise (seeded by (seed, step, tag), so every phase draws its own). */
const TAG = { gMain: 1, dMain: 2, gReg: 4, mix: 11, noise: 0x7015e, plNoise: 0x9e1 } as const;

export class StyleGan2Family implements GanFamily {
  readonly scalarNames = ['loss/G', 'loss/D', 'loss/D_real', 'loss/D_fake', 'score/real', 'score/fake', 'loss/r1', 'loss/pl', 'pl/mean'] as const;
  private readonly g: StyleGan2Generator;
  private readonly gEma: StyleGan2Generator;
  private readonly d: StyleGan2Discriminator;
  private readonly snG: SpectralNorm | null;
  private readonly snD: SpectralNorm | null;
  private readonly optG: Optimizer;
  private readonly optD: Optimizer;
  private readonly board: ScalarBoard;
  /** Running mean ā of the path lengths (state: `pl.mean`). */
  private readonly plMean: tf.Variable;
  private readonly opts: {
    styleMixingProb: number;
    r1Gamma: number;
    plWeight: number;
    plDecay: number;
    plBatchShrink: number;
    gRegInterval: number;
    dRegInterval: number;
    emaKimg: number;
    emaRampup: number;
    truncationPsi: number;
  };

  constructor(private readonly config: ResolvedConfig) {
    const shape: StyleGan2Shape = {
      ...config,
      mappingLayers: need(config, 'mappingLayers'),
      mappingLrMul: need(config, 'mappingLrMul'),
      mbstdGroup: need(config, 'mbstdGroup'),
      dResidual: need(config, 'dResidual'),
    };
    this.opts = {
      styleMixingProb: need(config, 'styleMixingProb'),
      r1Gamma: need(config, 'r1Gamma'),
      plWeight: need(config, 'plWeight'),
      plDecay: need(config, 'plDecay'),
      plBatchShrink: need(config, 'plBatchShrink'),
      gRegInterval: need(config, 'gRegInterval'),
      dRegInterval: need(config, 'dRegInterval'),
      emaKimg: need(config, 'emaKimg'),
      emaRampup: need(config, 'emaRampup'),
      truncationPsi: need(config, 'truncationPsi'),
    };
    this.g = new StyleGan2Generator(shape, new Rng(mixSeed(config.seed, 0x6e)));
    this.gEma = new StyleGan2Generator(shape, new Rng(mixSeed(config.seed, 0x6e)));
    this.d = new StyleGan2Discriminator(shape, new Rng(mixSeed(config.seed, 0xd1)));
    this.snG = config.spectralNormG ? new SpectralNorm(this.g.params) : null;
    this.snD = config.spectralNormD ? new SpectralNorm(this.d.params) : null;
    if (this.snG) new SpectralNorm(this.gEma.params); // the average gets the same buffers (copied below)
    copyParams(this.g.params, this.gEma.params);
    const ratio = (interval: number): number => interval / (interval + 1);
    const gc = ratio(this.opts.gRegInterval);
    const dc = ratio(this.opts.dRegInterval);
    this.optG = makeOptimizer(config, 'G', this.g.params, gc, gc);
    this.optD = makeOptimizer(config, 'D', this.d.params, dc, dc);
    this.board = new ScalarBoard(this.scalarNames);
    this.plMean = tf.tidy(() => tf.variable(tf.scalar(0), false));
  }

  private gRegDue(step: number): boolean {
    return this.opts.plWeight > 0 && step % this.opts.gRegInterval === 0;
  }

  private dRegDue(step: number): boolean {
    return this.opts.r1Gamma > 0 && step % this.opts.dRegInterval === 0;
  }

  phasesAt(step: number): readonly string[] {
    return ['Gmain', ...(this.gRegDue(step) ? ['Greg'] : []), 'Dmain', ...(this.dRegDue(step) ? ['Dreg'] : [])];
  }

  /** ws for `n` latents of (step, tag), style-mixed with probability styleMixingProb (same cutoff for the batch). */
  private trainingWs(n: number, step: number, tag: number): { ws: tf.Tensor3D; w: tf.Tensor2D } {
    const w = this.g.mapping(latents(this.config, n, step, tag));
    let ws = this.g.broadcastWs(w);
    const rng = new Rng(mixSeed(this.config.seed, step, tag, TAG.mix));
    const cutoff = 1 + rng.int(this.g.numWs - 1); // uniform in [1, numWs)
    if (rng.uniform() < this.opts.styleMixingProb) {
      ws = this.g.mixWs(ws, this.g.broadcastWs(this.g.mapping(latents(this.config, n, step, tag + TAG.mix))), cutoff);
    }
    return { ws, w };
  }

  private noise(step: number, tag: number): { kind: 'random'; seed: number } {
    return { kind: 'random', seed: mixSeed(this.config.seed, step, tag, TAG.noise) };
  }

  trainStep(reals: tf.Tensor4D, step: number): tf.Tensor1D {
    const n = reals.shape[0];
    const critic = (x: tf.Tensor4D): tf.Tensor1D => this.d.apply(x);
    return tf.tidy(() => {
      const fresh: Record<string, tf.Tensor> = {};

      // Gmain: non-saturating loss through D; w_avg follows this phase's w.
      this.snG?.update();
      let mappedW: tf.Tensor2D | null = null;
      const gMain = tf.variableGrads(() => {
        const { ws, w } = this.trainingWs(n, step, TAG.gMain);
        mappedW = tf.keep(w);
        return generatorLoss(critic(this.g.synthesis(ws, this.noise(step, TAG.gMain))));
      }, this.g.params.trainable());
      this.optG.apply(gMain.grads);
      fresh['loss/G'] = gMain.value;
      this.g.trackWAvg(mappedW as unknown as tf.Tensor2D);
      (mappedW as unknown as tf.Tensor2D).dispose();

      // Greg: path-length penalty on a shrunk batch, (a − ā)² with ā updated from this batch.
      if (this.gRegDue(step)) {
        const m = Math.max(1, Math.floor(n / this.opts.plBatchShrink));
        let stats: tf.Tensor1D | null = null;
        const gReg = tf.variableGrads(() => {
          const { ws } = this.trainingWs(m, step, TAG.gReg);
          const r = this.config.resolution;
          const noise = tf.randomNormal([m, r, r, 3], 0, 1, 'float32', mixSeed(this.config.seed, step, TAG.plNoise)).div(r) as tf.Tensor4D;
          const lengths = pathLengths((x) => this.g.synthesis(x, this.noise(step, TAG.gReg)), ws, noise);
          const mean = this.plMean.add(lengths.mean().sub(this.plMean).mul(this.opts.plDecay));
          const penalty = lengths.sub(mean).square().mean();
          stats = tf.keep(tf.stack([penalty, mean]) as tf.Tensor1D);
          return penalty.mul(this.opts.plWeight * this.opts.gRegInterval) as tf.Scalar;
        }, this.g.params.trainable());
        this.optG.apply(gReg.grads, true); // toRGB biases do not reach the Jacobian
        const [penalty, mean] = tf.unstack(stats as unknown as tf.Tensor1D) as [tf.Tensor, tf.Tensor];
        (stats as unknown as tf.Tensor1D).dispose();
        this.plMean.assign(mean.reshape([]));
        fresh['loss/pl'] = penalty;
        fresh['pl/mean'] = mean;
      }

      // Dmain: logistic loss on reals and fakes (fakes without a gradient to G).
      this.snD?.update();
      const fakes = tf.tidy(() => this.g.synthesis(this.trainingWs(n, step, TAG.dMain).ws, this.noise(step, TAG.dMain)));
      let logged: tf.Tensor1D | null = null;
      const dMain = tf.variableGrads(() => {
        const realLogits = critic(reals);
        const fakeLogits = critic(fakes);
        const parts = discriminatorLoss(realLogits, fakeLogits);
        logged = tf.keep(tf.stack([parts.real, parts.fake, realLogits.mean(), fakeLogits.mean()]) as tf.Tensor1D);
        return parts.loss;
      }, this.d.params.trainable());
      this.optD.apply(dMain.grads);
      const [dReal, dFake, scoreReal, scoreFake] = tf.unstack(logged as unknown as tf.Tensor1D) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      (logged as unknown as tf.Tensor1D).dispose();
      Object.assign(fresh, { 'loss/D': dMain.value, 'loss/D_real': dReal, 'loss/D_fake': dFake, 'score/real': scoreReal, 'score/fake': scoreFake });

      // Dreg: R1 on reals.
      if (this.dRegDue(step)) {
        let r1: tf.Scalar | null = null;
        const dReg = tf.variableGrads(() => {
          const penalty = r1Penalty(critic, reals);
          r1 = tf.keep(penalty);
          return penalty.mul((this.opts.r1Gamma / 2) * this.opts.dRegInterval) as tf.Scalar;
        }, this.d.params.trainable());
        this.optD.apply(dReg.grads, true); // the output bias does not reach ∇ₓD
        const value = r1 as unknown as tf.Scalar;
        fresh['loss/r1'] = value.clone(); // owned by this tidy; the kept one is freed now
        value.dispose();
      }

      updateEma(this.g.params, this.gEma.params, emaBeta(n, this.opts.emaKimg, this.opts.emaRampup, step * n));
      return this.board.collect(fresh);
    });
  }

  /** Samples from the moving-average G: truncation ψ towards w_avg, constant noise maps. */
  generate(z: tf.Tensor2D): tf.Tensor4D {
    const w = this.gEma.truncate(this.gEma.mapping(z), this.opts.truncationPsi);
    return this.gEma.synthesis(this.gEma.broadcastWs(w), { kind: 'const' });
  }

  private generatorState(): Array<[string, tf.Variable]> {
    return [...this.g.params.named(), ...renamed(this.gEma.params.named(), 'g.', 'g_ema.')];
  }

  stateTensors(): NamedTensors {
    return [...this.generatorState(), ...this.d.params.named(), ...this.optG.named(), ...this.optD.named(), ['pl.mean', this.plMean], ...this.board.named()];
  }

  loadState(tensors: Map<string, tf.Tensor>, options: { generatorOnly: boolean }): void {
    assignNamed(this.generatorState(), tensors, 'generator');
    if (options.generatorOnly) return;
    assignNamed(this.d.params.named(), tensors, 'discriminator');
    assignNamed([['pl.mean', this.plMean]], tensors, 'path length');
    this.optG.load(tensors);
    this.optD.load(tensors);
    this.board.load(tensors);
  }

  dispose(): void {
    this.g.dispose();
    this.gEma.dispose();
    this.d.dispose();
    this.optG.dispose();
    this.optD.dispose();
    this.board.dispose();
    this.plMean.dispose();
  }
}
