/**
 * The preset table for every family: quick presets per family, the StyleGAN2-ADA configurations with
 * their 'auto' formulas, family options present exactly where they apply, the walking skeleton's presets
 * unchanged, and configs written before the options existed still parse.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requests } from '../../shared/contract.ts';
import { Family, ResolvedConfig, listPresets, presets, resolveConfig } from '../../shared/presets.ts';

describe('family presets', () => {
  it('quick-32 and dcgan-64 keep every value they had before the families were added', () => {
    const before = {
      'quick-32': { resolution: 32, batchSize: 32, latentDim: 64, channelsAtOutput: 32, maxChannels: 128, gLearningRate: 2e-4, dLearningRate: 2e-4, adamBeta1: 0.5, adamBeta2: 0.999, leakySlope: 0.2, xflip: true, totalKimg: 300, seed: 0, tickSteps: 5, sampleSteps: 25, snapshotSteps: 250, gridSide: 8 },
      'dcgan-64': { resolution: 64, batchSize: 64, latentDim: 100, channelsAtOutput: 64, maxChannels: 512, gLearningRate: 2e-4, dLearningRate: 2e-4, adamBeta1: 0.5, adamBeta2: 0.999, leakySlope: 0.2, xflip: false, totalKimg: 5000, seed: 0, tickSteps: 10, sampleSteps: 50, snapshotSteps: 500, gridSide: 8 },
    };
    for (const [id, values] of Object.entries(before)) {
      const config = resolveConfig(id);
      for (const [key, value] of Object.entries(values)) assert.equal(config[key as keyof ResolvedConfig], value, `${id}.${key}`);
      // The new options are off (the same training as before).
      assert.deepEqual([config.optimizer, config.nCritic, config.spectralNormD, config.spectralNormG, config.gradClip, config.dBatchNorm], ['adam', 1, false, false, false, true], id);
    }
  });

  it('overrides validated at the IPC boundary change only what they set (no schema default replaces a family value)', () => {
    // The path every run takes: the contract parses training.start's params, the handler resolves them.
    for (const preset of presets) {
      const params = requests['training.start'].params.parse({ datasetId: 'noto-emoji', presetId: preset.id, overrides: { totalKimg: 1, seed: 7 } });
      const config = resolveConfig(preset.id, params.overrides);
      assert.deepEqual(config, { ...resolveConfig(preset.id), totalKimg: 1, seed: 7 }, preset.id);
    }
    const wgan = resolveConfig('quick-wgan', requests['training.start'].params.parse({ datasetId: 'x', presetId: 'quick-wgan', overrides: {} }).overrides);
    assert.deepEqual([wgan.optimizer, wgan.nCritic], ['rmsprop', 5], 'WGAN keeps RMSProp and 5 critic steps');
    const fork = requests['training.fork'].params.parse({ runId: 'r', snapshotId: 's', overrides: { batchSize: 8 } });
    assert.deepEqual(fork.overrides, { batchSize: 8 }, 'nothing but what was set');
  });

  it('a config recorded before the options existed still parses, with the defaults that reproduce it', () => {
    const old = { ...resolveConfig('quick-32') } as Record<string, unknown>;
    for (const key of ['optimizer', 'nCritic', 'spectralNormD', 'spectralNormG', 'gradClip', 'gradClipG', 'gradClipD', 'dBatchNorm', 'onNonFinite']) delete old[key];
    const parsed = ResolvedConfig.parse(old);
    assert.deepEqual([parsed.optimizer, parsed.nCritic, parsed.spectralNormD, parsed.gradClip, parsed.dBatchNorm], ['adam', 1, false, false, undefined]);
  });

  it('every family has its quick preset, and family options are present exactly for the families that use them', () => {
    const quick = ['quick-dcgan', 'quick-wgan', 'quick-wgan-gp', 'quick-progan', 'quick-stylegan2'];
    assert.deepEqual(quick.map((id) => resolveConfig(id).family), Family.options);
    const uses: Record<string, Family[]> = {
      dBatchNorm: ['dcgan', 'wgan', 'wgan-gp'],
      weightClip: ['wgan'],
      gpLambda: ['wgan-gp', 'progan'],
      driftEpsilon: ['progan'],
      fadeKimg: ['progan'],
      mbstdGroup: ['progan', 'stylegan2'],
      emaKimg: ['progan', 'stylegan2'],
      r1Gamma: ['stylegan2'],
      mappingLayers: ['stylegan2'],
      gRegInterval: ['stylegan2'],
      truncationPsi: ['stylegan2'],
    };
    for (const preset of listPresets()) {
      assert.ok(ResolvedConfig.safeParse(preset.config).success, preset.id);
      for (const [key, families] of Object.entries(uses)) {
        const present = preset.config[key as keyof ResolvedConfig] !== undefined;
        assert.equal(present, families.includes(preset.family), `${preset.id} (${preset.family}): ${key} ${present ? 'present' : 'absent'}`);
      }
    }
  });

  it("the papers' settings: WGAN clip 0.01 / n_critic 5 / RMSProp; WGAN-GP λ 10, Adam(1e-4, 0, 0.9); ProGAN; StyleGAN2 lazy regularization", () => {
    const wgan = resolveConfig('wgan-64');
    assert.deepEqual([wgan.weightClip, wgan.nCritic, wgan.optimizer, wgan.dLearningRate], [0.01, 5, 'rmsprop', 5e-5]);
    const gp = resolveConfig('wgan-gp-64');
    assert.deepEqual([gp.gpLambda, gp.nCritic, gp.dLearningRate, gp.adamBeta1, gp.adamBeta2, gp.dBatchNorm], [10, 5, 1e-4, 0, 0.9, false]);
    const progan = resolveConfig('progan-256');
    assert.deepEqual([progan.gLearningRate, progan.adamBeta1, progan.adamBeta2, progan.gpLambda, progan.driftEpsilon, progan.fadeKimg, progan.stableKimg], [1e-3, 0, 0.99, 10, 0.001, 600, 600]);
    const sg2 = resolveConfig('stylegan2');
    assert.deepEqual([sg2.resolution, sg2.batchSize, sg2.r1Gamma, sg2.plWeight, sg2.gRegInterval, sg2.dRegInterval, sg2.mappingLayers, sg2.mappingLrMul, sg2.styleMixingProb, sg2.emaKimg], [1024, 32, 10, 2, 4, 16, 8, 0.01, 0.9, 10]);
    const cifar = resolveConfig('stylegan2-cifar');
    assert.deepEqual([cifar.resolution, cifar.batchSize, cifar.mbstdGroup, cifar.r1Gamma, cifar.emaKimg, cifar.emaRampup, cifar.plWeight, cifar.styleMixingProb, cifar.dResidual, cifar.mappingLayers], [32, 64, 32, 0.01, 500, 0.05, 0, 0, false, 2]);
    assert.equal(resolveConfig('stylegan2-paper256').channelsAtOutput * 256, 16384, 'paper256: fmaps 0.5 → channel base 16384');
  });

  it("StyleGAN2-ADA 'auto': batch, mbstd, feature maps, lr, γ and EMA follow the resolution, also when the user changes it", () => {
    // train.py with one GPU: mb = min(4096/res, 32), mbstd = min(mb, 4), fmaps 1 from 512 else 0.5,
    // lr 0.002 from 1024 else 0.0025, γ = 0.0002·res²/mb, ema = mb·10/32.
    const expect = (res: number, mb: number, fmaps: number, lr: number) => ({ batchSize: mb, mbstdGroup: Math.min(mb, 4), channelsAtOutput: (fmaps * 32768) / res, gLearningRate: lr, r1Gamma: (0.0002 * res * res) / mb, emaKimg: (mb * 10) / 32 });
    for (const [res, mb, fmaps, lr] of [
      [64, 32, 0.5, 0.0025],
      [256, 16, 0.5, 0.0025],
      [512, 8, 1, 0.0025],
      [1024, 4, 1, 0.002],
    ] as const) {
      const config = resolveConfig('stylegan2-auto', { resolution: res });
      const want = expect(res, mb, fmaps, lr);
      for (const [key, value] of Object.entries(want)) assert.ok(Math.abs((config[key as keyof ResolvedConfig] as number) - value) < 1e-12, `auto at ${res}: ${key} = ${config[key as keyof ResolvedConfig]}, expected ${value}`);
      assert.deepEqual([config.mappingLayers, config.emaRampup, config.dLearningRate], [2, 0.05, lr]);
    }
    // The user's own values win over the formulas (γ keeps the formula's batch, as train.py does).
    const custom = resolveConfig('stylegan2-auto', { resolution: 256, batchSize: 8, r1Gamma: 5 });
    assert.deepEqual([custom.batchSize, custom.r1Gamma, custom.emaKimg], [8, 5, 5]);
  });

  it('equalized learning rate: an option of the DCGAN networks (off by default), always on for ProGAN and StyleGAN2', () => {
    for (const preset of listPresets()) {
      const always = preset.family === 'progan' || preset.family === 'stylegan2';
      assert.equal(preset.config.equalizedLr, always, `${preset.id} (${preset.family})`);
    }
    for (const id of ['quick-dcgan', 'quick-wgan', 'quick-wgan-gp']) assert.equal(resolveConfig(id, { equalizedLr: true }).equalizedLr, true, id);
    assert.equal(resolveConfig('quick-progan', { equalizedLr: true }).equalizedLr, true);
    for (const id of ['quick-progan', 'quick-stylegan2']) assert.throws(() => resolveConfig(id, { equalizedLr: false }), /equalizedLr: .*always use the equalized learning rate/, id);
    // A config.json that says otherwise does not parse either.
    assert.equal(ResolvedConfig.safeParse({ ...resolveConfig('quick-progan'), equalizedLr: false }).success, false);
    // Configs recorded before the option existed: absent (DCGAN networks: off; ProGAN, StyleGAN2: on).
    for (const id of ['quick-32', 'quick-progan']) {
      const old = { ...resolveConfig(id) } as Record<string, unknown>;
      delete old.equalizedLr;
      assert.equal(ResolvedConfig.parse(old).equalizedLr, undefined, id);
    }
  });

  it("overrides change only what the user set: defaulted fields do not reset a preset's values", () => {
    assert.equal(resolveConfig('quick-wgan', { seed: 3 }).optimizer, 'rmsprop');
    assert.equal(resolveConfig('quick-wgan', {}).nCritic, 5);
    const stable = resolveConfig('quick-dcgan-stable', { batchSize: 16 });
    assert.deepEqual([stable.spectralNormD, stable.gradClip, stable.gradClipG, stable.gradClipD], [true, true, 0.1, 0.05]);
    assert.equal(resolveConfig('quick-dcgan', { gradClip: true }).gradClip, true);
  });

  it('every preset id is unique and has a label and description', () => {
    assert.equal(new Set(presets.map((p) => p.id)).size, presets.length);
    for (const p of presets) assert.ok(p.label && p.description, p.id);
  });
});
