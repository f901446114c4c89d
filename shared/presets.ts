/**
 * Training presets: the one table of named configurations, and the resolver that turns a preset plus a
 * user's overrides into the fully resolved config a run records. The CLI, the engine and the UI all read
 * presets from here, so "what quick-32 means" has exactly one answer.
 */
import { z } from 'zod';

export const Family = z.enum(['dcgan', 'wgan', 'wgan-gp', 'progan', 'stylegan2']);
export type Family = z.infer<typeof Family>;

const powerOfTwo = (min: number, max: number) =>
  z
    .number()
    .int()
    .refine((r) => r >= min && r <= max && (r & (r - 1)) === 0, `a power of two from ${min} to ${max}`);

/** Families whose networks always use the equalized learning rate (their `equalizedLr` is true, fixed). */
export const alwaysEqualizedLr: readonly Family[] = ['progan', 'stylegan2'];

/** The fields of a resolved config (without the checks that relate fields to each other). */
const ResolvedConfigFields = z
  .object({
    presetId: z.string(),
    family: Family,
    /** Training resolution; the dataset is area-downsampled to it when it is larger. */
    resolution: powerOfTwo(8, 1024),
    batchSize: z.number().int().min(1).max(1024),
    latentDim: z.number().int().min(1).max(4096),
    /** Feature maps at the output resolution; each halving of resolution doubles them, up to maxChannels. */
    channelsAtOutput: z.number().int().min(1).max(4096),
    maxChannels: z.number().int().min(1).max(4096),
    gLearningRate: z.number().positive().max(1),
    dLearningRate: z.number().positive().max(1),
    adamBeta1: z.number().min(0).max(0.9999),
    adamBeta2: z.number().min(0).max(0.99999),
    /** LeakyReLU slope in the discriminator. */
    leakySlope: z.number().min(0).max(1),
    /** Random horizontal flips of the reals (doubles the effective dataset). */
    xflip: z.boolean(),
    /** Length of training, in thousands of real images shown to D. */
    totalKimg: z.number().positive().max(1_000_000),
    seed: z.number().int().min(0).max(2 ** 31 - 1),
    /** Steps between stats lines (and progress events). */
    tickSteps: z.number().int().min(1),
    /** Steps between refreshes of the live sample grid. */
    sampleSteps: z.number().int().min(1),
    /** Steps between snapshots (grid PNG + checkpoint on disk). */
    snapshotSteps: z.number().int().min(1),
    /** Side of the square sample grid (fixed latents), e.g. 8 for 8×8. */
    gridSide: z.number().int().min(1).max(16),
    /**
     * When losses or weights turn NaN/Inf: roll back to the last good snapshot with the learning rates
     * halved (once; a second time stops the run), or stop at once.
     */
    onNonFinite: z.enum(['rollback', 'stop']).default('rollback'),

    // ---- options for every family (defaults = what runs recorded before they existed) ----
    /** Optimizer of both networks: Adam (adamBeta1/2) or RMSProp (decay 0.99, ε 1e-8, as PyTorch's). */
    optimizer: z.enum(['adam', 'rmsprop']).default('adam'),
    /** Discriminator (critic) steps per generator step, each on a fresh batch of reals (WGAN: 5). */
    nCritic: z.number().int().min(1).max(100).default(1),
    /** Spectral normalization of every weight of D (Miyato et al. 2018), one power iteration per step. */
    spectralNormD: z.boolean().default(false),
    /** The same for G. */
    spectralNormG: z.boolean().default(false),
    /** Clip each parameter tensor's gradient to an L2 norm of at most gradClipG (G) / gradClipD (D). */
    gradClip: z.boolean().default(false),
    gradClipG: z.number().positive().max(1e6).default(0.1),
    gradClipD: z.number().positive().max(1e6).default(0.05),
    /**
     * Equalized learning rate (Karras et al. 2018, §4.1): conv and dense weights stored N(0, 1) and used
     * times their He constant √2/√fan-in (1/√fan-in for output layers), biases 0, so every layer learns at
     * the same relative speed. DCGAN networks (dcgan, wgan, wgan-gp): off by default, absent = off (runs
     * recorded before it existed). ProGAN, StyleGAN2: always on, so true and cannot be set to false.
     */
    equalizedLr: z.boolean().optional(),

    // ---- family options: present exactly for the families that use them ----
    /** DCGAN-style D (dcgan, wgan, wgan-gp): BatchNorm after the 2nd+ convolutions (absent = on). */
    dBatchNorm: z.boolean().optional(),
    /**
     * WGAN: critic weights are clipped to [−c, c] after every update (Arjovsky et al. 2017); with the
     * equalized learning rate, the weights as used (stored ones to ±c / their He constant).
     */
    weightClip: z.number().positive().max(10).optional(),
    /** WGAN-GP, ProGAN: weight λ of the gradient penalty (‖∇D(x̂)‖ − 1)² on interpolates. */
    gpLambda: z.number().min(0).max(1e4).optional(),
    /** ProGAN: drift term ε·E[D(x)²] that keeps critic scores near zero. */
    driftEpsilon: z.number().min(0).max(1).optional(),
    /** ProGAN: thousands of images per fade-in phase and per stabilization phase. */
    fadeKimg: z.number().positive().max(100_000).optional(),
    stableKimg: z.number().positive().max(100_000).optional(),
    /** ProGAN, StyleGAN2: group size of D's minibatch standard deviation layer. */
    mbstdGroup: z.number().int().min(1).max(64).optional(),
    /** ProGAN, StyleGAN2: half-life of G's exponential moving average, in kimg (0 = off). */
    emaKimg: z.number().min(0).max(100_000).optional(),
    /** StyleGAN2: EMA half-life ramp-up, at most this fraction of the images seen so far (0 = none). */
    emaRampup: z.number().min(0).max(1).optional(),
    /** StyleGAN2: depth of the mapping network z → w, and its learning-rate multiplier. */
    mappingLayers: z.number().int().min(1).max(16).optional(),
    mappingLrMul: z.number().positive().max(1).optional(),
    /** StyleGAN2: probability of style mixing regularization (two latents, random crossover layer). */
    styleMixingProb: z.number().min(0).max(1).optional(),
    /** StyleGAN2: R1 penalty weight γ (on reals, γ/2·‖∇D(x)‖²). */
    r1Gamma: z.number().min(0).max(1e4).optional(),
    /** StyleGAN2: path-length regularization weight, its running-mean decay and batch shrink. */
    plWeight: z.number().min(0).max(100).optional(),
    plDecay: z.number().min(0).max(1).optional(),
    plBatchShrink: z.number().int().min(1).max(64).optional(),
    /** StyleGAN2: lazy regularization, steps between G (path length) and D (R1) regularization. */
    gRegInterval: z.number().int().min(1).max(1000).optional(),
    dRegInterval: z.number().int().min(1).max(1000).optional(),
    /** StyleGAN2: truncation ψ used for samples and export (1 = none). */
    truncationPsi: z.number().min(0).max(2).optional(),
    /** StyleGAN2: residual discriminator ('resnet'), or the plain one ('orig', the cifar config). */
    dResidual: z.boolean().optional(),
  })
  .strict();

/** Every hyperparameter of a run. A run directory's config.json holds exactly this object. */
export const ResolvedConfig = ResolvedConfigFields.refine((c) => !(c.equalizedLr === false && alwaysEqualizedLr.includes(c.family)), {
  path: ['equalizedLr'],
  message: 'ProGAN and StyleGAN2 always use the equalized learning rate; it cannot be switched off',
});
export type ResolvedConfig = z.infer<typeof ResolvedConfig>;

/**
 * A config as an older version recorded it, with the options added since filled in by what their absence
 * meant (what the engine did for those runs): the equalized learning rate off in the DCGAN networks and on
 * in ProGAN/StyleGAN2, BatchNorm in the DCGAN-style D on. Views then compare and fork a run by what it
 * trained with, not by which version wrote its config.json (the run store reads every config through it).
 */
export function withRecordedMeanings(config: ResolvedConfig): ResolvedConfig {
  const dcganNetworks = !alwaysEqualizedLr.includes(config.family);
  return {
    ...config,
    equalizedLr: config.equalizedLr ?? !dcganNetworks,
    ...(dcganNetworks ? { dBatchNorm: config.dBatchNorm ?? true } : {}),
  };
}

type WithoutDefaults<S extends z.ZodRawShape> = { [K in keyof S]: S[K] extends z.ZodDefault<infer T> ? T : S[K] };

/** The same fields with their `.default()`s removed, so a parse leaves an unset field unset. */
function withoutDefaults<S extends z.ZodRawShape>(shape: S): WithoutDefaults<S> {
  return Object.fromEntries(Object.entries(shape).map(([key, field]) => [key, field instanceof z.ZodDefault ? field.unwrap() : field])) as WithoutDefaults<S>;
}

/**
 * What a user may override; `presetId` and `family` come from the preset. No defaults here: zod 4 fills
 * defaults even into a partial object, and a filled-in `nCritic: 1` or `optimizer: 'adam'` would
 * silently replace what the family and preset say (WGAN's 5 critic steps and RMSProp).
 */
export const TrainingOverrides = z.object(withoutDefaults(ResolvedConfigFields.omit({ presetId: true, family: true }).shape)).partial().strict();
export type TrainingOverrides = z.infer<typeof TrainingOverrides>;

type FamilyDefaults = Omit<ResolvedConfig, 'presetId' | 'family'>;

/** What runs share unless a family says otherwise. */
const common = {
  latentDim: 512,
  leakySlope: 0.2,
  xflip: false,
  seed: 0,
  tickSteps: 10,
  sampleSteps: 50,
  snapshotSteps: 500,
  gridSide: 8,
  onNonFinite: 'rollback',
  optimizer: 'adam',
  nCritic: 1,
  spectralNormD: false,
  spectralNormG: false,
  gradClip: false,
  gradClipG: 0.1,
  gradClipD: 0.05,
} as const satisfies Partial<FamilyDefaults>;

/** The papers' defaults per family; presets state only what differs. */
const familyDefaults: Record<Family, FamilyDefaults> = {
  // Radford et al. 2015: Adam(2e-4, β1 0.5), LeakyReLU 0.2 in D, BatchNorm + ReLU in G, tanh output.
  dcgan: {
    ...common,
    resolution: 64,
    batchSize: 64,
    latentDim: 100,
    channelsAtOutput: 64,
    maxChannels: 512,
    gLearningRate: 2e-4,
    dLearningRate: 2e-4,
    adamBeta1: 0.5,
    adamBeta2: 0.999,
    totalKimg: 5000,
    dBatchNorm: true,
    equalizedLr: false,
  },
  // Arjovsky, Chintala & Bottou 2017: the DCGAN networks, the critic's weights clipped to ±0.01, 5 critic
  // steps per G step, RMSProp with lr 5e-5 (momentum-free: Adam made the clipped critic unstable).
  wgan: {
    ...common,
    resolution: 64,
    batchSize: 64,
    latentDim: 100,
    channelsAtOutput: 64,
    maxChannels: 512,
    gLearningRate: 5e-5,
    dLearningRate: 5e-5,
    adamBeta1: 0.5,
    adamBeta2: 0.999,
    totalKimg: 5000,
    optimizer: 'rmsprop',
    nCritic: 5,
    dBatchNorm: true,
    equalizedLr: false,
    weightClip: 0.01,
  },
  // Gulrajani et al. 2017, Algorithm 1: λ = 10, n_critic = 5, Adam(1e-4, β 0, 0.9); no BatchNorm in the
  // critic (the penalty is per sample).
  'wgan-gp': {
    ...common,
    resolution: 64,
    batchSize: 64,
    latentDim: 128,
    channelsAtOutput: 64,
    maxChannels: 512,
    gLearningRate: 1e-4,
    dLearningRate: 1e-4,
    adamBeta1: 0,
    adamBeta2: 0.9,
    totalKimg: 5000,
    nCritic: 5,
    dBatchNorm: false,
    equalizedLr: false,
    gpLambda: 10,
  },
  // Karras et al. 2018: Adam(1e-3, β 0, 0.99), WGAN-GP (λ 10) + drift 0.001, 600k images per fade-in and
  // per stabilization (official config), minibatch stddev groups of 4, G weights averaged with β 0.999
  // (≈ 11 kimg half-life at batch 16), feature maps min(16384/r, 512), latent 512.
  progan: {
    ...common,
    resolution: 256,
    batchSize: 16,
    channelsAtOutput: 64,
    maxChannels: 512,
    gLearningRate: 1e-3,
    dLearningRate: 1e-3,
    adamBeta1: 0,
    adamBeta2: 0.99,
    totalKimg: 12000,
    gpLambda: 10,
    driftEpsilon: 0.001,
    fadeKimg: 600,
    stableKimg: 600,
    mbstdGroup: 4,
    emaKimg: 11,
    equalizedLr: true,
  },
  // Karras et al. 2020 as configured in stylegan2-ada-pytorch ('stylegan2' config, 1024 px): Adam(0.002,
  // β 0, 0.99) with lazy regularization (R1 γ = 10 every 16 D steps, path length 2 every 4 G steps),
  // mapping 8 × 512 at lr ×0.01, style mixing 0.9, EMA 10 kimg, feature maps min(32768/r, 512).
  stylegan2: {
    ...common,
    resolution: 1024,
    batchSize: 32,
    channelsAtOutput: 32,
    maxChannels: 512,
    gLearningRate: 0.002,
    dLearningRate: 0.002,
    adamBeta1: 0,
    adamBeta2: 0.99,
    totalKimg: 25000,
    mbstdGroup: 4,
    emaKimg: 10,
    emaRampup: 0,
    mappingLayers: 8,
    mappingLrMul: 0.01,
    styleMixingProb: 0.9,
    r1Gamma: 10,
    plWeight: 2,
    plDecay: 0.01,
    plBatchShrink: 2,
    gRegInterval: 4,
    dRegInterval: 16,
    truncationPsi: 1,
    dResidual: true,
    equalizedLr: true,
  },
};

export interface Preset {
  id: string;
  label: string;
  family: Family;
  description: string;
  settings: Partial<FamilyDefaults>;
  /** Values that follow from the resolution (StyleGAN2-ADA's 'auto'); the user's overrides still win. */
  derive?: (resolution: number) => Partial<FamilyDefaults>;
}

/** Quick presets: sized to show learning within minutes on a laptop CPU (wasm), on the 64px emoji set. */
const quick = { resolution: 32, xflip: true, tickSteps: 5, sampleSteps: 25, snapshotSteps: 250 } as const;

/**
 * A stylegan2-ada-pytorch configuration (train.py cfg_specs, one GPU): batch, mbstd group, feature-map
 * base (fmaps·32768 at 1 px, i.e. fmaps·32768/R at the output), learning rate, γ, EMA kimg, ramp-up, depth.
 */
function ada(spec: { mb: number; mbstd: number; fmaps: number; lrate: number; gamma: number; ema: number; ramp: number; map: number; kimg: number }, resolution: number): Partial<FamilyDefaults> {
  return {
    resolution,
    batchSize: spec.mb,
    mbstdGroup: spec.mbstd,
    channelsAtOutput: (spec.fmaps * 32768) / resolution,
    maxChannels: 512,
    gLearningRate: spec.lrate,
    dLearningRate: spec.lrate,
    r1Gamma: spec.gamma,
    emaKimg: spec.ema,
    emaRampup: spec.ramp,
    mappingLayers: spec.map,
    totalKimg: spec.kimg,
  };
}

/** 'auto' (train.py, gpus = 1): batch min(4096/R, 32), mbstd min(batch, 4), fmaps 1 from 512 px else 0.5,
 *  lr 0.002 from 1024 px else 0.0025, γ = 0.0002·R²/batch, EMA batch·10/32 kimg, ramp-up 0.05, map 2. */
export function adaAuto(resolution: number): Partial<FamilyDefaults> {
  const mb = Math.max(Math.min(Math.floor(4096 / resolution), 32), 1);
  return ada(
    { mb, mbstd: Math.min(mb, 4), fmaps: resolution >= 512 ? 1 : 0.5, lrate: resolution >= 1024 ? 0.002 : 0.0025, gamma: (0.0002 * resolution ** 2) / mb, ema: (mb * 10) / 32, ramp: 0.05, map: 2, kimg: 25000 },
    resolution,
  );
}

export const presets: readonly Preset[] = [
  {
    id: 'quick-32',
    label: 'Quick 32px',
    family: 'dcgan',
    description: 'A small DCGAN at 32×32 that shows recognisable shapes within minutes on a laptop CPU.',
    settings: {
      resolution: 32,
      batchSize: 32,
      latentDim: 64,
      channelsAtOutput: 32,
      maxChannels: 128,
      xflip: true,
      totalKimg: 300,
      tickSteps: 5,
      sampleSteps: 25,
      snapshotSteps: 250,
    },
  },
  {
    id: 'dcgan-64',
    label: 'DCGAN 64px',
    family: 'dcgan',
    description: 'The DCGAN paper\'s 64×64 configuration (batch 64, latent 100, 64→512 feature maps). Wants a GPU.',
    settings: {},
  },
  {
    id: 'quick-dcgan',
    label: 'Quick DCGAN',
    family: 'dcgan',
    description: 'DCGAN at 32×32, small enough for a laptop CPU (the same model as Quick 32px).',
    settings: { ...quick, batchSize: 32, latentDim: 64, channelsAtOutput: 32, maxChannels: 128, totalKimg: 300 },
  },
  {
    id: 'quick-dcgan-stable',
    label: 'Quick DCGAN, stabilized',
    family: 'dcgan',
    description: 'Quick DCGAN with spectral normalization in D and per-layer gradient clipping (G 0.1, D 0.05).',
    settings: { ...quick, batchSize: 32, latentDim: 64, channelsAtOutput: 32, maxChannels: 128, totalKimg: 300, spectralNormD: true, gradClip: true },
  },
  {
    id: 'quick-wgan',
    label: 'Quick WGAN',
    family: 'wgan',
    description: 'WGAN with weight clipping at 32×32: 5 critic steps per G step, RMSProp (lr 2e-4 instead of the paper\'s 5e-5, to move within minutes).',
    settings: { ...quick, batchSize: 32, latentDim: 64, channelsAtOutput: 32, maxChannels: 128, totalKimg: 600, gLearningRate: 2e-4, dLearningRate: 2e-4 },
  },
  {
    id: 'wgan-64',
    label: 'WGAN 64px',
    family: 'wgan',
    description: 'The WGAN paper\'s DCGAN setting at 64×64: clip 0.01, n_critic 5, RMSProp 5e-5, batch 64. Wants a GPU.',
    settings: {},
  },
  {
    id: 'quick-wgan-gp',
    label: 'Quick WGAN-GP',
    family: 'wgan-gp',
    description: 'WGAN-GP at 32×32: gradient penalty λ 10 on interpolates, 5 critic steps per G step, Adam(4e-4, 0, 0.9) (the paper\'s 1e-4 ×4, to move within minutes).',
    settings: { ...quick, batchSize: 32, latentDim: 64, channelsAtOutput: 32, maxChannels: 128, totalKimg: 600, gLearningRate: 4e-4, dLearningRate: 4e-4 },
  },
  {
    id: 'wgan-gp-64',
    label: 'WGAN-GP 64px',
    family: 'wgan-gp',
    description: 'The WGAN-GP paper\'s DCGAN-style setting at 64×64 (batch 64, λ 10, n_critic 5). Wants a GPU.',
    settings: {},
  },
  {
    id: 'quick-progan',
    label: 'Quick ProGAN',
    family: 'progan',
    description: 'Progressive growing 4→8→16→32 px with fade-ins (4 kimg per phase), equalized learning rate, pixel norm, minibatch stddev, WGAN-GP + drift; 16→64 feature maps, so each stage shows within minutes on a CPU.',
    settings: { ...quick, batchSize: 16, latentDim: 128, channelsAtOutput: 16, maxChannels: 64, totalKimg: 300, fadeKimg: 4, stableKimg: 4, emaKimg: 1 },
  },
  {
    id: 'progan-256',
    label: 'ProGAN 256px',
    family: 'progan',
    description: 'ProGAN as in the paper\'s official configuration, grown to 256×256 (600 kimg per phase). Wants a GPU.',
    settings: {},
  },
  {
    id: 'quick-stylegan2',
    label: 'Quick StyleGAN2',
    family: 'stylegan2',
    description: 'A small StyleGAN2 at 32×32 (16→64 feature maps): mapping 2 layers, modulated convs, skip G, residual D, R1 + path length with lazy regularization, EMA.',
    settings: {
      ...quick,
      batchSize: 16,
      latentDim: 64,
      channelsAtOutput: 16,
      maxChannels: 64,
      totalKimg: 300,
      mbstdGroup: 4,
      mappingLayers: 2,
      gLearningRate: 0.0025,
      dLearningRate: 0.0025,
      r1Gamma: 0.05,
      emaKimg: 5,
      emaRampup: 0.05,
    },
  },
  {
    id: 'stylegan2-auto',
    label: 'StyleGAN2-ADA auto',
    family: 'stylegan2',
    description: "stylegan2-ada-pytorch's 'auto' config: batch, γ, feature maps, lr and EMA follow from the resolution (one GPU). No ADA augmentation.",
    settings: { resolution: 256 },
    derive: adaAuto,
  },
  {
    id: 'stylegan2',
    label: 'StyleGAN2 (config F)',
    family: 'stylegan2',
    description: "stylegan2-ada-pytorch's 'stylegan2' config: 1024 px, batch 32, γ 10, EMA 10 kimg, map 8. Wants GPUs.",
    settings: ada({ mb: 32, mbstd: 4, fmaps: 1, lrate: 0.002, gamma: 10, ema: 10, ramp: 0, map: 8, kimg: 25000 }, 1024),
  },
  {
    id: 'stylegan2-paper256',
    label: 'StyleGAN2-ADA paper256',
    family: 'stylegan2',
    description: "stylegan2-ada-pytorch's 'paper256' config: batch 64, mbstd 8, half feature maps, lr 0.0025, γ 1, EMA 20 kimg.",
    settings: ada({ mb: 64, mbstd: 8, fmaps: 0.5, lrate: 0.0025, gamma: 1, ema: 20, ramp: 0, map: 8, kimg: 25000 }, 256),
  },
  {
    id: 'stylegan2-paper512',
    label: 'StyleGAN2-ADA paper512',
    family: 'stylegan2',
    description: "stylegan2-ada-pytorch's 'paper512' config: batch 64, mbstd 8, lr 0.0025, γ 0.5, EMA 20 kimg.",
    settings: ada({ mb: 64, mbstd: 8, fmaps: 1, lrate: 0.0025, gamma: 0.5, ema: 20, ramp: 0, map: 8, kimg: 25000 }, 512),
  },
  {
    id: 'stylegan2-paper1024',
    label: 'StyleGAN2-ADA paper1024',
    family: 'stylegan2',
    description: "stylegan2-ada-pytorch's 'paper1024' config: batch 32, mbstd 4, lr 0.002, γ 2, EMA 10 kimg.",
    settings: ada({ mb: 32, mbstd: 4, fmaps: 1, lrate: 0.002, gamma: 2, ema: 10, ramp: 0, map: 8, kimg: 25000 }, 1024),
  },
  {
    id: 'stylegan2-cifar',
    label: 'StyleGAN2-ADA cifar',
    family: 'stylegan2',
    description: "stylegan2-ada-pytorch's 'cifar' config at 32 px: batch 64, mbstd 32, γ 0.01, EMA 500 kimg with ramp-up 0.05, map 2, no path length, no style mixing, plain D.",
    settings: {
      ...ada({ mb: 64, mbstd: 32, fmaps: 1, lrate: 0.0025, gamma: 0.01, ema: 500, ramp: 0.05, map: 2, kimg: 100000 }, 32),
      plWeight: 0,
      styleMixingProb: 0,
      dResidual: false,
    },
  },
];

export const PresetInfo = z.object({
  id: z.string(),
  label: z.string(),
  family: Family,
  description: z.string(),
  config: ResolvedConfig,
});
export type PresetInfo = z.infer<typeof PresetInfo>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function findPreset(id: string): Preset {
  const preset = presets.find((p) => p.id === id);
  if (!preset) {
    throw new ConfigError(`unknown preset "${id}"; known presets: ${presets.map((p) => p.id).join(', ')}`);
  }
  return preset;
}

/**
 * Preset ← family defaults, then the user's overrides on top; validated, so a run never starts with a
 * config it could not have recorded.
 */
export function resolveConfig(presetId: string, overrides: TrainingOverrides = {}): ResolvedConfig {
  const preset = findPreset(presetId);
  const parsedOverrides = TrainingOverrides.safeParse(overrides);
  if (!parsedOverrides.success) {
    const lines = parsedOverrides.error.issues.map((i) => `${i.path.join('.') || 'overrides'}: ${i.message}`);
    throw new ConfigError(`invalid overrides: ${lines.join('; ')}`);
  }
  // Only what the user actually set may override (a key present with the value undefined sets nothing).
  const given = Object.fromEntries(Object.entries(parsedOverrides.data).filter(([, value]) => value !== undefined));
  const resolution = (given.resolution as number | undefined) ?? preset.settings.resolution ?? familyDefaults[preset.family].resolution;
  const merged = {
    ...familyDefaults[preset.family],
    ...preset.settings,
    ...preset.derive?.(resolution),
    ...given,
    presetId: preset.id,
    family: preset.family,
  };
  const resolved = ResolvedConfig.safeParse(merged);
  if (!resolved.success) {
    const lines = resolved.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`preset ${preset.id} does not resolve: ${lines.join('; ')}`);
  }
  return resolved.data;
}

/**
 * A fork's config (training.fork): with the source run's preset, the source's whole config with the
 * overrides on top; with another preset, that preset and the overrides (nothing of the source carries over).
 * The main side resolves forks with it and the fork form previews with it.
 */
export function resolveFork(source: ResolvedConfig, presetId: string | undefined, overrides: TrainingOverrides = {}): ResolvedConfig {
  if (presetId && presetId !== source.presetId) return resolveConfig(presetId, overrides);
  const { presetId: sourcePreset, family: _family, ...inherited } = source;
  return resolveConfig(sourcePreset, { ...inherited, ...overrides });
}

export function listPresets(): PresetInfo[] {
  return presets.map((p) => ({
    id: p.id,
    label: p.label,
    family: p.family,
    description: p.description,
    config: resolveConfig(p.id),
  }));
}
