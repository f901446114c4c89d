import assert from 'node:assert/strict';
import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveConfig } from '../../shared/presets.ts';
import { StudioError } from '../../main/errors.ts';
import type { CheckpointManifest} from '../../main/runs/runStore.ts';
import { RunStore, sha256, snapshotId } from '../../main/runs/runStore.ts';

const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function store(): RunStore {
  const root = mkdtempSync(path.join(os.tmpdir(), 'gs-runs-'));
  roots.push(root);
  return new RunStore(root);
}

const config = resolveConfig('quick-32', { totalKimg: 1 });
const newRun = { name: 'My run: cats & dogs!', config, datasetId: 'noto-emoji', datasetName: 'Noto Emoji', backend: 'wasm' };

function manifestFor(weights: Uint8Array, step: number): CheckpointManifest {
  return {
    format: 'gan-studio-checkpoint/1',
    step,
    kimg: (step * config.batchSize) / 1000,
    createdAt: new Date().toISOString(),
    backend: 'wasm',
    config,
    tensors: [{ name: 'w', shape: [weights.byteLength / 4], dtype: 'float32', offset: 0, byteLength: weights.byteLength }],
    trainerState: { step },
    weightsByteLength: weights.byteLength,
    weightsSha256: sha256(weights),
  };
}

describe('run store', () => {
  it('creates a run directory with run.json and config.json a person can read', async () => {
    const runs = store();
    const run = await runs.create(newRun);
    assert.match(run.id, /^\d{8}-\d{6}-my-run-cats-dogs-[0-9a-f]{4}$/);
    assert.equal(run.state, 'starting');
    const onDisk = JSON.parse(await fs.readFile(path.join(runs.dir(run.id), 'config.json'), 'utf8')) as unknown;
    assert.deepEqual(onDisk, config);
    assert.deepEqual(await runs.config(run.id), config);
    assert.deepEqual((await runs.list()).map((r) => r.id), [run.id]);
  });

  it('reads a config recorded before equalizedLr and dBatchNorm existed as what the run trained with', async () => {
    const runs = store();
    for (const [presetId, expected] of [
      ['quick-dcgan', { equalizedLr: false, dBatchNorm: true }],
      ['quick-wgan-gp', { equalizedLr: false, dBatchNorm: false }],
      ['quick-progan', { equalizedLr: true, dBatchNorm: undefined }],
      ['quick-stylegan2', { equalizedLr: true, dBatchNorm: undefined }],
    ] as const) {
      const current = resolveConfig(presetId);
      const run = await runs.create({ ...newRun, config: current });
      const { equalizedLr: _e, ...older } = current;
      // An older DCGAN-style config had neither key; wgan-gp's explicit dBatchNorm: false must survive.
      const recorded = presetId === 'quick-dcgan' ? (({ dBatchNorm: _b, ...rest }) => rest)(older) : older;
      await fs.writeFile(path.join(runs.dir(run.id), 'config.json'), JSON.stringify(recorded));
      const read = await runs.config(run.id);
      assert.equal(read.equalizedLr, expected.equalizedLr, presetId);
      assert.equal(read.dBatchNorm, expected.dBatchNorm, presetId);
      assert.deepEqual(read, current, `${presetId}: the same config as the current version records`);
    }
  });

  it('serialises concurrent run.json updates so none is lost', async () => {
    const runs = store();
    const run = await runs.create(newRun);
    await Promise.all([runs.update(run.id, { step: 5 }), runs.update(run.id, { message: 'hello' }), runs.setState(run.id, 'running', 'go'), runs.update(run.id, { kimg: 0.5 })]);
    const summary = await runs.summary(run.id);
    assert.equal(summary.step, 5);
    assert.equal(summary.kimg, 0.5);
    assert.equal(summary.state, 'running');
    const leftovers = (await fs.readdir(runs.dir(run.id))).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(leftovers, [], 'no temp files remain');
  });

  it('appends stats and reads them back, ignoring a torn last line', async () => {
    const runs = store();
    const run = await runs.create(newRun);
    const record = { step: 5, kimg: 0.16, elapsedSec: 2, imgPerSec: 80, losses: { 'loss/G': 1.5 }, timestamp: new Date().toISOString() };
    await runs.appendStats(run.id, record);
    await runs.appendStats(run.id, { ...record, step: 10 });
    await fs.appendFile(path.join(runs.dir(run.id), 'stats.jsonl'), '{"step": 15, "kim');
    assert.deepEqual((await runs.readStats(run.id)).map((r) => r.step), [5, 10]);
  });

  it('writes snapshots whole and verifies checkpoints by checksum', async () => {
    const runs = store();
    const run = await runs.create(newRun);
    const weights = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const grid = new Uint8Array([137, 80, 78, 71]);
    const info = await runs.writeSnapshot(run.id, { step: 20, kimg: 0.64, grid, checkpoint: { manifest: manifestFor(weights, 20), weights } });
    assert.equal(info.id, snapshotId(20));
    assert.equal(info.id, 'step-00000020');
    const listed = await runs.listSnapshots(run.id);
    assert.deepEqual(listed.map((s) => [s.id, s.hasCheckpoint, s.kimg]), [['step-00000020', true, 0.64]]);
    const read = await runs.readCheckpoint(run.id, info.id);
    assert.deepEqual(Array.from(read.weights), Array.from(weights));
    assert.deepEqual(await runs.readImage(run.id, { snapshot: info.id }), Buffer.from(grid));
    const hidden = (await fs.readdir(path.join(runs.dir(run.id), 'snapshots'))).filter((f) => f.startsWith('.'));
    assert.deepEqual(hidden, [], 'no temp snapshot folders remain');

    // One flipped byte: detected, named, never loaded.
    const file = path.join(runs.dir(run.id), 'snapshots', info.id, 'weights.bin');
    const bytes = await fs.readFile(file);
    bytes[3] = (bytes[3] ?? 0) ^ 0xff;
    await fs.writeFile(file, bytes);
    await assert.rejects(runs.readCheckpoint(run.id, info.id), (e: unknown) => e instanceof StudioError && e.message.includes(file) && /checksum/.test(e.message));
  });

  it('answers not_found for unknown runs, snapshots and path tricks', async () => {
    const runs = store();
    const run = await runs.create(newRun);
    await assert.rejects(runs.summary('20990101-000000-nothing-0000'), (e: unknown) => e instanceof StudioError && e.code === 'not_found');
    await assert.rejects(runs.readImage(run.id, 'reals'), (e: unknown) => e instanceof StudioError && e.code === 'not_found');
    await assert.rejects(runs.readCheckpoint(run.id, '../../etc'), (e: unknown) => e instanceof StudioError && e.code === 'not_found');
    await assert.rejects(runs.readCheckpoint(run.id, 'step-00000001'), (e: unknown) => e instanceof StudioError && e.code === 'not_found');
  });

  it('skips a folder that is not a run, with the list still answering', async () => {
    const runs = store();
    const run = await runs.create(newRun);
    await fs.mkdir(path.join(runs.root, 'stray-folder'));
    await fs.writeFile(path.join(runs.root, 'stray-folder', 'run.json'), '{ not json');
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args.join(' '));
    try {
      assert.deepEqual((await runs.list()).map((r) => r.id), [run.id]);
    } finally {
      console.warn = warn;
    }
    assert.ok(warnings.some((w) => w.includes('stray-folder')), 'the warning names the folder');
  });
});
