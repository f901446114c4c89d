/**
 * The training loop, top to bottom: take a batch, run the family's step, and on schedule write a stats
 * line (tick), refresh the live sample grid, and write a snapshot (grid + checkpoint). It yields to the
 * event loop between steps so pause/stop/export messages are handled while it trains.
 */
import * as tf from '@tensorflow/tfjs';
import type { SnapshotInfo, StatsRecord, TrainingProgress } from '../../../shared/contract.ts';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import { encodeGridPng } from '../../imaging/grid.ts';
import { CheckpointManifest, sha256, type Checkpoint, type RunStore } from '../../runs/runStore.ts';
import { Rng, mixSeed } from '../rng.ts';
import { packTensors, unpackTensors } from './checkpoint.ts';
import { DataFeed, toUint8, type FeedPosition, type PackedImages } from './dataFeed.ts';
import { createFamily, type GanFamily } from './family.ts';

export interface LoopEvents {
  progress(progress: TrainingProgress): void;
  sample(sample: { step: number; kimg: number; png: Buffer }): void;
  snapshot(snapshot: SnapshotInfo): void;
}

export interface LoopControl {
  /** Resolves when training may continue (immediately unless paused). */
  waitWhilePaused(): Promise<void>;
  stopRequested(): boolean;
}

/** Sums a step's scalars on the device; read once per tick (one device sync, not one per step). */
class TickAccumulator {
  private sum: tf.Tensor1D | null = null;
  steps = 0;

  add(scalars: tf.Tensor1D): void {
    const previous = this.sum;
    this.sum = previous ? tf.tidy(() => previous.add<tf.Tensor1D>(scalars)) : scalars;
    if (previous) {
      previous.dispose();
      scalars.dispose();
    }
    this.steps++;
  }

  /** Means over the tick, by name; resets the accumulator. */
  async read(names: readonly string[]): Promise<Record<string, number>> {
    const sum = this.sum;
    const steps = this.steps;
    this.sum = null;
    this.steps = 0;
    const values = sum ? await sum.data() : new Float32Array(names.length).fill(NaN);
    sum?.dispose();
    return Object.fromEntries(names.map((name, i) => [name, (values[i] ?? NaN) / Math.max(1, steps)]));
  }

  dispose(): void {
    this.sum?.dispose();
    this.sum = null;
  }
}

interface TrainerState {
  step: number;
  feed: FeedPosition;
  elapsedSec: number;
}

/** The fixed latents of the live grid: the same faces, step after step. */
export function gridLatents(config: ResolvedConfig): tf.Tensor2D {
  const n = config.gridSide ** 2;
  return tf.tensor2d(new Rng(mixSeed(config.seed, 0x9a1d)).normalArray(n * config.latentDim), [n, config.latentDim]);
}

/** Run a generator over latents in chunks (bounded memory) and return packed uint8 RGB. */
export async function generatePixels(family: GanFamily, z: tf.Tensor2D, chunk = 32): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let start = 0; start < z.shape[0]; start += chunk) {
    const images = tf.tidy(() => family.generate(z.slice([start, 0], [Math.min(chunk, z.shape[0] - start), -1])));
    parts.push(await toUint8(images));
    images.dispose();
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class TrainingLoop {
  private readonly family: GanFamily;
  private readonly feed: DataFeed;
  private readonly totalSteps: number;
  private state: TrainerState;
  private readonly grid: tf.Tensor2D;

  constructor(
    private readonly runId: string,
    private readonly config: ResolvedConfig,
    images: PackedImages,
    private readonly runs: RunStore,
    private readonly backend: string,
    resume: Checkpoint | null,
  ) {
    this.family = createFamily(config);
    this.totalSteps = Math.ceil((config.totalKimg * 1000) / config.batchSize);
    this.state = { step: 0, feed: { epoch: 0, index: 0 }, elapsedSec: 0 };
    if (resume) {
      const tensors = unpackTensors(resume.manifest.tensors, resume.weights);
      try {
        this.family.loadState(tensors, { generatorOnly: false });
      } catch (error) {
        this.family.dispose(); // a checkpoint that does not fit must not leave a model behind
        throw error;
      } finally {
        for (const t of tensors.values()) t.dispose();
      }
      this.state = resume.manifest.trainerState as unknown as TrainerState;
    }
    this.feed = new DataFeed(images, config.seed, config.xflip, this.state.feed);
    this.grid = gridLatents(config);
  }

  get step(): number {
    return this.state.step;
  }

  private kimg(step = this.state.step): number {
    return (step * this.config.batchSize) / 1000;
  }

  async run(control: LoopControl, events: LoopEvents): Promise<'finished' | 'stopped'> {
    const { config } = this;
    if (this.state.step === 0) {
      const realCount = Math.min(config.gridSide ** 2, this.feed.count);
      const reals = this.feed.spreadImages(realCount);
      await this.runs.writeReals(this.runId, await encodeGridPng(reals, realCount, config.resolution, Math.ceil(Math.sqrt(realCount))));
      await this.emitSample(events);
    }
    const tick = new TickAccumulator();
    let tickStart = performance.now();
    let tickImages = 0;
    let outcome: 'finished' | 'stopped' = 'finished';

    while (this.state.step < this.totalSteps) {
      await control.waitWhilePaused();
      if (control.stopRequested()) {
        outcome = 'stopped';
        break;
      }
      const stepStart = performance.now();
      const reals = this.feed.next(config.batchSize, this.state.step);
      const scalars = this.family.trainStep(reals, this.state.step);
      reals.dispose();
      tick.add(scalars);
      this.state.step++;
      this.state.feed = this.feed.state;
      tickImages += config.batchSize;
      this.state.elapsedSec += (performance.now() - stepStart) / 1000;

      const step = this.state.step;
      if (step % config.tickSteps === 0 || step === this.totalSteps) {
        const losses = await tick.read(this.family.scalarNames);
        const now = performance.now();
        const imgPerSec = (tickImages * 1000) / Math.max(1, now - tickStart);
        const record: StatsRecord = {
          step,
          kimg: this.kimg(),
          elapsedSec: this.state.elapsedSec,
          imgPerSec,
          losses,
          timestamp: new Date().toISOString(),
        };
        await this.runs.appendStats(this.runId, record);
        events.progress({
          runId: this.runId,
          step,
          kimg: record.kimg,
          totalKimg: config.totalKimg,
          imgPerSec,
          elapsedSec: this.state.elapsedSec,
          etaSec: imgPerSec > 0 ? ((this.totalSteps - step) * config.batchSize) / imgPerSec : null,
          losses,
        });
        tickImages = 0;
        tickStart = performance.now();
      }
      if (step % config.sampleSteps === 0) await this.emitSample(events);
      if (step % config.snapshotSteps === 0) events.snapshot(await this.snapshot());
      // Let pause/stop/export messages in between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    tick.dispose();
    // Whatever ended the loop, the work so far is kept.
    if (this.state.step % config.snapshotSteps !== 0 || this.state.step === 0) {
      if (this.state.step % config.sampleSteps !== 0) await this.emitSample(events);
      events.snapshot(await this.snapshot());
    }
    return outcome;
  }

  private async gridPng(): Promise<Buffer> {
    const pixels = await generatePixels(this.family, this.grid);
    return encodeGridPng(pixels, this.config.gridSide ** 2, this.config.resolution, this.config.gridSide);
  }

  private async emitSample(events: LoopEvents): Promise<void> {
    events.sample({ step: this.state.step, kimg: this.kimg(), png: await this.gridPng() });
  }

  /** Grid + full checkpoint, written atomically by the run store. */
  async snapshot(): Promise<SnapshotInfo> {
    const { entries, bytes } = await packTensors(this.family.stateTensors());
    const manifest = CheckpointManifest.parse({
      format: 'gan-studio-checkpoint/1',
      step: this.state.step,
      kimg: this.kimg(),
      createdAt: new Date().toISOString(),
      backend: this.backend,
      config: this.config,
      tensors: entries,
      trainerState: { ...this.state },
      weightsByteLength: bytes.byteLength,
      weightsSha256: sha256(bytes),
    });
    return this.runs.writeSnapshot(this.runId, {
      step: this.state.step,
      kimg: this.kimg(),
      grid: await this.gridPng(),
      checkpoint: { manifest, weights: bytes },
    });
  }

  dispose(): void {
    this.family.dispose();
    this.grid.dispose();
  }
}
