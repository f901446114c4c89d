/// <reference lib="dom" />
/**
 * The Train view's hyperparameter editor in the real UI (serve + Chromium): an invalid value is shown at
 * its field and keeps Start disabled, an error from the main side is shown next to Start, changing the
 * preset resets the changes, and a run started with gradient clipping (G 0.2), spectral norm in D and
 * RMSProp records exactly those values in its config.json, everything else as the preset resolves it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../shared/presets.ts';
import { studioSession } from './helpers.ts';

describe('train options end to end (serve + Chromium)', { timeout: 600_000 }, () => {
  const session = studioSession();

  it('shows every resolved value of the preset as an editable field', async () => {
    const { page, studio } = session;
    await page.goto(studio.url);
    await page.getByTestId('nav-train').click();
    // The built-in dataset is packed on first use.
    await page.locator('[data-testid="train-dataset"] option[value="noto-emoji"]').waitFor({ state: 'attached', timeout: 120_000 });
    await page.getByTestId('train-dataset').selectOption('noto-emoji');
    await page.getByTestId('train-preset').selectOption('quick-dcgan');

    const preset = resolveConfig('quick-dcgan');
    assert.equal(await page.getByTestId('hp-gradClip').isChecked(), false);
    assert.equal(await page.getByTestId('hp-gradClipG').inputValue(), '0.1');
    assert.equal(await page.getByTestId('hp-gradClipD').inputValue(), '0.05');
    assert.equal(await page.getByTestId('hp-spectralNormD').isChecked(), false);
    assert.equal(await page.getByTestId('hp-spectralNormG').isChecked(), false);
    assert.equal(await page.getByTestId('hp-equalizedLr').isChecked(), false);
    assert.equal(await page.getByTestId('hp-optimizer').inputValue(), 'adam');
    assert.equal(Number(await page.getByTestId('hp-gLearningRate').inputValue()), preset.gLearningRate);
    assert.equal(Number(await page.getByTestId('hp-batchSize').inputValue()), preset.batchSize);
    assert.equal(Number(await page.getByTestId('train-kimg').inputValue()), preset.totalKimg);
    // Every key of the resolved config has a row, and none is marked changed.
    const rows = await page.locator('[data-testid^="hp-row-"]').evaluateAll((els) => els.map((el) => [el.getAttribute('data-testid'), el.getAttribute('data-changed')]));
    assert.deepEqual(rows.map(([id]) => id?.slice('hp-row-'.length)).sort(), Object.keys(preset).sort());
    assert.ok(rows.every(([, changed]) => changed === 'false'));
  });

  it('ProGAN shows the equalized learning rate on and locked', async () => {
    const { page } = session;
    await page.getByTestId('train-preset').selectOption('quick-progan');
    const field = page.getByTestId('hp-equalizedLr');
    assert.equal(await field.evaluate((el) => el.tagName), 'SPAN', 'not an input');
    assert.match(await page.getByTestId('hp-row-equalizedLr').innerText(), /on[\s\S]*always on/);
    await page.getByTestId('train-preset').selectOption('quick-dcgan');
    assert.equal(await page.getByTestId('hp-equalizedLr').isChecked(), false);
  });

  it('an invalid value is shown at its field and next to Start, and starts nothing', async () => {
    const { page } = session;
    await page.getByTestId('hp-gLearningRate').fill('-0.001');
    await page.getByTestId('hp-error-gLearningRate').filter({ hasText: /above 0/ }).waitFor();
    await page.getByTestId('train-invalid').filter({ hasText: /G learning rate/ }).waitFor();
    assert.equal(await page.getByTestId('train-start').isDisabled(), true);
    await page.getByTestId('train-start').click({ force: true });
    await page.waitForTimeout(1000);
    assert.deepEqual(session.runDirs(), []);

    await page.getByTestId('hp-reset-gLearningRate').click();
    assert.equal(await page.getByTestId('hp-gLearningRate').inputValue(), '0.0002');
    assert.equal(await page.getByTestId('train-invalid').count(), 0);
    assert.equal(await page.getByTestId('train-start').isEnabled(), true);
  });

  it('an error from the main side is shown next to Start', async () => {
    const { page } = session;
    // Valid for the schema, but the built-in dataset is stored at 64 px: training.start answers bad_request.
    await page.getByTestId('hp-resolution').fill('128');
    await page.getByTestId('train-start').click();
    const error = page.getByTestId('train-start-error');
    await error.waitFor({ timeout: 60_000 });
    assert.match(await error.innerText(), /cannot train at 128/);
    assert.deepEqual(session.runDirs(), []);
    await page.getByTestId('hp-reset-resolution').click();
    assert.equal(await page.getByTestId('hp-resolution').inputValue(), '32');
  });

  it('changing the preset resets the changes, and says so', async () => {
    const { page } = session;
    await page.getByTestId('hp-seed').fill('5');
    assert.equal(await page.getByTestId('hp-row-seed').getAttribute('data-changed'), 'true');
    await page.getByTestId('train-preset').selectOption('quick-32');
    await page.getByTestId('train-reset-note').filter({ hasText: /1 changed value/ }).waitFor();
    assert.equal(await page.getByTestId('hp-seed').inputValue(), '0');
    await page.getByTestId('train-preset').selectOption('quick-dcgan');
    assert.equal(await page.getByTestId('hp-seed').inputValue(), '0');
    assert.equal(await page.locator('[data-testid^="hp-row-"][data-changed="true"]').count(), 0);
  });

  it('a run records exactly the changed values and the preset for everything else', async () => {
    const { page, studio } = session;
    await page.getByTestId('hp-gradClip').check();
    await page.getByTestId('hp-gradClipG').fill('0.2');
    await page.getByTestId('hp-spectralNormD').check();
    await page.getByTestId('hp-optimizer').selectOption('rmsprop');
    // 0.25 kimg = 8 steps at batch 32: the run finishes on its own, quickly.
    await page.getByTestId('train-kimg').fill('0.25');

    const changed = await page.locator('[data-testid^="hp-row-"][data-changed="true"]').evaluateAll((els) => els.map((el) => el.getAttribute('data-testid')));
    assert.deepEqual(changed.sort(), ['hp-row-gradClip', 'hp-row-gradClipG', 'hp-row-optimizer', 'hp-row-spectralNormD', 'hp-row-totalKimg']);
    assert.match(await page.getByTestId('hp-row-gradClipG').innerText(), /preset: 0\.1/);
    assert.match(await page.getByTestId('train-changed-count').innerText(), /5 values changed/);

    await page.getByTestId('train-start').click();
    await page.getByTestId('run-state').filter({ hasText: /running|finished/ }).waitFor({ timeout: 120_000 });
    const dirs = session.runDirs();
    assert.equal(dirs.length, 1, `one run: ${dirs.join(', ')}`);
    const config: unknown = JSON.parse(readFileSync(path.join(studio.library, 'runs', dirs[0]!, 'config.json'), 'utf8'));
    assert.deepEqual(config, { ...resolveConfig('quick-dcgan'), gradClip: true, gradClipG: 0.2, spectralNormD: true, optimizer: 'rmsprop', totalKimg: 0.25 });

    await page.getByTestId('run-state').filter({ hasText: /finished/ }).waitFor({ timeout: 300_000 });
    assert.equal(await page.getByTestId('train-start').isEnabled(), true, 'a next run can start');
  });

  it('logged no errors in the page', () => {
    assert.deepEqual(session.pageErrors, []);
  });
});
