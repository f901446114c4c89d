/**
 * An engine that dies mid-training (an out-of-memory kill, a native crash) must not take the studio down:
 * the run is marked failed with a message saying what happened, its snapshots stay, and the next request
 * starts a fresh engine.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EventPayload } from '../../shared/contract.ts';
import { createStudio, type Studio } from '../../main/studio.ts';

describe('engine crash during training', { timeout: 240_000 }, () => {
  let studio: Studio;
  let library: string;

  before(async () => {
    library = mkdtempSync(path.join(os.tmpdir(), 'gs-crash-'));
    process.env.GAN_STUDIO_BACKEND = 'wasm';
    studio = await createStudio({ host: 'web', libraryDir: library });
  });

  after(async () => {
    await studio?.close();
    rmSync(library, { recursive: true, force: true });
  });

  it('marks the run failed, keeps its snapshots, and restarts the engine on demand', async () => {
    const states: Array<EventPayload<'training.state'>> = [];
    const statuses: Array<EventPayload<'engine.status'>> = [];
    let snapshots = 0;
    studio.events.subscribe((channel, payload) => {
      if (channel === 'training.state') states.push(payload as EventPayload<'training.state'>);
      if (channel === 'engine.status') statuses.push(payload as EventPayload<'engine.status'>);
      if (channel === 'training.snapshot') snapshots++;
    });
    const start = await studio.dispatch('training.start', {
      datasetId: 'noto-emoji',
      presetId: 'quick-32',
      overrides: { totalKimg: 100, batchSize: 8, snapshotSteps: 3, tickSteps: 1, sampleSteps: 1000 },
    });
    assert.ok(start.ok, JSON.stringify(start));
    const { runId } = start.result as { runId: string };

    const deadline = Date.now() + 120_000;
    while (snapshots < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.ok(snapshots >= 1, 'a snapshot was written before the crash');
    const pid = studio.engine.enginePid;
    assert.ok(pid, 'the engine runs in a process of its own');
    assert.notEqual(pid, process.pid);
    process.kill(pid, 'SIGKILL');

    while (!states.some((s) => s.state === 'failed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const failed = states.find((s) => s.state === 'failed');
    assert.ok(failed, 'the run is reported failed');
    assert.equal(failed.runId, runId);
    assert.match(failed.message ?? '', /engine process exited \(SIGKILL\)/);
    assert.match(failed.message ?? '', /snapshot is kept/);
    assert.ok(statuses.some((s) => s.state === 'crashed'));

    // The studio still answers, the run on disk says what happened, its snapshots are intact.
    const run = await studio.dispatch('runs.get', { runId });
    assert.ok(run.ok);
    assert.equal((run.result as { summary: { state: string } }).summary.state, 'failed');
    const snaps = await studio.dispatch('runs.snapshots', { runId });
    assert.ok(snaps.ok && (snaps.result as unknown[]).length >= 1);
    const current = await studio.dispatch('training.current', {});
    assert.deepEqual(current, { ok: true, result: { run: null, progress: null } });

    // A new request brings up a new engine, which can export from the snapshot the crashed one wrote.
    const snapshotId = (snaps.result as Array<{ id: string }>)[0]?.id ?? '';
    const exported = await studio.dispatch('export.samples', { runId, snapshotId, seeds: [1, 2], grid: false });
    assert.ok(exported.ok, JSON.stringify(exported));
    assert.notEqual(studio.engine.enginePid, pid, 'a fresh engine process');
  });
});
