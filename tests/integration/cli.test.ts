/** `npm run train`: output and exit codes a script can rely on, and the run directory it leaves. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveConfig } from '../../shared/presets.ts';

const projectDir = path.resolve(import.meta.dirname, '..', '..');
const temp = mkdtempSync(path.join(os.tmpdir(), 'gs-cli-'));
after(() => rmSync(temp, { recursive: true, force: true }));

function train(...args: string[]): { status: number | null; out: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'main/cli/train.ts', '--library', path.join(temp, 'library'), ...args], {
    cwd: projectDir,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, GAN_STUDIO_BACKEND: 'wasm' },
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('npm run train', { timeout: 400_000 }, () => {
  it('--list-presets prints every preset with its resolved settings', () => {
    const { status, out } = train('--list-presets');
    assert.equal(status, 0);
    assert.match(out, /^quick-32 {2}\(dcgan\) Quick 32px/m);
    assert.match(out, /^ {4}resolution {9}32$/m);
    assert.match(out, /^dcgan-64 /m);
  });

  it('exits 2 with a message for bad arguments', () => {
    const missing = train('--preset', 'quick-32');
    assert.equal(missing.status, 2);
    assert.match(missing.out, /--data is required/);
    const badNumber = train('--data', 'builtin:emoji', '--preset', 'quick-32', '--kimg', 'lots');
    assert.equal(badNumber.status, 2);
    assert.match(badNumber.out, /--kimg must be a positive number, not "lots"/);
    const unknownFlag = train('--data', 'x', '--preset', 'quick-32', '--epochs', '3');
    assert.equal(unknownFlag.status, 2);
    assert.match(unknownFlag.out, /--epochs/);
    // --set: every wrong key or value named, before anything starts.
    const badSets = train('--data', 'builtin:emoji', '--preset', 'quick-32', '--set', 'bogus=1', '--set', 'nCritic=abc', '--set', 'gradClip=maybe');
    assert.equal(badSets.status, 2);
    assert.match(badSets.out, /--set bogus: no such setting \(the settings: resolution, batchSize/);
    assert.match(badSets.out, /--set nCritic=abc: .*expected number/);
    assert.match(badSets.out, /--set gradClip=maybe: .*expected boolean/);
    assert.match(train('--data', 'x', '--preset', 'quick-32', '--set', 'nCritic').out, /--set wants <key>=<value>, not "nCritic"/);
    assert.match(train('--data', 'x', '--preset', 'quick-32', '--kimg', '1', '--set', 'totalKimg=2').out, /--set totalKimg repeats a value its own flag already sets/);
    // A value the schema takes but the family refuses is the engine's bad_request: exit 2 too.
    const locked = train('--data', 'builtin:emoji', '--preset', 'quick-progan', '--set', 'equalizedLr=false');
    assert.equal(locked.status, 2, locked.out);
    assert.match(locked.out, /equalizedLr/);
  });

  it('exits 2 naming the preset or the folder that is wrong', () => {
    const preset = train('--data', 'builtin:emoji', '--preset', 'nope');
    assert.equal(preset.status, 2);
    assert.match(preset.out, /unknown preset "nope"/);
    const folder = path.join(temp, 'no-such-folder');
    const data = train('--data', folder, '--preset', 'quick-32');
    assert.equal(data.status, 2);
    assert.ok(data.out.includes(folder), data.out);
  });

  it('trains the built-in set into the run directory the studio reads, and exits 0', () => {
    const out = path.join(temp, 'runs');
    const result = train('--data', 'builtin:emoji', '--preset', 'quick-32', '--kimg', '0.08', '--batch', '8', '--out', out, '--name', 'cli smoke', '--set', 'gradClip=true', '--set', 'optimizer=rmsprop', '--set', 'gradClipD=0.2');
    assert.equal(result.status, 0, result.out);
    assert.match(result.out, /Backend: CPU: WebAssembly/);
    assert.match(result.out, /^finished$/m);
    const [runId] = readdirSync(out).filter((f) => !f.startsWith('.'));
    assert.ok(runId, 'a run directory');
    const dir = path.join(out, runId);
    assert.match(runId, /cli-smoke/);
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config, { ...resolveConfig('quick-32'), totalKimg: 0.08, batchSize: 8, gradClip: true, optimizer: 'rmsprop', gradClipD: 0.2 });
    const summary = JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')) as { state: string; step: number };
    assert.equal(summary.state, 'finished');
    assert.equal(summary.step, 10);
    assert.ok(readFileSync(path.join(dir, 'stats.jsonl'), 'utf8').trim().split('\n').length >= 2);
    assert.ok(existsSync(path.join(dir, 'reals.png')));
    assert.ok(existsSync(path.join(dir, 'snapshots', 'step-00000010', 'checkpoint.json')));
  });
});
