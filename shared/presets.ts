/**
 * Training presets: the one table of named configurations, and the resolver that turns a preset plus a
 * user's overrides into the fully resolved config a run records. The CLI, the engine and the UI all read
 * presets from here, so "what quick-32 means" has exactly one answer.
 */
import { z } from 'zod';

export const Family = z.enum(['dcgan']);
export type Family = z.infer<typeof Family>;

const powerOfTwo = (min: number, max: number) =>
  z
    .number()
    .int()
    .refine((r) => r >= min && r <= max && (r & (r - 1)) === 0, `a power of two from ${min} to ${max}`);

/** Every hyperparameter of a run. A run directory's config.json holds exactly this object. */
export const ResolvedConfig = z
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
  })
  .strict();
export type ResolvedConfig = z.infer<typeof ResolvedConfig>;

/** What a user may override; `presetId` and `family` come from the preset. */
export const TrainingOverrides = ResolvedConfig.omit({ presetId: true, family: true }).partial().strict();
export type TrainingOverrides = z.infer<typeof TrainingOverrides>;

type FamilyDefaults = Omit<ResolvedConfig, 'presetId' | 'family'>;

/** The papers' defaults per family; presets state only what differs. */
const familyDefaults: Record<Family, FamilyDefaults> = {
  // Radford et al. 2015: Adam(2e-4, β1 0.5), LeakyReLU 0.2 in D, BatchNorm + ReLU in G, tanh output.
  dcgan: {
    resolution: 64,
    batchSize: 64,
    latentDim: 100,
    channelsAtOutput: 64,
    maxChannels: 512,
    gLearningRate: 2e-4,
    dLearningRate: 2e-4,
    adamBeta1: 0.5,
    adamBeta2: 0.999,
    leakySlope: 0.2,
    xflip: false,
    totalKimg: 5000,
    seed: 0,
    tickSteps: 10,
    sampleSteps: 50,
    snapshotSteps: 500,
    gridSide: 8,
    onNonFinite: 'rollback',
  },
};

export interface Preset {
  id: string;
  label: string;
  family: Family;
  description: string;
  settings: Partial<FamilyDefaults>;
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
  const merged = {
    ...familyDefaults[preset.family],
    ...preset.settings,
    ...parsedOverrides.data,
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

export function listPresets(): PresetInfo[] {
  return presets.map((p) => ({
    id: p.id,
    label: p.label,
    family: p.family,
    description: p.description,
    config: resolveConfig(p.id),
  }));
}
