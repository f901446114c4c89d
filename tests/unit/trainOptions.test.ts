/**
 * The pure part of the Train view's hyperparameter editor (renderer/src/lib/trainOptions.ts): a control for
 * every key from the schema, every key in exactly one group, and the step from the user's edits to the
 * overrides sent with `training.start` — only what differs from the preset, resolved by the main side to
 * exactly the config the view previews. And the same for a fork (Runs view): `forkBase` compares with
 * what `training.fork` resolves the overrides against.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hyperparams } from '../../renderer/src/lib/hyperparams.ts';
import { controlFor, evaluateOptions, forkBase, optionGroups, shownValue, type ConfigKey, type Edits, type PresetConfig } from '../../renderer/src/lib/trainOptions.ts';
import { presets, resolveConfig, type ResolvedConfig, type TrainingOverrides } from '../../shared/presets.ts';

const evaluate = (presetId: string, edits: Edits, defaults: TrainingOverrides = {}) =>
  evaluateOptions({ preset: resolveConfig(presetId), defaults, edits, resolve: (o) => resolveConfig(presetId, o) });

/** What the main side records for these overrides (training.start: dataset defaults, then overrides). */
const recorded = (presetId: string, overrides: TrainingOverrides, defaults: TrainingOverrides = {}) => resolveConfig(presetId, { ...defaults, ...overrides });

describe('train options', () => {
  it('puts every resolved hyperparameter in exactly one group, each with a label', () => {
    const grouped = optionGroups.flatMap((g) => g.keys);
    assert.equal(new Set(grouped).size, grouped.length, 'no key twice');
    assert.deepEqual([...grouped].sort(), Object.keys(hyperparams).sort());
    assert.deepEqual(
      optionGroups.slice(0, 3).map((g) => g.id),
      ['stabilization', 'optimizer', 'run'],
      'the commonly wanted options come first',
    );
    // Every key any preset resolves is shown somewhere.
    for (const preset of presets) for (const key of Object.keys(resolveConfig(preset.id))) assert.ok(grouped.includes(key as ConfigKey), key);
  });

  it('gives each key the control its schema calls for', () => {
    for (const key of ['gradClip', 'spectralNormD', 'spectralNormG', 'equalizedLr', 'xflip', 'dBatchNorm', 'dResidual'] as const) {
      assert.deepEqual(controlFor(key, 'dcgan'), { kind: 'toggle' }, key);
    }
    assert.deepEqual(controlFor('optimizer', 'dcgan'), { kind: 'select', options: ['adam', 'rmsprop'] });
    assert.deepEqual(controlFor('onNonFinite', 'wgan'), { kind: 'select', options: ['rollback', 'stop'] });
    for (const key of ['gLearningRate', 'dLearningRate', 'adamBeta1', 'adamBeta2', 'gradClipG', 'gradClipD', 'totalKimg', 'r1Gamma'] as const) {
      assert.deepEqual(controlFor(key, 'stylegan2'), { kind: 'number', integer: false }, key);
    }
    for (const key of ['batchSize', 'seed', 'nCritic', 'resolution', 'mbstdGroup'] as const) {
      assert.deepEqual(controlFor(key, 'progan'), { kind: 'number', integer: true }, key);
    }
    assert.equal(controlFor('presetId', 'dcgan').kind, 'locked');
    assert.equal(controlFor('family', 'dcgan').kind, 'locked');
    // The schema refuses equalizedLr: false for these families, so it is not offered.
    assert.equal(controlFor('equalizedLr', 'progan').kind, 'locked');
    assert.equal(controlFor('equalizedLr', 'stylegan2').kind, 'locked');
    assert.equal(controlFor('equalizedLr', 'wgan-gp').kind, 'toggle');
  });

  it('sends nothing when nothing changed, also when a field was retyped with the same value', () => {
    const preset = resolveConfig('quick-dcgan');
    const untouched = evaluate('quick-dcgan', {});
    assert.deepEqual(untouched.overrides, {});
    assert.deepEqual(untouched.config, preset);
    assert.deepEqual(untouched.errors, {});
    const retyped = evaluate('quick-dcgan', { gLearningRate: '2e-4', gradClipG: ' 0.1 ', batchSize: '32', gradClip: false, optimizer: 'adam' });
    assert.deepEqual(retyped.overrides, {});
    assert.deepEqual(retyped.config, preset);
    // An untouched number field shows the exact value, so it round-trips.
    assert.equal(shownValue('gLearningRate', {}, preset), '0.0002');
    assert.equal(shownValue('gradClip', {}, preset), false);
    assert.equal(shownValue('gradClipG', { gradClipG: '0.2' }, preset), '0.2');
  });

  it('sends exactly the changed keys, and the main side records what the view previews', () => {
    const state = evaluate('quick-dcgan', { gradClip: true, gradClipG: '0.2', spectralNormD: true, optimizer: 'rmsprop', gradClipD: '0.05' });
    assert.deepEqual(state.overrides, { gradClip: true, gradClipG: 0.2, spectralNormD: true, optimizer: 'rmsprop' });
    assert.deepEqual(state.config, { ...resolveConfig('quick-dcgan'), gradClip: true, gradClipG: 0.2, spectralNormD: true, optimizer: 'rmsprop' });
    assert.deepEqual(recorded('quick-dcgan', state.overrides), state.config);
  });

  it('keeps what a family says unless the user changes it (WGAN: RMSProp, 5 critic steps)', () => {
    const wgan = resolveConfig('quick-wgan');
    const state = evaluate('quick-wgan', { seed: '7' });
    assert.deepEqual(state.overrides, { seed: 7 });
    assert.equal(state.config.optimizer, 'rmsprop');
    assert.equal(state.config.nCritic, 5);
    const adam = evaluate('quick-wgan', { optimizer: 'adam', nCritic: '2' });
    assert.deepEqual(adam.overrides, { optimizer: 'adam', nCritic: 2 });
    assert.deepEqual(recorded('quick-wgan', adam.overrides), { ...wgan, optimizer: 'adam', nCritic: 2 });
  });

  it('reports invalid values per field, in words, and leaves them out of the overrides', () => {
    const state = evaluate('quick-dcgan', {
      gLearningRate: '-0.001',
      dLearningRate: 'abc',
      gradClipG: '',
      batchSize: '2.5',
      resolution: '48',
      seed: String(2 ** 31),
      spectralNormD: true,
    });
    assert.deepEqual(state.errors, {
      gLearningRate: 'must be above 0',
      dLearningRate: 'not a number',
      gradClipG: 'enter a number',
      batchSize: 'a whole number',
      resolution: 'a power of two from 8 to 1024',
      seed: `at most ${2 ** 31 - 1}`,
    });
    assert.deepEqual(state.overrides, { spectralNormD: true }, 'only the valid change');
    assert.equal(state.config.gLearningRate, resolveConfig('quick-dcgan').gLearningRate, 'the preview keeps the preset value');
    assert.equal(evaluate('quick-dcgan', { adamBeta1: '1' }).errors.adamBeta1, 'at most 0.9999');
  });

  it('ignores a change to a locked value (equalizedLr for ProGAN)', () => {
    const state = evaluate('quick-progan', { equalizedLr: false });
    assert.deepEqual(state.overrides, {});
    assert.deepEqual(state.errors, {});
    assert.equal(state.config.equalizedLr, true);
  });

  it("compares with the dataset's x-flip, which the main side puts before the overrides", () => {
    const defaults = { xflip: false };
    const untouched = evaluate('quick-dcgan', {}, defaults);
    assert.equal(untouched.config.xflip, false);
    assert.deepEqual(untouched.overrides, {});
    assert.deepEqual(recorded('quick-dcgan', untouched.overrides, defaults), untouched.config);
    // Back to the preset's value: that must be sent, or the dataset's choice would win.
    const flipped = evaluate('quick-dcgan', { xflip: true }, defaults);
    assert.deepEqual(flipped.overrides, { xflip: true });
    assert.deepEqual(recorded('quick-dcgan', flipped.overrides, defaults), flipped.config);
  });

  it('follows what a preset derives from a changed resolution (StyleGAN2-ADA auto)', () => {
    const auto = resolveConfig('stylegan2-auto');
    assert.equal(auto.batchSize, 16);
    const state = evaluate('stylegan2-auto', { resolution: '128' });
    assert.deepEqual(state.overrides, { resolution: 128 });
    assert.equal(state.config.batchSize, 32, 'derived at 128 px');
    assert.ok(state.derived.includes('batchSize'));
    assert.ok(!state.derived.includes('resolution'));
    assert.equal(state.reference.batchSize, 32);
    assert.equal(state.reference.resolution, 256);
    assert.deepEqual(recorded('stylegan2-auto', state.overrides), state.config);
    // The preset's own batch at 256 px differs from the one derived at 128 px: it must be sent.
    const batch = evaluate('stylegan2-auto', { resolution: '128', batchSize: '16' });
    assert.deepEqual(batch.overrides, { resolution: 128, batchSize: 16 });
    assert.deepEqual(recorded('stylegan2-auto', batch.overrides), batch.config);
    assert.equal(batch.config.batchSize, 16);
  });
});

/** What `training.fork` records (main/handlers/training.ts): the source's config, or another preset's, with the overrides on top. */
function forked(source: ResolvedConfig, presetId: string | undefined, overrides: TrainingOverrides): ResolvedConfig {
  const { presetId: sourcePreset, family: _family, ...inherited } = source;
  return presetId && presetId !== sourcePreset ? resolveConfig(presetId, overrides) : resolveConfig(sourcePreset, { ...inherited, ...overrides });
}

const evaluateFork = (source: ResolvedConfig | null, edits: Edits, other: PresetConfig | null = null) => {
  const base = forkBase(source, other);
  assert.ok(base);
  return evaluateOptions({ preset: base.preset, edits, resolve: base.resolve });
};

describe('fork options', () => {
  // A source run whose values differ from its preset's: set by the user, and derived from the resolution.
  const source = resolveConfig('stylegan2-auto', { resolution: 64, seed: 3, totalKimg: 0.5, batchSize: 8 });

  it("starts from the source run's config and sends only what differs from it", () => {
    const base = forkBase(source);
    assert.ok(base);
    assert.equal(base.source, 'source run');
    assert.deepEqual(base.preset, source);

    assert.deepEqual(evaluateFork(source, {}).overrides, {});
    // The source's own values are no change, even where they differ from the preset.
    assert.deepEqual(evaluateFork(source, { seed: '3', batchSize: '8', resolution: '64' }).overrides, {});

    const state = evaluateFork(source, { gradClip: true, seed: '7' });
    assert.deepEqual(state.overrides, { gradClip: true, seed: 7 });
    assert.deepEqual(state.config, { ...source, gradClip: true, seed: 7 });
    assert.deepEqual(state.config, forked(source, undefined, state.overrides), 'the main side records the previewed config');
    assert.deepEqual(state.errors, {});
  });

  it("a value back at the preset's is a change from the source run", () => {
    const preset = resolveConfig('stylegan2-auto', { resolution: 64 });
    const state = evaluateFork(source, { batchSize: String(preset.batchSize) });
    assert.deepEqual(state.overrides, { batchSize: preset.batchSize });
    assert.deepEqual(state.config, forked(source, undefined, state.overrides));
  });

  it('keeps the source values a changed resolution would derive, as the main side does', () => {
    const state = evaluateFork(source, { resolution: '128' });
    assert.deepEqual(state.overrides, { resolution: 128 });
    assert.deepEqual(state.derived, []);
    assert.deepEqual(state.config, { ...source, resolution: 128 });
    assert.deepEqual(state.config, forked(source, undefined, state.overrides));
  });

  it('compares with what the main side fills into an older config (a value it lacks)', () => {
    const { equalizedLr: _equalizedLr, ...older } = resolveConfig('quick-dcgan', { seed: 2 });
    const base = forkBase(older as ResolvedConfig);
    assert.ok(base);
    assert.equal(base.preset.equalizedLr, false);
    assert.deepEqual(base.preset, forked(older as ResolvedConfig, undefined, {}));
    assert.deepEqual(evaluateFork(older as ResolvedConfig, { equalizedLr: false }).overrides, {});
  });

  it("with another preset, compares with that preset's config, not the source run's", () => {
    const other: PresetConfig = { id: 'quick-dcgan', config: resolveConfig('quick-dcgan') };
    const base = forkBase(source, other);
    assert.ok(base);
    assert.equal(base.source, 'preset');
    assert.deepEqual(base.preset, other.config);

    // The source's seed (3) differs from the preset's (0): sent.
    const state = evaluateFork(source, { seed: '3', gradClip: true }, other);
    assert.deepEqual(state.overrides, { seed: 3, gradClip: true });
    assert.deepEqual(state.config, forked(source, 'quick-dcgan', state.overrides));
    assert.deepEqual(evaluateFork(source, { seed: '0' }, other).overrides, {});
  });

  it("waits for the source run's config unless another preset is chosen", () => {
    assert.equal(forkBase(null), null);
    assert.equal(forkBase(null, { id: 'quick-dcgan', config: resolveConfig('quick-dcgan') })?.source, 'preset');
  });

  it('shows invalid values at their field and sends none of them', () => {
    const state = evaluateFork(source, { seed: '-1', gradClipG: '0.3' });
    assert.deepEqual(state.overrides, { gradClipG: 0.3 });
    assert.ok(state.errors.seed);
  });
});
