/**
 * Runs you can trust with days of GPU time, through the real engine process: exact resume after a
 * kill -9, kill -9 mid-write, a corrupt checkpoint, NaN rollback, a full disk, fork, and the bookkeeping.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EventChannel, EventPayload, Params, RequestChannel, Result, StatsRecord } from '../../shared/contract.ts';
import type { TrainingOverrides } from '../../shared/presets.ts';
import { createStudio, type Studio } from '../../main/studio.ts';

/** A tiny DCGAN at 16 px: tens of milliseconds a step on wasm, so the tests are about the run, not speed. */
const TINY: TrainingOverrides = { resolution: 16, batchSize: 8, latentDim: 16, channelsAtOutput: 8, maxChannels: 32, tickSteps: 1, sampleSteps: 1000, seed: 3 };
const kimgFor = (steps: number): number => (steps * 8) / 1000;

const temp = mkdtempSync(path.join(os.tmpdir(), 'gs-trust-'));
after(() => rmSync(temp, { recursive: true, force: true }));

async function call<C extends RequestChannel>(studio: Studio, channel: C, params: Params<C>): Promise<Result<C>> {
  const body = await studio.dispatch(channel, params);
  if (!body.ok) throw new Error(`${channel}: ${body.error.code}: ${body.error.message}`);
  return body.result as Result<C>;
}

/** Resolves with the first event on `channel` that satisfies `test`. */
function nextEvent<E extends EventChannel>(studio: Studio, channel: E, test: (p: EventPayload<E>) => boolean, timeoutMs = 120_000): Promise<EventPayload<E>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no matching ${channel} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = studio.events.subscribe((name, payload) => {
      if (name === channel && test(payload as EventPayload<E>)) {
        clearTimeout(timer);
        stop();
        resolve(payload as EventPayload<E>);
      }
    });
  });
}

const ended = (runId: string) => (s: EventPayload<'training.state'>) => s.runId === runId && ['finished', 'stopped', 'failed'].includes(s.state);

async function start(studio: Studio, overrides: TrainingOverrides, name = 'trust'): Promise<string> {
  return (await call(studio, 'training.start', { datasetId: 'noto-emoji', presetId: 'quick-32', name, overrides: { ...TINY, ...overrides } })).runId;
}

async function trainToEnd(studio: Studio, overrides: TrainingOverrides, name?: string): Promise<string> {
  const runId = await start(studio, overrides, name);
  const end = await nextEvent(studio, 'training.state', ended(runId));
  assert.equal(end.state, 'finished', end.message ?? '');
  return runId;
}

function lossesByStep(stats: StatsRecord[]): Map<number, Record<string, number>> {
  return new Map(stats.map((r) => [r.step, r.losses]));
}

describe('runs you can trust', { timeout: 900_000 }, () => {
  let studio: Studio;

  before(async () => {
    process.env.GAN_STUDIO_BACKEND = 'wasm';
    studio = await createStudio({ host: 'web', libraryDir: path.join(temp, 'library') });
    await studio.datasets.ensureBuiltin();
  });

  after(async () => {
    await studio?.close();
  });

  it('kill -9 mid-run, then resume: the same losses, step for step, as a run that never stopped', async () => {
    const overrides = { totalKimg: kimgFor(48), snapshotSteps: 8 };
    const straight = await trainToEnd(studio, overrides, 'straight');

    const interrupted = await start(studio, overrides, 'interrupted');
    await nextEvent(studio, 'training.progress', (p) => p.runId === interrupted && p.step >= 20);
    const failed = nextEvent(studio, 'training.state', ended(interrupted));
    process.kill(studio.engine.enginePid ?? 0, 'SIGKILL');
    assert.equal((await failed).state, 'failed');

    const resumed = await call(studio, 'training.resumeRun', { runId: interrupted });
    assert.match(resumed.fromSnapshot, /^step-000000(16|24)$/);
    assert.ok(resumed.notes.some((n) => n.startsWith(`resumed from ${resumed.fromSnapshot}`)), resumed.notes.join('\n'));
    assert.equal((await nextEvent(studio, 'training.state', ended(interrupted))).state, 'finished');

    const a = lossesByStep((await call(studio, 'runs.get', { runId: straight })).stats);
    const b = lossesByStep((await call(studio, 'runs.get', { runId: interrupted })).stats);
    assert.deepEqual([...b.keys()], [...a.keys()], 'every step logged exactly once after the resume');
    assert.equal(a.size, 48);
    for (const [step, losses] of a) assert.deepEqual(b.get(step), losses, `losses at step ${step}`);
    const summary = (await call(studio, 'runs.get', { runId: interrupted })).summary;
    assert.equal(summary.step, 48);
    assert.equal(summary.state, 'finished');
  });

  it('kill -9 while snapshots are being written leaves only whole, verifiable snapshots', async () => {
    // A snapshot every step: the engine is nearly always writing one when it is killed.
    const runId = await start(studio, { totalKimg: kimgFor(2000), snapshotSteps: 1 }, 'kill mid-write');
    for (let kill = 0; kill < 3; kill++) {
      await nextEvent(studio, 'training.snapshot', (s) => s.runId === runId && s.snapshot.step >= 3);
      await new Promise((r) => setTimeout(r, 37 + kill * 29)); // land somewhere inside the next write
      const failed = nextEvent(studio, 'training.state', ended(runId));
      process.kill(studio.engine.enginePid ?? 0, 'SIGKILL');
      assert.equal((await failed).state, 'failed');
      const snapshots = await studio.runs.listSnapshots(runId);
      assert.ok(snapshots.length >= 3);
      for (const s of snapshots) {
        assert.ok(s.hasCheckpoint, `${s.id} is listed whole`);
        await studio.runs.readCheckpoint(runId, s.id); // throws on a torn or altered file
      }
      if (kill < 2) await call(studio, 'training.resumeRun', { runId });
    }
    // Leftovers of the interrupted writes are hidden temp folders, never listed snapshots.
    const names = await fs.readdir(path.join(studio.runs.dir(runId), 'snapshots'));
    assert.ok(names.every((n) => n.startsWith('step-') || n.startsWith('.tmp-')), names.join(', '));
  });

  it('a corrupt newest checkpoint is skipped, named, and the run resumes from the one before', async () => {
    const runId = await start(studio, { totalKimg: kimgFor(400), snapshotSteps: 4 }, 'corrupt');
    await nextEvent(studio, 'training.snapshot', (s) => s.runId === runId && s.snapshot.step >= 8);
    await call(studio, 'training.stop', { runId });
    await nextEvent(studio, 'training.state', ended(runId));
    const snapshots = await studio.runs.listSnapshots(runId);
    const newest = snapshots[snapshots.length - 1];
    const previous = snapshots[snapshots.length - 2];
    assert.ok(newest && previous);
    const file = path.join(studio.runs.dir(runId), 'snapshots', newest.id, 'weights.bin');
    const bytes = await fs.readFile(file);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x5a;
    await fs.writeFile(file, bytes);

    const resumed = await call(studio, 'training.resumeRun', { runId });
    assert.equal(resumed.fromSnapshot, previous.id);
    const skipped = resumed.notes.find((n) => n.startsWith(`skipped ${newest.id}`));
    assert.ok(skipped && skipped.includes(file) && /checksum/.test(skipped), resumed.notes.join('\n'));
    await call(studio, 'training.stop', { runId });
    await nextEvent(studio, 'training.state', ended(runId));
  });

  it('NaN weights roll back to the last good snapshot with halved learning rates, and the user is told', async () => {
    process.env.GAN_STUDIO_FAULT_NAN_AT_STEP = '10';
    await studio.engine.close(); // the next engine reads the fault setting
    try {
      const alert = nextEvent(studio, 'training.alert', () => true);
      const runId = await start(studio, { totalKimg: kimgFor(24), snapshotSteps: 8 }, 'nan');
      const warning = await alert;
      assert.equal(warning.level, 'warning');
      // The weights are poisoned after step 10; the next tick (step 11) is the first to see it.
      assert.match(warning.message, /non-finite values: .*NaN.* at step 11/);
      assert.match(warning.message, /Rolled back to step-00000008 \(step 8\) and halved the learning rates \(G 2\.0e-4 → 1\.0e-4, D 2\.0e-4 → 1\.0e-4\)/);
      const end = await nextEvent(studio, 'training.state', ended(runId));
      assert.equal(end.state, 'finished', end.message ?? '');
      const { stats } = await call(studio, 'runs.get', { runId });
      assert.deepEqual(
        stats.map((r) => r.step),
        Array.from({ length: 24 }, (_, i) => i + 1),
        'the poisoned steps were rolled back out of the log and redone',
      );
      assert.ok(stats.every((r) => Object.values(r.losses).every(Number.isFinite)));
      const last = await studio.runs.readCheckpoint(runId, 'step-00000024');
      assert.equal((last.manifest.trainerState as { lrScale: number }).lrScale, 0.5, 'the lower rate is kept in the checkpoint for resumes');

      const stopped = await start(studio, { totalKimg: kimgFor(24), snapshotSteps: 8, onNonFinite: 'stop' }, 'nan-stop');
      const stopEnd = await nextEvent(studio, 'training.state', ended(stopped));
      assert.equal(stopEnd.state, 'failed');
      assert.match(stopEnd.message ?? '', /non-finite values: .* at step 11; stopped \(policy: stop\)\. The newest good snapshot is step-00000008\./);
    } finally {
      delete process.env.GAN_STUDIO_FAULT_NAN_AT_STEP;
      await studio.engine.close();
    }
  });

  it('a full disk pauses training with a clear message; freeing space and resuming finishes the run', async (t) => {
    const mountPoint = path.join(temp, 'small-disk');
    mkdirSync(mountPoint);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    } catch {
      t.skip('mounting a size-limited tmpfs needs root (CI runs as root); not run here');
      return;
    }
    const small = await createStudio({ host: 'web', libraryDir: path.join(temp, 'library'), runsDir: path.join(mountPoint, 'runs') });
    try {
      const runId = (await call(small, 'training.start', { datasetId: 'noto-emoji', presetId: 'quick-32', name: 'disk', overrides: { ...TINY, totalKimg: kimgFor(40), snapshotSteps: 4 } })).runId;
      await nextEvent(small, 'training.snapshot', (s) => s.runId === runId && s.snapshot.step >= 4);
      const paused = nextEvent(small, 'training.state', (s) => s.runId === runId && s.state === 'paused');
      const filler = path.join(mountPoint, 'filler');
      await fs.writeFile(filler, Buffer.alloc(6 * 1024 * 1024)).catch(() => undefined); // fills what is left
      const pause = await paused;
      assert.match(pause.message ?? '', /could not be written to .*: ENOSPC \(the disk is full\)\. Training is paused at step \d+; earlier snapshots are intact\./);
      // run.json is on the full disk too: the pause reaches the UI as an event and through training.current.
      const current = await call(small, 'training.current', {});
      assert.equal(current.run?.id, runId);
      for (const s of await small.runs.listSnapshots(runId)) await small.runs.readCheckpoint(runId, s.id);

      await fs.rm(filler);
      await call(small, 'training.resume', { runId });
      const end = await nextEvent(small, 'training.state', ended(runId));
      assert.equal(end.state, 'finished', end.message ?? '');
      const { stats } = await call(small, 'runs.get', { runId });
      assert.deepEqual(stats.map((r) => r.step), Array.from({ length: 40 }, (_, i) => i + 1), 'no stats line lost or torn');
    } finally {
      await small.close();
      execFileSync('umount', [mountPoint]);
    }
  });

  it('fork and transfer: what is carried over and what is reinitialised is said', async () => {
    const source = await trainToEnd(studio, { totalKimg: kimgFor(8), snapshotSteps: 8 }, 'source');
    const fork = await call(studio, 'training.fork', { runId: source, snapshotId: 'step-00000008', overrides: { totalKimg: kimgFor(12), dLearningRate: 1e-4 } });
    assert.ok(fork.notes[0]?.startsWith(`copied `) && fork.notes[0].includes(`from ${source}/step-00000008`), fork.notes.join('\n'));
    assert.ok(fork.notes.includes('optimizer state and the step counter start fresh'));
    assert.equal((await nextEvent(studio, 'training.state', ended(fork.runId))).state, 'finished');
    const forked = await call(studio, 'runs.get', { runId: fork.runId });
    assert.deepEqual(forked.summary.parent, { runId: source, snapshotId: 'step-00000008' });
    assert.equal(forked.config.dLearningRate, 1e-4);
    assert.equal(forked.config.latentDim, 16, 'everything not overridden comes from the source run');

    // 16 → 32 px: G gains a layer and its inner layers change width; what fits is copied, the rest is named.
    const wider = await call(studio, 'training.fork', { runId: source, snapshotId: 'step-00000008', overrides: { totalKimg: kimgFor(4), resolution: 32 } });
    await nextEvent(studio, 'training.state', ended(wider.runId));
    const notes = wider.notes.join('\n');
    assert.match(notes, /^copied \d+ of \d+ weight tensors/);
    assert.match(notes, /resolution differs \(16 px in the checkpoint, 32 px here\)/);
    assert.match(notes, /reinitialised \d+: .*g\.up0\.weight \(\[4×4×16×32\] in the checkpoint, \[4×4×32×32\] here\)/);
    assert.match(notes, /g\.up1\.weight \(not in the checkpoint\)/);
  });

  it('rename, tag, archive and delete; a training run cannot be deleted', async () => {
    const runId = await start(studio, { totalKimg: kimgFor(2000), snapshotSteps: 100 }, 'bookkeeping');
    const refused = await studio.dispatch('runs.delete', { runId });
    assert.ok(!refused.ok && refused.error.code === 'conflict' && /stop it before deleting/.test(refused.error.message));
    await call(studio, 'training.stop', { runId });
    await nextEvent(studio, 'training.state', ended(runId));

    // Every window hears of it: runs.changed carries the new summary, or null for a deletion.
    const changed = nextEvent(studio, 'runs.changed', (e) => e.runId === runId, 10_000);
    const renamed = await call(studio, 'runs.update', { runId, name: 'Best cats', tags: ['cats', ' cats ', 'keep'], archived: true });
    assert.deepEqual([renamed.name, renamed.tags, renamed.archived], ['Best cats', ['cats', 'keep'], true]);
    assert.deepEqual((await changed).summary, renamed);
    assert.equal((await studio.runs.summary(runId)).name, 'Best cats');
    const deleted = nextEvent(studio, 'runs.changed', (e) => e.runId === runId, 10_000);
    await call(studio, 'runs.delete', { runId });
    assert.equal((await deleted).summary, null);
    assert.ok(!(await call(studio, 'runs.list', {})).some((r) => r.id === runId));
    await assert.rejects(fs.stat(studio.runs.dir(runId)));
  });
});
