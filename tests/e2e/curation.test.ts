/// <reference lib="dom" />
/**
 * Curation end to end in the real UI (serve + Chromium): import a folder with planted problems through the
 * path field, read the counts of the checks, exclude a duplicate group, build, train a few steps on the
 * result and stop; then a 100,000-image curation scrolls with only the visible rows in the DOM.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { DEFAULT_SETTINGS, MANIFEST_FORMAT, type ScanRecord } from '../../main/data/curationManifest.ts';
import { CurationStore } from '../../main/data/curationStore.ts';
import { makeCorpus } from '../unit/dataCorpus.ts';
import { studioSession } from './helpers.ts';

const count = async (page: Page, testId: string): Promise<number> => Number((await page.getByTestId(testId).getAttribute('data-count')) ?? NaN);
const text = async (page: Page, testId: string): Promise<string> => (await page.getByTestId(testId).innerText()).trim();

describe('curation end to end (serve + Chromium)', { timeout: 600_000 }, () => {
  const corpusRoot = mkdtempSync(path.join(os.tmpdir(), 'gan-studio-e2e-corpus-'));
  const corpus = path.join(corpusRoot, 'messy-photos');
  const session = studioSession({
    viewport: { width: 1500, height: 950 },
    prepare: async () => {
      const expected = await makeCorpus(corpus);
      assert.ok(Object.keys(expected).length > 20);
    },
  });

  after(() => rmSync(corpusRoot, { recursive: true, force: true }));

  it('imports a folder with planted problems and shows the count of each', async () => {
    const { page, studio } = session;
    await page.goto(studio.url);
    await page.getByTestId('nav-datasets').click();
    await page.getByTestId('import-path').fill(corpus);
    await page.getByTestId('import-resolution').selectOption('32');
    await page.getByTestId('import-start').click();
    // The curation opens by itself when the import is done.
    await page.getByTestId('curate-view').waitFor({ timeout: 120_000 });
    await page.getByTestId('summary-total').filter({ hasText: '24' }).waitFor({ timeout: 30_000 });
    assert.equal(await count(page, 'summary-corrupt'), 1);
    assert.equal(await count(page, 'summary-not-image'), 2);
    assert.equal(await count(page, 'summary-empty'), 1);
    assert.equal(await count(page, 'summary-unsupported'), 1, 'the HEIC file');
    assert.equal(await count(page, 'summary-unreadable'), 1, 'the looping symlink');
    assert.equal(await count(page, 'summary-duplicate'), 1);
    assert.equal(await count(page, 'summary-near-duplicate'), 1);
    assert.equal(await count(page, 'summary-extreme-aspect'), 1);
    assert.equal(await text(page, 'summary-included'), '14');
    assert.equal(await text(page, 'curate-state'), 'draft');
    // Thumbnails arrive in the grid; a click shows the inspector with the final square.
    const cell = page.locator('[data-testid="curate-cell"][data-path="formats/photo.jpg"]');
    await cell.waitFor({ timeout: 30_000 });
    await cell.click();
    await page.getByTestId('crop-preview').waitFor({ timeout: 30_000 });
    assert.match((await page.getByTestId('crop-preview').getAttribute('src')) ?? '', /^data:image\/png;base64,/);
    assert.match(await page.getByTestId('curate-inspector').innerText(), /photo\.jpg/);
  });

  it('excludes a duplicate group, and the counts follow', async () => {
    const { page } = session;
    await page.getByTestId('summary-duplicate').click();
    const group = page.getByTestId('curate-group').first();
    await group.waitFor({ timeout: 30_000 });
    assert.match(await group.innerText(), /a\.png[\s\S]*a-copy\.png/);
    await group.getByTestId('group-exclude').click();
    await page.getByTestId('summary-included').filter({ hasText: /^13$/ }).waitFor({ timeout: 30_000 });
    // The summary comes with the edit's answer; the group row refetches after it, so wait for it too.
    await page.getByTestId('curate-group').first().filter({ hasText: /all excluded/ }).waitFor({ timeout: 30_000 });
    assert.equal(await text(page, 'summary-excluded'), '11');
  });

  it('builds the dataset and trains a few steps on it', async () => {
    const { page } = session;
    await page.getByTestId('curate-build').click();
    await page.getByTestId('curate-state').filter({ hasText: /^built$/ }).waitFor({ timeout: 120_000 });
    const datasetId = (await page.getByTestId('curate-view').getAttribute('data-dataset-id')) ?? '';
    assert.ok(datasetId);
    await page.getByTestId('curate-train').click();
    await page.getByTestId('train-dataset').waitFor();
    assert.equal(await page.getByTestId('train-dataset').inputValue(), datasetId);
    await page.getByTestId('train-preset').selectOption('quick-32');
    await page.getByTestId('train-kimg').fill('0.5');
    await page.getByTestId('train-start').click();
    await page.getByTestId('run-state').filter({ hasText: 'running' }).waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="run-step"]')?.textContent ?? 0) >= 3, null, { timeout: 180_000 });
    await page.getByTestId('train-stop').click();
    await page.getByTestId('run-state').filter({ hasText: /stopped|finished/ }).waitFor({ timeout: 120_000 });
  });

  it('scrolls a 100,000-image curation with only the visible rows in the page', async () => {
    const { page, studio } = session;
    const n = 100_000;
    const store = new CurationStore(path.join(studio.library, 'curation'), async () => false);
    const thumb = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#5577aa' } }).jpeg().toBuffer();
    const dir = store.folder('huge-000000');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'thumbs-0.bin'), thumb);
    const items: ScanRecord[] = Array.from({ length: n }, (_, i) => ({
      source: 0,
      path: `img${String(i).padStart(6, '0')}.jpg`,
      bytes: 1000,
      mtimeMs: 0,
      sha256: String(i).padStart(64, '0'),
      error: null,
      format: 'jpeg',
      width: 256,
      height: 256,
      space: 'srgb',
      alpha: false,
      frames: 1,
      orientation: null,
      dhash: ((i * 2654435761) >>> 0).toString(16).padStart(8, '0') + ((i * 40503 + 7) >>> 0).toString(16).padStart(8, '0'),
      gray: false,
      mean: [i % 256, 100, 100],
      thumb: { offset: 0, length: thumb.length },
      render: null,
      crop: null,
      label: null,
      caption: null,
    }));
    const now = new Date().toISOString();
    await store.commit(
      'huge-000000',
      { format: MANIFEST_FORMAT, id: 'huge-000000', createdAt: now, importedAt: now, sources: [{ kind: 'folder', path: '/synthetic', root: '/synthetic', stamp: null }], items, thumbsFile: 'thumbs-0.bin', rendersFile: null, renders: null, lastImport: null },
      { name: 'a hundred thousand', settings: DEFAULT_SETTINGS, excluded: {}, labels: {}, captions: {}, version: 1, built: null, updatedAt: now },
    );

    // The Datasets view looks for curations each time it is shown (this one was written behind its back).
    await page.getByTestId('nav-runs').click();
    await page.getByTestId('nav-datasets').click();
    if (await page.getByTestId('curate-back').isVisible()) await page.getByTestId('curate-back').click();
    const card = page.locator('[data-testid="draft-card"][data-dataset-id="huge-000000"]');
    await card.waitFor({ timeout: 60_000 });
    await card.getByTestId('draft-open').click();
    const grid = page.getByTestId('curate-grid');
    await page.waitForFunction(() => document.querySelector('[data-testid="curate-grid"]')?.getAttribute('data-total') === '100000', null, { timeout: 60_000 });
    const rendered = await page.getByTestId('curate-cell').count();
    assert.ok(rendered > 0 && rendered < 500, `${rendered} cells in the DOM for 100,000 items`);
    // Jump to the end: the last item shows up, still with a bounded DOM.
    const started = Date.now();
    await grid.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await page.locator('[data-testid="curate-cell"][data-path="img099999.jpg"] img').waitFor({ timeout: 30_000 });
    const elapsed = Date.now() - started;
    assert.ok((await page.getByTestId('curate-cell').count()) < 500);
    assert.ok(elapsed < 10_000, `the last page appeared after ${elapsed} ms`);
    // A fling through the middle keeps the page responsive (every frame renders within a second).
    const worstFrame = await grid.evaluate(async (el) => {
      let worst = 0;
      let last = performance.now();
      for (let k = 1; k <= 30; k++) {
        el.scrollTop = (el.scrollHeight * k) / 31;
        await new Promise((r) => requestAnimationFrame(() => r(null)));
        const now = performance.now();
        worst = Math.max(worst, now - last);
        last = now;
      }
      return worst;
    });
    assert.ok(worstFrame < 1000, `a frame took ${worstFrame.toFixed(0)} ms while scrolling`);
    if (process.env.CURATION_SCREENSHOT) await page.screenshot({ path: process.env.CURATION_SCREENSHOT });
  });

  it('logged no errors in the page', () => {
    assert.deepEqual(session.pageErrors, []);
  });
});
