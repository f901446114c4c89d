/**
 * The editable hyperparameters of a new run (Train view): which control each value gets, in which group
 * it is shown, and the pure step from what the user typed to the `overrides` sent with `training.start`,
 * the config the run will record, and an error per invalid field.
 *
 * The controls come from the zod schema of shared/presets.ts (booleans → toggles, enums → selects,
 * numbers → number fields, integer or not), so a new option needs no change here besides its group.
 * Only values that differ from what the preset resolves to are sent: the main side resolves them with the
 * preset exactly as `resolveConfig` does, so the preview and config.json agree.
 *
 * A fork (Runs view) uses the same editor: `forkBase` says what its values start from and are compared
 * with, as `training.fork` resolves them.
 */
import { z } from 'zod';
import { alwaysEqualizedLr, ResolvedConfig, resolveConfig, resolveFork, TrainingOverrides, type Family } from '../../../shared/presets.ts';

export type ConfigKey = keyof ResolvedConfig;
/** Every key the user may override (all but presetId and family). */
export type OverrideKey = keyof TrainingOverrides;

/** What the user typed or chose: text for numbers (so "0." or "2e-" can be typed), values otherwise. */
export type EditValue = string | boolean;
export type Edits = Partial<Record<OverrideKey, EditValue>>;

export type Control =
  | { kind: 'toggle' }
  | { kind: 'select'; options: readonly string[] }
  | { kind: 'number'; integer: boolean }
  /** Set by the preset, or fixed by the family (equalizedLr for ProGAN and StyleGAN2). */
  | { kind: 'locked'; reason: string };

export interface OptionGroup {
  id: string;
  title: string;
  keys: readonly ConfigKey[];
}

/**
 * Every ResolvedConfig key exactly once, the commonly wanted ones first: stabilization (the seed recipe's
 * clipping and spectral norm), the optimizer, the run's length, batch and seed.
 */
export const optionGroups: readonly OptionGroup[] = [
  { id: 'stabilization', title: 'Stabilization', keys: ['gradClip', 'gradClipG', 'gradClipD', 'spectralNormD', 'spectralNormG', 'equalizedLr'] },
  { id: 'optimizer', title: 'Optimizer', keys: ['optimizer', 'gLearningRate', 'dLearningRate', 'adamBeta1', 'adamBeta2', 'nCritic'] },
  { id: 'run', title: 'Run', keys: ['batchSize', 'seed', 'totalKimg', 'xflip'] },
  {
    id: 'model',
    title: 'Model',
    keys: ['presetId', 'family', 'resolution', 'latentDim', 'channelsAtOutput', 'maxChannels', 'leakySlope', 'dBatchNorm', 'dResidual', 'mbstdGroup', 'mappingLayers', 'mappingLrMul'],
  },
  {
    id: 'regularization',
    title: 'Losses and regularization',
    keys: ['weightClip', 'gpLambda', 'driftEpsilon', 'r1Gamma', 'plWeight', 'plDecay', 'plBatchShrink', 'gRegInterval', 'dRegInterval', 'styleMixingProb'],
  },
  { id: 'schedule', title: 'Growth, averaging, sampling', keys: ['fadeKimg', 'stableKimg', 'emaKimg', 'emaRampup', 'truncationPsi'] },
  { id: 'logging', title: 'Logging and safety', keys: ['tickSteps', 'sampleSteps', 'snapshotSteps', 'gridSide', 'onNonFinite'] },
];

const overrideShape: Record<string, z.ZodType> = TrainingOverrides.shape;

export function isOverrideKey(key: string): key is OverrideKey {
  return Object.hasOwn(overrideShape, key);
}

/** The field inside `.optional()` / `.default()` wrappers. */
function innerSchema(key: OverrideKey): z.ZodType {
  let schema = overrideShape[key];
  while (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault) schema = schema.unwrap() as z.ZodType;
  if (!schema) throw new Error(`no schema for ${key}`);
  return schema;
}

/** The control a key gets for a given family. */
export function controlFor(key: ConfigKey, family: Family): Control {
  if (!isOverrideKey(key)) return { kind: 'locked', reason: 'Set by the preset; choose another preset to change it.' };
  if (key === 'equalizedLr' && alwaysEqualizedLr.includes(family)) {
    return { kind: 'locked', reason: 'ProGAN and StyleGAN2 always use the equalized learning rate.' };
  }
  const schema = innerSchema(key);
  if (schema instanceof z.ZodBoolean) return { kind: 'toggle' };
  if (schema instanceof z.ZodEnum) return { kind: 'select', options: schema.options.map(String) };
  if (schema instanceof z.ZodNumber) return { kind: 'number', integer: schema.isInt };
  throw new Error(`no control for ${key}`);
}

/** When a value has no effect under the current config (it is kept, and still sent if changed). */
export function inactiveReason(key: ConfigKey, config: ResolvedConfig): string | null {
  if ((key === 'gradClipG' || key === 'gradClipD') && !config.gradClip) return 'used when gradient clipping is on';
  if ((key === 'adamBeta1' || key === 'adamBeta2') && config.optimizer !== 'adam') return 'Adam only';
  return null;
}

/** A value as it stands in a number field: exact, so an untouched field round-trips to the same number. */
export function numberText(value: number): string {
  return String(value);
}

/** A zod issue in words a form shows under a field. */
function issueText(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
      return issue.inclusive ? `at least ${String(issue.minimum)}` : `must be above ${String(issue.minimum)}`;
    case 'too_big':
      return issue.inclusive ? `at most ${String(issue.maximum)}` : `must be below ${String(issue.maximum)}`;
    case 'invalid_type':
      return issue.expected === 'int' ? 'a whole number' : issue.message;
    default:
      return issue.message;
  }
}

type Parsed = { ok: true; value: number | boolean | string } | { ok: false; error: string };

function parseEdit(key: OverrideKey, edit: EditValue, family: Family): Parsed {
  const control = controlFor(key, family);
  if (control.kind === 'number') {
    const text = String(edit).trim();
    if (text === '') return { ok: false, error: 'enter a number' };
    const n = Number(text);
    if (!Number.isFinite(n)) return { ok: false, error: 'not a number' };
    return { ok: true, value: n };
  }
  return { ok: true, value: edit };
}

export interface OptionsState {
  /** The config the run would record (invalid fields keep the preset's value here). */
  config: ResolvedConfig;
  /** The preset's resolved config with the dataset's defaults, before the user's changes. */
  base: ResolvedConfig;
  /**
   * What each key is compared with, and goes back to on reset: `base`, except for values the preset
   * derives from a changed resolution.
   */
  reference: ResolvedConfig;
  /** Exactly the keys whose value differs from what the preset resolves to; what `training.start` gets. */
  overrides: TrainingOverrides;
  /** One message per invalid field. */
  errors: Partial<Record<ConfigKey, string>>;
  /** Values the preset derives from an overridden resolution (StyleGAN2-ADA auto), not set by the user. */
  derived: ConfigKey[];
}

export interface EvaluateInput {
  /** The preset's resolved config (`presets.list`). */
  preset: ResolvedConfig;
  /** Defaults the main side puts between the preset and the overrides (a curated dataset's x-flip). */
  defaults?: TrainingOverrides;
  edits: Edits;
  /**
   * The preset resolved with some overrides, as the main side does (`resolveConfig`); used when the
   * resolution changes, because a preset may derive other values from it. Throws or returns null when it
   * cannot; without it the preset's values are kept.
   */
  resolve?: (overrides: TrainingOverrides) => ResolvedConfig | null;
}

/** From the user's edits to the overrides to send, the config to preview and the errors to show. */
export function evaluateOptions({ preset, defaults = {}, edits, resolve }: EvaluateInput): OptionsState {
  const family = preset.family;
  const base: ResolvedConfig = { ...preset, ...defined(defaults) };
  const errors: Partial<Record<ConfigKey, string>> = {};
  const values: Partial<Record<OverrideKey, number | boolean | string>> = {};
  for (const [key, edit] of Object.entries(edits)) {
    if (!isOverrideKey(key) || edit === undefined) continue;
    if (controlFor(key, family).kind === 'locked') continue;
    const parsed = parseEdit(key, edit, family);
    if (parsed.ok) values[key] = parsed.value;
    else errors[key] = parsed.error;
  }

  // A changed resolution can change what the preset derives; compare the other values with those.
  let derivedBase = base;
  const resolution = values.resolution;
  if (resolve && typeof resolution === 'number' && resolution !== base.resolution) {
    try {
      derivedBase = resolve({ ...defined(defaults), resolution }) ?? base;
    } catch {
      derivedBase = base; // an invalid resolution: its error comes from the schema below
    }
  }

  const overrides: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const reference = key === 'resolution' ? base.resolution : derivedBase[key as ConfigKey];
    if (value !== reference) overrides[key] = value;
  }

  const candidate = { ...derivedBase, ...overrides };
  const checked = ResolvedConfig.safeParse(candidate);
  if (!checked.success) {
    for (const issue of checked.error.issues) {
      const key = issue.path[0];
      if (typeof key === 'string' && key in candidate && errors[key as ConfigKey] === undefined) errors[key as ConfigKey] = issueText(issue);
    }
  }

  // Invalid values do not reach the preview or the overrides; their fields show the error instead.
  const validOverrides = Object.fromEntries(Object.entries(overrides).filter(([key]) => errors[key as ConfigKey] === undefined)) as TrainingOverrides;
  const config = { ...derivedBase, ...validOverrides } as ResolvedConfig;
  const derived = (Object.keys(derivedBase) as ConfigKey[]).filter((key) => !(key in overrides) && derivedBase[key] !== base[key]);
  const reference: ResolvedConfig = { ...derivedBase, resolution: base.resolution };
  return { config, base, reference, overrides: validOverrides, errors, derived };
}

function defined(o: TrainingOverrides): TrainingOverrides {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as TrainingOverrides;
}

/** The value an edit field shows: the user's text or choice, else the config's value. */
export function shownValue(key: ConfigKey, edits: Edits, config: ResolvedConfig): EditValue | undefined {
  const edit = isOverrideKey(key) ? edits[key] : undefined;
  if (edit !== undefined) return edit;
  const value = config[key];
  return typeof value === 'number' ? numberText(value) : value;
}

/** A preset as `presets.list` gives it: its id and what it resolves to. */
export interface PresetConfig {
  id: string;
  config: ResolvedConfig;
}

/** What the values of a fork start from, what they are compared with, and how the main side resolves them. */
export interface ForkBase {
  /** The config the fork records when nothing is changed; `evaluateOptions`' `preset`. */
  preset: ResolvedConfig;
  /** The main side's resolution of the fork's overrides; `evaluateOptions`' `resolve`. */
  resolve: (overrides: TrainingOverrides) => ResolvedConfig;
  /** What a changed value is compared with, in words: the source run, or the newly chosen preset. */
  source: 'source run' | 'preset';
}

/**
 * What `training.fork` resolves a fork's overrides against (main/handlers/training.ts), so that "changed"
 * in the form means what the main side does: with the source run's preset, the source run's whole config
 * (every value but presetId and family given as an override, the changes on top); with another preset,
 * that preset as it resolves alone (no dataset defaults, nothing of the source run). Null while the
 * source run's config loads (and no other preset is chosen).
 */
export function forkBase(source: ResolvedConfig | null, otherPreset: PresetConfig | null = null): ForkBase | null {
  if (otherPreset && otherPreset.id !== source?.presetId) {
    const presetId = otherPreset.id;
    return { preset: otherPreset.config, resolve: (overrides) => resolveConfig(presetId, overrides), source: 'preset' };
  }
  if (!source) return null; // the source run's config is still loading
  // The main side's own formula (shared/presets.ts), so the preview is what the fork will train.
  const resolve = (overrides: TrainingOverrides): ResolvedConfig => resolveFork(source, undefined, overrides);
  let preset: ResolvedConfig;
  try {
    preset = resolve({});
  } catch {
    preset = source; // a preset this build no longer knows: the main side refuses the fork and says why
  }
  return { preset, resolve, source: 'source run' };
}
