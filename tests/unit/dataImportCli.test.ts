/**
 * `npm run import`: the checks summary with the files behind each verdict, exit codes a script can rely
 * on, an incremental second run, and a dataset folder that `npm run train -- --data <folder>` trains on.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeCorpus } from './dataCorpus.ts';

const projectDir = path.resolve(import.meta.dirname, '..', '..');
const temp = mkdtempSync(path.join(os.tmpdir(), 'gs-import-cli-'));
const corpus = path.join(temp, 'corpus');
const library = path.join(temp, 'library');

function run(script: 'import' | 'train', ...args: string[]): { status: number | null; out: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', `main/cli/${script}.ts`, ...args], {
    cwd: projectDir,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, GAN_STUDIO_LIBRARY: library, GAN_STUDIO_BACKEND: 'wasm' },
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('npm run import', { timeout: 600_000 }, () => {
  before(async () => {
    await makeCorpus(corpus);
  });
  after(() => rmSync(temp, { recursive: true, force: true }));

  it('exits 2 with a message for bad arguments and unusable folders', async () => {
    const noRes = run('import', corpus);
    assert.equal(noRes.status, 2);
    assert.match(noRes.out, /--resolution is required/);
    const badRes = run('import', corpus, '--resolution', '100');
    assert.equal(badRes.status, 2);
    assert.match(badRes.out, /--resolution must be a power of two from 16 to 1024, not "100"/);
    const badCrop = run('import', corpus, '--resolution', '32', '--crop', 'zoom');
    assert.equal(badCrop.status, 2);
    assert.match(badCrop.out, /--crop must be one of center, pad, attention, entropy/);
    const missing = path.join(temp, 'nowhere');
    const gone = run('import', missing, '--resolution', '32');
    assert.equal(gone.status, 2);
    assert.ok(gone.out.includes(`${missing}: no such folder or zip file`), gone.out);
    const junk = path.join(temp, 'junk');
    await mkdir(junk);
    writeFileSync(path.join(junk, 'a.jpg'), 'text');
    const none = run('import', junk, '--resolution', '32');
    assert.equal(none.status, 2, none.out);
    assert.match(none.out, /no usable images to build/);
    assert.match(none.out, /a\.jpg: not an image: text/);
  });

  it('prints the checks with the files behind each, builds into --out, and that folder trains', () => {
    const out = path.join(temp, 'messy-set');
    const first = run('import', corpus, '--resolution', '32', '--out', out, '--export-stylegan', path.join(temp, 'messy.zip'));
    assert.equal(first.status, 0, first.out);
    assert.match(first.out, /Checks: 24 files: 14 included, 10 excluded/);
    assert.match(first.out, /^ {2}corrupt \(1, left out\)\n {4}problems\/truncated\.jpg: corrupt: /m);
    assert.match(first.out, /^ {2}duplicate \(1, left out\)\n {4}dups\/a-copy\.png: exact duplicate/m);
    assert.match(first.out, /^ {2}near-duplicate \(1, left out\)\n {4}dups\/b-small\.jpg: near-duplicate/m);
    assert.match(first.out, /^ {2}non-square \(2, kept\)/m);
    assert.match(first.out, /problems\/loop\/: links back to a folder already scanned/);
    assert.match(first.out, /Dataset messy-set: 14 images at 32×32/);
    assert.ok(existsSync(path.join(out, 'images.u8')));
    assert.equal(readFileSync(path.join(out, 'images.u8')).length, 14 * 32 * 32 * 3);
    assert.ok(existsSync(path.join(temp, 'messy.zip')));

    const again = run('import', corpus, '--resolution', '32', '--out', out);
    assert.equal(again.status, 0, again.out);
    assert.match(again.out, /Importing again/);
    assert.match(again.out, /24 files in [\d.]+ s: 0 read, 23 unchanged since the last import/);

    const trained = run('train', '--data', out, '--preset', 'quick-32', '--kimg', '0.02', '--batch', '4', '--name', 'curated');
    assert.equal(trained.status, 0, trained.out);
    assert.match(trained.out, /^finished$/m);
  });
});
