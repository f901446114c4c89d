import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, ResolvedConfig, listPresets, presets, resolveConfig } from '../../shared/presets.ts';

describe('presets', () => {
  it('every preset resolves to a complete, valid config that names its preset and family', () => {
    for (const preset of presets) {
      const config = resolveConfig(preset.id);
      assert.equal(config.presetId, preset.id);
      assert.equal(config.family, preset.family);
      assert.ok(ResolvedConfig.safeParse(config).success, preset.id);
    }
  });

  it('quick-32 is the Quick 32px DCGAN the walking skeleton promises', () => {
    const quick = listPresets().find((p) => p.id === 'quick-32');
    assert.ok(quick);
    assert.equal(quick.label, 'Quick 32px');
    assert.equal(quick.config.family, 'dcgan');
    assert.equal(quick.config.resolution, 32);
  });

  it('preset settings override family defaults, and overrides override both', () => {
    const base = resolveConfig('dcgan-64');
    const quick = resolveConfig('quick-32');
    assert.equal(base.resolution, 64);
    assert.equal(quick.resolution, 32);
    assert.equal(quick.adamBeta1, base.adamBeta1, 'unset preset values come from the family defaults');
    const custom = resolveConfig('quick-32', { totalKimg: 2, seed: 7, batchSize: 8 });
    assert.deepEqual([custom.totalKimg, custom.seed, custom.batchSize], [2, 7, 8]);
    assert.equal(custom.resolution, 32);
  });

  it('rejects unknown presets and invalid overrides with messages naming the problem', () => {
    assert.throws(() => resolveConfig('nope'), (e: unknown) => e instanceof ConfigError && /unknown preset "nope".*quick-32/.test(e.message));
    assert.throws(() => resolveConfig('quick-32', { resolution: 48 }), (e: unknown) => e instanceof ConfigError && /resolution.*power of two/.test(e.message));
    assert.throws(() => resolveConfig('quick-32', { batchSize: 0 }), (e: unknown) => e instanceof ConfigError && /batchSize/.test(e.message));
    assert.throws(
      () => resolveConfig('quick-32', { family: 'wgan' } as unknown as Parameters<typeof resolveConfig>[1]),
      (e: unknown) => e instanceof ConfigError && /family|unrecognized/i.test(e.message),
    );
  });
});
