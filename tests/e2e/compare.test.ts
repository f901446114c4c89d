/// <reference lib="dom" />
/**
 * Runs, Compare and the checkpoint browser, end to end in the real UI. Two short runs that differ only in
 * their seed are trained by the CLI into the library `serve` uses; then, in Chromium: tick both and
 * compare (overlay charts with both runs, a config diff with just the seed, grids side by side at a kimg
 * chosen with the slider), rename and tag one, fork it from a snapshot (notes shown), stop the fork and
 * resume it, fork the other (finished) run with gradient clipping on and another seed in the full
 * hyperparameter editor (its config.json is the source's with exactly those changes), and delete the
 * other with confirmation — gone from the table and from disk.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { ResolvedConfig } from '../../shared/presets.ts';
import { projectDir, studioSession, type ServedStudio } from './helpers.ts';

/** Train a run with the CLI into `library`; resolves with its run id. */
async function trainWithCli(library: string, name: string, seed: number): Promise<string> {
  const args = ['--import', 'tsx', path.join(projectDir, 'main', 'cli', 'train.ts'), '--library', library];
  args.push('--data', 'builtin:emoji', '--preset', 'quick-32', '--kimg', '0.5', '--seed', String(seed), '--name', name);
  const child = spawn(process.execPath, args, {
    cwd: projectDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GAN_STUDIO_BACKEND: process.env.GAN_STUDIO_BACKEND ?? 'wasm' },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, `train.ts ${name} exited with ${code}:\n${output}`);
  const runId = /^Run (\S+)/m.exec(output)?.[1];
  assert.ok(runId, `train.ts printed its run id:\n${output}`);
  return runId;
}

const runDir = (studio: ServedStudio, runId: string): string => path.join(studio.library, 'runs', runId);
const runJson = (studio: ServedStudio, runId: string): { name: string; tags: string[] } =>
  JSON.parse(readFileSync(path.join(runDir(studio, runId), 'run.json'), 'utf8')) as { name: string; tags: string[] };
const runConfig = (studio: ServedStudio, runId: string): ResolvedConfig =>
  JSON.parse(readFileSync(path.join(runDir(studio, runId), 'config.json'), 'utf8')) as ResolvedConfig;
const row = (page: Page, runId: string) => page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`);

describe('runs, compare and checkpoints end to end (serve + CLI + Chromium)', { timeout: 600_000 }, () => {
  let runA: string;
  let runB: string;
  /** The same studio in another window: it must hear of renames and deletions without a reload. */
  let secondWindow: Page;
  const session = studioSession({
    prepare: async (studio) => {
      // One after the other: the first packs the built-in dataset into the library, the second reuses it.
      runA = await trainWithCli(studio.library, 'cmp seed one', 1);
      runB = await trainWithCli(studio.library, 'cmp seed two', 2);
    },
  });

  it('lists both CLI runs in the runs table', async () => {
    const { page, studio } = session;
    await page.goto(studio.url);
    await page.getByTestId('nav-runs').click();
    await page.getByTestId('runs-table').waitFor({ timeout: 60_000 });
    await row(page, runA).waitFor();
    await row(page, runB).waitFor();
    const text = await row(page, runA).innerText();
    assert.match(text, /cmp seed one/);
    assert.match(text, /finished/);
    assert.match(text, /quick-32/);
  });

  it('compares the two runs: overlay charts, config diff, grids at a chosen kimg', async () => {
    const { page } = session;
    await row(page, runA).getByTestId('run-select').check();
    await row(page, runB).getByTestId('run-select').check();
    await page.getByTestId('compare-start').click();
    await page.getByTestId('compare-view').waitFor();

    // Every logged series gets a chart, each with a line per run.
    const lossG = page.locator('[data-testid="compare-chart"][data-series="loss/G"]');
    await page.waitForSelector('[data-testid="compare-chart"][data-series="loss/G"][data-runs="2"]', { timeout: 30_000 });
    assert.equal(await lossG.getAttribute('data-runs'), '2');
    const series = await page.locator('[data-testid="compare-chart"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-series')));
    assert.ok(series.includes('loss/D') && series.includes('imgPerSec'), `charts for the losses and throughput: ${series.join(', ')}`);
    await page.getByTestId('compare-x-time').click();
    await page.getByTestId('compare-smoothing').fill('0.9');
    await page.waitForSelector('[data-testid="compare-chart"][data-series="loss/D"][data-runs="2"]');

    // The config diff shows the seed (1 vs 2) and none of the settings the runs share.
    const seedRow = page.locator('[data-testid="config-diff-row"][data-key="seed"]');
    await seedRow.waitFor({ timeout: 30_000 });
    assert.match(await seedRow.innerText(), /1[\s\S]*2/);
    assert.equal(await page.locator('[data-testid="config-diff-row"][data-key="batchSize"]').count(), 0);
    assert.equal(await page.locator('[data-testid="config-diff-row"][data-key="totalKimg"]').count(), 0);
    assert.equal(await page.locator('[data-testid="config-diff-row"][data-key="dataset"]').count(), 0);

    // Grids side by side: move the slider to either end; each run shows its nearest snapshot's grid.
    const slider = page.getByTestId('compare-kimg');
    await slider.fill('0');
    await slider.fill(String(await slider.getAttribute('max')));
    const grids = page.getByTestId('compare-grid');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="compare-grid"]').length === 2, null, { timeout: 30_000 });
    const shown = await grids.evaluateAll((els) => els.map((e) => ({ run: e.getAttribute('data-run-id'), src: e.getAttribute('src') ?? '' })));
    assert.deepEqual(shown.map((g) => g.run).sort(), [runA, runB].sort());
    for (const g of shown) assert.match(g.src, /^data:image\/png;base64,/);
  });

  it('renames and tags a run, in the table and on disk, and a second window sees it without a reload', async () => {
    const { page, studio } = session;
    secondWindow = await session.newPage();
    await secondWindow.goto(studio.url);
    await secondWindow.getByTestId('nav-runs').click();
    await row(secondWindow, runA).waitFor({ timeout: 60_000 });

    await page.getByTestId('nav-runs').click();
    await row(page, runA).click();
    const rename = page.getByTestId('run-rename');
    await rename.fill('cmp renamed');
    await rename.press('Enter');
    await row(page, runA).filter({ hasText: 'cmp renamed' }).waitFor({ timeout: 15_000 });
    assert.equal(runJson(studio, runA).name, 'cmp renamed');
    await row(secondWindow, runA).filter({ hasText: 'cmp renamed' }).waitFor({ timeout: 15_000 });

    const tagInput = page.getByTestId('run-tag-input');
    await tagInput.fill('baseline');
    await tagInput.press('Enter');
    await row(page, runA).locator('.tag', { hasText: 'baseline' }).waitFor({ timeout: 15_000 });
    assert.deepEqual(runJson(studio, runA).tags, ['baseline']);
    // The filter finds a run by its tag.
    await page.getByTestId('runs-filter').fill('baseline');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 1);
    await page.getByTestId('runs-filter').fill('');
  });

  it('forks from a snapshot (notes shown), stops the fork and resumes it', async () => {
    const { page } = session;
    await row(page, runA).click();
    await page.getByTestId('snapshot-timeline').waitFor({ timeout: 30_000 });
    await page.getByTestId('snapshot-fork').click();
    // Long enough to be stopped while it trains.
    await page.getByTestId('fork-kimg').fill('5');
    await page.getByTestId('fork-submit').click();
    const notes = page.getByTestId('fork-notes');
    await notes.waitFor({ timeout: 60_000 });
    assert.ok((await notes.innerText()).trim().length > 0, 'the fork says what it carried over');
    const forkId = await page.getByTestId('fork-result').getAttribute('data-run-id');
    assert.ok(forkId);
    await row(page, forkId).waitFor({ timeout: 30_000 });

    // Stop it once it trains; it leaves a snapshot to resume from.
    await page.getByTestId('fork-watch').click();
    await page.getByTestId('run-state').filter({ hasText: 'running' }).waitFor({ timeout: 120_000 });
    await page.getByTestId('train-stop').click();
    await page.getByTestId('run-state').filter({ hasText: 'stopped' }).waitFor({ timeout: 120_000 });

    await page.getByTestId('nav-runs').click();
    await row(page, forkId).click();
    await page.getByTestId('snapshot-timeline').waitFor({ timeout: 30_000 });
    await page.getByTestId('snapshot-resume').click();
    await page.getByTestId('resume-result').waitFor({ timeout: 60_000 });
    await row(page, forkId).filter({ hasText: /starting|running/ }).waitFor({ timeout: 60_000 });

    // Stop it again, so deleting below happens with nothing training.
    await page.getByTestId('resume-watch').click();
    await page.getByTestId('run-state').filter({ hasText: 'running' }).waitFor({ timeout: 120_000 });
    await page.getByTestId('train-stop').click();
    await page.getByTestId('run-state').filter({ hasText: 'stopped' }).waitFor({ timeout: 120_000 });
  });

  it("forks a finished run in the full editor: config.json is the source's with exactly the changes", async () => {
    const { page, studio } = session;
    await page.getByTestId('nav-runs').click();
    await row(page, runB).filter({ hasText: 'finished' }).waitFor({ timeout: 30_000 });
    await row(page, runB).click();
    await page.getByTestId('snapshot-timeline').waitFor({ timeout: 30_000 });
    await page.getByTestId('snapshot-fork').click();
    const source = runConfig(studio, runB);
    assert.equal(source.gradClip, false);
    assert.equal(source.seed, 2);

    // Every value starts as the source run recorded it, none marked changed.
    const seed = page.getByTestId('fork-hp-seed');
    await seed.waitFor({ timeout: 30_000 });
    assert.equal(await seed.inputValue(), '2');
    assert.equal(Number(await page.getByTestId('fork-kimg').inputValue()), source.totalKimg);
    assert.equal(await page.getByTestId('fork-hp-gradClip').isChecked(), false);
    const rows = page.locator('[data-testid="fork-form"] [data-testid^="hp-row-"]');
    const keys = await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-testid')?.slice('hp-row-'.length)));
    assert.deepEqual(keys.sort(), Object.keys(source).sort());
    assert.equal(await page.locator('[data-testid^="hp-row-"][data-changed="true"]').count(), 0);

    await page.getByTestId('fork-hp-gradClip').check();
    await seed.fill('9');
    const changed = await page.locator('[data-testid^="hp-row-"][data-changed="true"]').evaluateAll((els) => els.map((el) => el.getAttribute('data-testid')));
    assert.deepEqual(changed.sort(), ['hp-row-gradClip', 'hp-row-seed']);
    assert.match(await page.getByTestId('hp-row-seed').innerText(), /source run: 2/);
    assert.match(await page.getByTestId('fork-changed-count').innerText(), /2 values changed from the source run/);
    // Typing the source's value again is no change.
    await seed.fill('3');
    await seed.fill('2');
    assert.equal(await page.getByTestId('hp-row-seed').getAttribute('data-changed'), 'false');
    await seed.fill('9');

    await page.getByTestId('fork-submit').click();
    const result = page.getByTestId('fork-result');
    await result.waitFor({ timeout: 60_000 });
    const forkId = await result.getAttribute('data-run-id');
    assert.ok(forkId);
    assert.deepEqual(runConfig(studio, forkId), { ...source, gradClip: true, seed: 9 });

    // Let it finish, so deleting below happens with nothing training.
    await row(page, forkId).filter({ hasText: /finished/ }).waitFor({ timeout: 300_000 });
  });

  it('deletes a run after confirmation: gone from the table and from disk, and from every view of another window', async () => {
    const { page, studio } = session;
    // The second window has the run open in its detail and ticked for comparison.
    await row(secondWindow, runB).click();
    await secondWindow.locator(`[data-testid="run-detail"][data-run-id="${runB}"]`).waitFor({ timeout: 15_000 });
    const tick = row(secondWindow, runB).getByTestId('run-select');
    if (!(await tick.isChecked())) await tick.check();
    await page.getByTestId('nav-runs').click();
    assert.ok(existsSync(runDir(studio, runB)));
    await row(page, runB).click();
    await page.getByTestId('run-delete').click();
    const dialog = page.getByTestId('delete-dialog');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /cmp seed two/, 'the confirmation names the run');
    await page.getByTestId('confirm-delete').click();
    await row(page, runB).waitFor({ state: 'detached', timeout: 30_000 });
    await row(secondWindow, runB).waitFor({ state: 'detached', timeout: 15_000 });
    await secondWindow.getByTestId('run-detail').waitFor({ state: 'detached', timeout: 15_000 });
    await secondWindow.getByTestId('nav-compare').click();
    await secondWindow.getByTestId('compare-view').waitFor();
    assert.equal(await secondWindow.locator(`[data-testid="compare-run"][data-run-id="${runB}"]`).count(), 0, 'the other window still compares the deleted run');
    await secondWindow.close();
    assert.equal(existsSync(runDir(studio, runB)), false);
    assert.ok(!readdirSync(path.join(studio.library, 'runs')).includes(runB));
    // It left the comparison too.
    await page.getByTestId('nav-compare').click();
    await page.getByTestId('compare-view').waitFor();
    assert.equal(await page.locator(`[data-testid="compare-run"][data-run-id="${runB}"]`).count(), 0);
  });

  it('logged no errors in the page', () => {
    assert.deepEqual(session.pageErrors, []);
  });
});
