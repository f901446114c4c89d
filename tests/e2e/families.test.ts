/// <reference lib="dom" />
/**
 * Every family trains from the studio (serve + Chromium): for each quick preset, pick it in the Train
 * view, start a run of a few steps, and see it run and finish with a sample grid, a loss chart and the
 * family's config on disk; ProGAN shows its growth stage. Steps are few (samples every 2 steps) so the
 * five runs take about a minute on the wasm backend.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { resolveConfig, type Family } from '../../shared/presets.ts';
import { studioSession } from './helpers.ts';

/** Poll `probe` until it returns a value (file reads may fail while a file is being replaced). */
async function until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = probe();
      if (value !== undefined) return value;
    } catch {
      // not there yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const quickPresets: Array<[string, Family]> = [
  ['quick-dcgan', 'dcgan'],
  ['quick-wgan', 'wgan'],
  ['quick-wgan-gp', 'wgan-gp'],
  ['quick-progan', 'progan'],
  ['quick-stylegan2', 'stylegan2'],
];

describe('every family trains from the studio (serve + Chromium)', { timeout: 900_000 }, () => {
  const session = studioSession();

  before(async () => {
    const { page, studio } = session;
    await page.goto(studio.url);
    await page.getByTestId('nav-train').click();
    await page.locator('[data-testid="train-dataset"] option[value="noto-emoji"]').waitFor({ state: 'attached', timeout: 120_000 });
    await page.getByTestId('train-dataset').selectOption('noto-emoji');
  });

  for (const [presetId, family] of quickPresets) {
    it(`${presetId} (${family}) runs, shows samples and losses, and finishes`, async () => {
      const { page, studio } = session;
      const preset = resolveConfig(presetId);
      const steps = 6;
      const kimg = (steps * preset.batchSize) / 1000;
      const before = new Set(session.runDirs());
      await page.getByTestId('train-preset').selectOption(presetId);
      await page.getByTestId('hp-sampleSteps').fill('2');
      await page.getByTestId('hp-tickSteps').fill('1');
      await page.getByTestId('train-kimg').fill(String(kimg));
      await page.getByTestId('train-start').click();

      // The view still shows the previous run until the new one starts: follow the new run directory.
      const created = await until(() => {
        const fresh = session.runDirs().filter((d) => !before.has(d));
        return fresh.length === 1 && existsSync(path.join(studio.library, 'runs', fresh[0] as string, 'config.json')) ? fresh[0] : undefined;
      }, 180_000, 'a new run directory');
      const runDir = path.join(studio.library, 'runs', created);
      const config = JSON.parse(readFileSync(path.join(runDir, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(config, { ...preset, sampleSteps: 2, tickSteps: 1, totalKimg: kimg }, 'the preset as resolved, with the three changes');
      await until(() => (JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { state: string }).state === 'finished' || undefined, 300_000, `${created} finished`);

      await page.getByTestId('run-state').filter({ hasText: /finished/ }).waitFor({ timeout: 60_000 });
      const grid = page.getByTestId('sample-grid');
      await grid.waitFor({ timeout: 60_000 });
      assert.ok(Number(await grid.getAttribute('data-step')) >= 2, 'a sample grid of this run');
      if (family === 'progan') assert.match(await page.getByTestId('growth-stage').innerText(), /Growing: 4×4/);
      else assert.equal(await page.getByTestId('growth-stage').count(), 0, 'growth is ProGAN only');
      const stats = readFileSync(path.join(runDir, 'stats.jsonl'), 'utf8').trim().split('\n');
      assert.ok(stats.length >= steps - 1, `${stats.length} stats lines for ${steps} steps`);
      const last = JSON.parse(stats.at(-1) as string) as { step: number; losses: Record<string, number> };
      assert.ok(Object.values(last.losses).every(Number.isFinite), `finite losses: ${JSON.stringify(last.losses)}`);
      assert.ok('loss/G' in last.losses && 'loss/D' in last.losses, 'G and D losses logged');
    });
  }

  it('logged no errors in the page', () => {
    assert.deepEqual(session.pageErrors, []);
  });
});
