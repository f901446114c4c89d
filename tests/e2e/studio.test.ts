/// <reference lib="dom" />
/**
 * The walking skeleton, end to end, in the real UI: open the studio served by `serve`, choose the
 * built-in dataset, train "Quick 32px", watch the chart and the sample grid update, stop, open the
 * checkpoint browser, export a grid, and check the PNG on disk.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { studioSession } from './helpers.ts';

const attr = async (page: Page, testId: string, name: string): Promise<number> =>
  Number((await page.getByTestId(testId).getAttribute(name)) ?? NaN);

describe('studio end to end (serve + Chromium)', { timeout: 600_000 }, () => {
  const session = studioSession();

  it('shows the engine backend and the built-in dataset', async () => {
    const { page, studio } = session;
    await page.goto(studio.url);
    await page.getByTestId('backend-badge').filter({ hasText: /wasm|WebAssembly/i }).waitFor({ timeout: 60_000 });
    await page.getByTestId('nav-datasets').click();
    const card = page.locator('[data-testid="dataset-card"][data-dataset-id="noto-emoji"]');
    await card.waitFor({ timeout: 90_000 });
    assert.match(await card.innerText(), /3,?786/);
  });

  it('trains Quick 32px and the chart and sample grid update live', async () => {
    const { page } = session;
    await page.locator('[data-testid="dataset-card"][data-dataset-id="noto-emoji"]').getByTestId('dataset-train').click();
    await page.getByTestId('train-preset').selectOption('quick-32');
    assert.match(await page.getByTestId('preset-config').innerText(), /batchSize/);
    assert.equal(await page.getByTestId('hp-batchSize').inputValue(), '32');
    // 2 kimg = 63 steps at batch 32: enough for several ticks and two sample refreshes.
    await page.getByTestId('train-kimg').fill('2');
    await page.getByTestId('train-start').click();
    await page.getByTestId('run-state').filter({ hasText: 'running' }).waitFor({ timeout: 60_000 });

    await page.waitForFunction(() => Number(document.querySelector('[data-testid="loss-chart"]')?.getAttribute('data-points') ?? 0) >= 2, null, {
      timeout: 120_000,
    });
    const firstPoints = await attr(page, 'loss-chart', 'data-points');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="sample-grid"]')?.getAttribute('data-step') ?? 0) >= 25, null, {
      timeout: 180_000,
    });
    assert.ok((await attr(page, 'loss-chart', 'data-points')) > firstPoints, 'the loss chart grows while training');
    assert.ok(Number(await page.getByTestId('run-step').innerText()) >= 25);
    const sampleSrc = (await page.getByTestId('sample-grid').getAttribute('src')) ?? '';
    assert.match(sampleSrc, /^data:image\/png;base64,/);

    await page.getByTestId('train-stop').click();
    await page.getByTestId('run-state').filter({ hasText: /stopped|finished/ }).waitFor({ timeout: 120_000 });
  });

  it('browses the checkpoints and exports a grid PNG to disk', async () => {
    const { page } = session;
    await page.getByTestId('nav-runs').click();
    await page.getByTestId('run-row').first().click();
    const snapshot = page.getByTestId('snapshot-item').last();
    await snapshot.waitFor({ timeout: 30_000 });
    await snapshot.click();
    await page.getByTestId('export-seeds').fill('0-8');
    await page.getByTestId('export-grid').check();
    await page.getByTestId('export-start').click();
    const result = page.getByTestId('export-result');
    await result.waitFor({ timeout: 120_000 });
    await page.getByTestId('export-grid-image').waitFor();

    const text = await result.innerText();
    const folder = /(\/\S+exports\/\S+)/.exec(text)?.[1];
    assert.ok(folder, `the export result names its folder: ${text}`);
    const gridFile = path.join(folder, 'grid.png');
    assert.ok(existsSync(gridFile), `${gridFile} exists`);
    const meta = await sharp(gridFile).metadata();
    assert.equal(meta.width, 3 * 32, '9 seeds → a 3×3 grid of 32-px images');
    assert.equal(meta.height, 3 * 32);
    const stats = await sharp(gridFile).stats();
    const spread = Math.max(...stats.channels.map((c) => c.stdev));
    assert.ok(spread > 5, `the grid is not blank (largest channel stdev ${spread.toFixed(2)})`);
    for (let seed = 0; seed <= 8; seed++) assert.ok(existsSync(path.join(folder, `seed${String(seed).padStart(10, '0')}.png`)));
  });

  it('logged no errors in the page', () => {
    assert.deepEqual(session.pageErrors, []);
  });
});

describe('serve refuses what it must', { timeout: 120_000 }, () => {
  const session = studioSession();

  it('a page opened with a wrong token says how to get in', async () => {
    const { page, studio } = session;
    await page.goto(studio.url.replace(/token=[\w-]+/, 'token=wrong-token-123'));
    await page.getByText(/token/i).first().waitFor({ timeout: 30_000 });
    assert.match(await page.locator('body').innerText(), /npm start|URL/i);
  });

  it('a request without the token is refused with 401 and a clear text', async () => {
    const { studio } = session;
    const response = await fetch(new URL('/ipc', studio.url));
    assert.equal(response.status, 401);
    assert.match(await response.text(), /token/i);
  });
});
