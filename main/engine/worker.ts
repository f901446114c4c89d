/**
 * Entry point of the engine process. The main process starts it (Electron's utilityProcess in the app, a
 * forked Node process under `serve` and the CLI), so an out-of-memory or a native crash in training never
 * takes the UI down, and ending a run frees the GPU with the process.
 *
 * It picks the backend, then obeys ToEngine messages: one training run at a time, plus export jobs that
 * run between training steps.
 */
import { promises as fs } from 'node:fs';
import { messageOf } from '../errors.ts';
import { RunStore } from '../runs/runStore.ts';
import { selectBackend } from './backend.ts';
import { exportSamples } from './exportSamples.ts';
import { FromEngine, ToEngine, type DatasetRef } from './protocol.ts';
import { downsamplePacked, type PackedImages } from './training/dataFeed.ts';
import { TrainingLoop, type LoopInit } from './training/trainingLoop.ts';

interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

/** Electron's utilityProcess talks through process.parentPort; a forked Node child through process.send. */
function parentChannel(): { send(message: FromEngine): void; onMessage(listener: (message: unknown) => void): void } {
  const port = (process as unknown as { parentPort?: ParentPort }).parentPort;
  if (port) {
    return { send: (m) => port.postMessage(m), onMessage: (l) => port.on('message', (e) => l(e.data)) };
  }
  if (!process.send) throw new Error('the engine must be started by GAN Studio (no parent channel)');
  return { send: (m) => process.send?.(m), onMessage: (l) => process.on('message', l) };
}

const parent = parentChannel();
const send = (message: FromEngine): void => parent.send(FromEngine.parse(message));

let paused = false;
let stopRequested = false;
let resumeWaiters: Array<() => void> = [];
let training: Promise<void> | null = null;

async function loadDataset(ref: DatasetRef, resolution: number): Promise<PackedImages> {
  const pixels = new Uint8Array(await fs.readFile(ref.file));
  const expected = ref.count * ref.resolution * ref.resolution * 3;
  if (pixels.byteLength !== expected) {
    throw new Error(`${ref.file}: expected ${expected} bytes for ${ref.count} images of ${ref.resolution}×${ref.resolution}, found ${pixels.byteLength}; re-import the dataset`);
  }
  return downsamplePacked({ pixels, count: ref.count, resolution: ref.resolution }, resolution);
}

async function train(message: Extract<ToEngine, { type: 'train' }>, backend: string): Promise<void> {
  const { runId, config, init } = message;
  const runs = new RunStore(message.runsRoot);
  let loop: TrainingLoop | null = null;
  try {
    const images = await loadDataset(message.dataset, config.resolution);
    let loopInit: LoopInit = { kind: 'fresh' };
    if (init.kind === 'resume') {
      loopInit = { kind: 'resume', snapshotId: init.snapshotId, checkpoint: await runs.readCheckpoint(runId, init.snapshotId) };
      await runs.truncateStats(runId, loopInit.checkpoint.manifest.step);
    } else if (init.kind === 'transfer') {
      const source = new RunStore(init.runsRoot);
      loopInit = { kind: 'transfer', source: `${init.runId}/${init.snapshotId}`, checkpoint: await source.readCheckpoint(init.runId, init.snapshotId) };
    }
    const nanAtStep = Number(process.env.GAN_STUDIO_FAULT_NAN_AT_STEP);
    loop = new TrainingLoop(runId, config, images, runs, backend, loopInit, Number.isInteger(nanAtStep) && nanAtStep > 0 ? { nanAtStep } : {});
    send({ type: 'started', runId, notes: loop.notes });
    send({ type: 'state', runId, state: 'running', message: null });
    const current = loop;
    const result = await loop.run(
      {
        waitWhilePaused: () => (paused && !stopRequested ? new Promise<void>((resolve) => resumeWaiters.push(resolve)) : Promise.resolve()),
        stopRequested: () => stopRequested,
        pause: (reason) => {
          paused = true;
          send({ type: 'state', runId, state: 'paused', message: reason });
        },
      },
      {
        progress: (progress) => send({ type: 'progress', progress }),
        sample: (s) => send({ type: 'sample', runId, step: s.step, kimg: s.kimg, png: s.png.toString('base64') }),
        snapshot: (snapshot) => send({ type: 'snapshot', runId, snapshot }),
        alert: (level, text) => send({ type: 'alert', runId, step: current.step, level, message: text }),
      },
    );
    send({ type: 'state', runId, state: result.outcome, message: result.message });
  } catch (error) {
    const text = messageOf(error);
    const hint = /out of memory|OOM|allocate/i.test(text) ? ' (out of memory: try a smaller batch size or resolution)' : '';
    send({ type: 'state', runId, state: 'failed', message: `training failed at step ${loop?.step ?? 0}: ${text}${hint}` });
  } finally {
    loop?.dispose();
  }
}

function wake(): void {
  const waiters = resumeWaiters;
  resumeWaiters = [];
  for (const w of waiters) w();
}

async function main(): Promise<void> {
  let backendName = 'unknown';
  try {
    const backend = await selectBackend();
    backendName = backend.name;
    send({ type: 'ready', backend });
  } catch (error) {
    send({ type: 'fatal', message: messageOf(error) });
    process.exit(1);
  }

  parent.onMessage((raw) => {
    const parsed = ToEngine.safeParse(raw);
    if (!parsed.success) {
      console.error(`[engine] ignored a malformed message: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return;
    }
    const message = parsed.data;
    switch (message.type) {
      case 'train':
        if (training) {
          send({ type: 'state', runId: message.runId, state: 'failed', message: 'the engine is already training another run' });
          return;
        }
        paused = false;
        stopRequested = false;
        training = train(message, backendName).finally(() => {
          training = null;
        });
        return;
      case 'pause':
        paused = true;
        return;
      case 'resume':
        paused = false;
        wake();
        return;
      case 'stop':
        stopRequested = true;
        wake();
        return;
      case 'export':
        exportSamples(new RunStore(message.request.runsRoot), message.request).then(
          (result) => send({ type: 'exportDone', jobId: message.jobId, result }),
          (error: unknown) => send({ type: 'exportFailed', jobId: message.jobId, message: messageOf(error) }),
        );
        return;
      case 'shutdown':
        stopRequested = true;
        wake();
        void (training ?? Promise.resolve()).then(() => process.exit(0));
        return;
    }
  });
}

void main();
