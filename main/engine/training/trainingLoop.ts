/**
 * The training loop, top to bottom: take a batch, run the family's step, and on schedule write a stats
 * line (tick), refresh the live sample grid, and write a snapshot (grid + checkpoint). It yields to the
 * event loop between steps so pause/stop/export messages are handled while it trains.
 */
import * as tf from '@tensorflow/tfjs';
import type { SnapshotInfo, StatsRecord, TrainingProgress } from '../../../shared/contract.ts';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import { encodeGridPng } from '../../imaging/grid.ts';
import { CheckpointManifest, sha256, snapshotId, type Checkpoint, type RunStore } from '../../runs/runStore.ts';
import { Rng, mixSeed } from '../rng.ts';
import { packTensors, unpackTensors } from './checkpoint.ts';
import { DataFeed, toUint8, type FeedPosition, type PackedImages } from './dataFeed.ts';
import { createFamily, type GanFamily } from './family.ts';

export interface LoopEvents {
  progress(progress: TrainingProgress): void;
  sample(sample: { step: number; kimg: number; png: Buffer }): void;
  snapshot(snapshot: SnapshotInfo): void;
  alert(level: 'info' | 'warning' | 'error', message: string): void;
}

export interface LoopControl {
  /** Resolves when training may continue (immediately unless paused). */
  waitWhilePaused(): Promise<void>;
  stopRequested(): boolean;
  /** Pause on the loop's own initiative (a full disk), with the reason the user will see. */
  pause(reason: string): void;
}

/** How the networks start; see TrainInit in ../protocol.ts. */
export type LoopInit =
  | { kind: 'fresh' }
  | { kind: 'resume'; snapshotId: string; checkpoint: Checkpoint }
  | { kind: 'transfer'; source: string; checkpoint: Checkpoint };

/**
 * Fault injection, for proving the guards: poison a weight with NaN once, after the given step.
 * Set through GAN_STUDIO_FAULT_NAN_AT_STEP in the engine process; never set by the studio itself.
 */
export interface LoopFaults {
  nanAtStep?: number;
}

export interface LoopOutcome {
  outcome: 'finished' | 'stopped' | 'failed';
  message: string | null;
}

/** Errors that mean "the disk said no", not "the code is wrong": training pauses instead of failing. */
const DISK_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO']);
function diskErrorCode(error: unknown): string | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code && DISK_ERRORS.has(code) ? code : null;
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
  /** Learning-rate multiplier: 1, or 0.5 after a NaN rollback (kept across resumes). */
  lrScale: number;
  rollbacks: number;
}

/**
 * What a resume should tell the user when the images under the run are not the ones its snapshot was
 * trained on: a rebuilt or re-imported dataset keeps its id, and the data order restored from the snapshot
 * then walks other images. Snapshots record the images' count and SHA-256 (older ones only the count).
 */
export function datasetChangeNote(saved: { datasetCount?: unknown; datasetSha256?: unknown }, count: number, sha: string): string | null {
  const then = typeof saved.datasetCount === 'number' ? saved.datasetCount : null;
  const thenSha = typeof saved.datasetSha256 === 'string' ? saved.datasetSha256 : null;
  const tail = 'training continues on the current images, so the continuation is not exact';
  if (then !== null && then !== count) return `the dataset changed since this snapshot (${then} images then, ${count} now): ${tail}`;
  if (thenSha !== null && thenSha !== sha) return `the dataset's images changed since this snapshot (${count} images then and now, different content): ${tail}`;
  return null;
}

function withLrScale(config: ResolvedConfig, scale: number): ResolvedConfig {
  return scale === 1 ? config : { ...config, gLearningRate: config.gLearningRate * scale, dLearningRate: config.dLearningRate * scale };
}

function restoreState(family: GanFamily, checkpoint: Checkpoint, options: { generatorOnly: boolean }): void {
  const tensors = unpackTensors(checkpoint.manifest.tensors, checkpoint.weights);
  try {
    family.loadState(tensors, options);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/**
 * Copy every weight whose name and shape match (fine-tuning, or a fork with another architecture) and
 * say what was not copied and why. Optimizer state is not carried over: it belongs to the old run.
 */
export function transferWeights(family: GanFamily, checkpoint: Checkpoint, source: string, config: ResolvedConfig): string[] {
  const from = checkpoint.manifest.config;
  const notes: string[] = [];
  if (from.family !== config.family) notes.push(`the checkpoint is a ${from.family} model and this run is ${config.family}: only tensors with the same name and shape are copied`);
  if (from.resolution !== config.resolution) notes.push(`resolution differs (${from.resolution} px in the checkpoint, ${config.resolution} px here): layers whose shape depends on it are reinitialised`);
  const entries = new Map(checkpoint.manifest.tensors.map((e) => [e.name, e]));
  const tensors = unpackTensors(checkpoint.manifest.tensors, checkpoint.weights);
  let copied = 0;
  let converted = 0;
  let total = 0;
  const reinitialised: string[] = [];
  try {
    for (const [name, target] of family.stateTensors()) {
      if (name.startsWith('opt')) continue;
      total++;
      const entry = entries.get(name);
      const value = tensors.get(name);
      if (!entry || !value) {
        reinitialised.push(`${name} (not in the checkpoint)`);
      } else if (!tf.util.arraysEqual(entry.shape, target.shape)) {
        reinitialised.push(`${name} ([${entry.shape.join('×')}] in the checkpoint, [${target.shape.join('×')}] here)`);
      } else if (target instanceof tf.Variable) {
        const factor = family.transferFactor?.(name, from) ?? 1;
        if (factor === 1) {
          target.assign(value);
        } else {
          tf.tidy(() => target.assign(value.mul(factor)));
          converted++;
        }
        copied++;
      }
    }
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  if (copied === 0) throw new Error(`nothing in ${source} fits this model (${from.family} ${from.resolution} px → ${config.family} ${config.resolution} px); start a fresh run instead`);
  notes.unshift(`copied ${copied} of ${total} weight tensors from ${source}`);
  if (converted) notes.push(`rescaled ${converted} weights: the checkpoint's run ${from.equalizedLr ? 'used' : 'did not use'} the equalized learning rate, this one ${config.equalizedLr ? 'does' : 'does not'}`);
  if (reinitialised.length) notes.push(`reinitialised ${reinitialised.length}: ${reinitialised.join(', ')}`);
  notes.push('optimizer state and the step counter start fresh');
  return notes;
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
  private family: GanFamily;
  private feed: DataFeed;
  private readonly totalSteps: number;
  private state: TrainerState;
  private readonly grid: tf.Tensor2D;
  /** The newest snapshot this run can roll back to. */
  private lastGoodSnapshot: string | null = null;
  /** What was loaded from where, for the user (resume and fork report it). */
  readonly notes: string[] = [];
  /** SHA-256 of the training images (at the training resolution), recorded in every snapshot. */
  private readonly datasetSha256: string;

  constructor(
    private readonly runId: string,
    private readonly config: ResolvedConfig,
    private readonly images: PackedImages,
    private readonly runs: RunStore,
    private readonly backend: string,
    init: LoopInit = { kind: 'fresh' },
    private readonly faults: LoopFaults = {},
  ) {
    this.totalSteps = Math.ceil((config.totalKimg * 1000) / config.batchSize);
    this.datasetSha256 = sha256(images.pixels);
    this.state = { step: 0, feed: { epoch: 0, index: 0 }, elapsedSec: 0, lrScale: 1, rollbacks: 0 };
    if (init.kind === 'resume') {
      this.state = { ...this.state, ...(init.checkpoint.manifest.trainerState as Partial<TrainerState>) };
    }
    this.family = createFamily(withLrScale(config, this.state.lrScale));
    try {
      if (init.kind === 'resume') {
        restoreState(this.family, init.checkpoint, { generatorOnly: false });
        this.lastGoodSnapshot = init.snapshotId;
        this.notes.push(`resumed from ${init.snapshotId} (step ${this.state.step}, kimg ${this.kimg().toFixed(2)}): weights, optimizer state and data order restored`);
        if (this.state.lrScale !== 1) this.notes.push(`learning rates stay at ×${this.state.lrScale} after an earlier NaN rollback`);
        const changed = datasetChangeNote(init.checkpoint.manifest.trainerState, images.count, this.datasetSha256);
        if (changed) this.notes.push(changed);
      } else if (init.kind === 'transfer') {
        this.notes.push(...transferWeights(this.family, init.checkpoint, init.source, config));
      }
    } catch (error) {
      this.family.dispose(); // a checkpoint that does not fit must not leave a model behind
      throw error;
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

  async run(control: LoopControl, events: LoopEvents): Promise<LoopOutcome> {
    const { config } = this;
    if (this.state.step === 0) {
      const realCount = Math.min(config.gridSide ** 2, this.feed.count);
      const reals = this.feed.spreadImages(realCount);
      const png = await encodeGridPng(reals, realCount, config.resolution, Math.ceil(Math.sqrt(realCount)));
      await this.persist('reals.png', control, events, () => this.runs.writeReals(this.runId, png));
      await this.emitSample(events);
    }
    const tick = new TickAccumulator();
    let tickStart = performance.now();
    let tickImages = 0;
    let outcome: LoopOutcome = { outcome: 'finished', message: null };

    try {
      while (this.state.step < this.totalSteps) {
        await control.waitWhilePaused();
        if (control.stopRequested()) {
          outcome = { outcome: 'stopped', message: null };
          break;
        }
        const stepStart = performance.now();
        const reals = this.feed.next(config.batchSize, this.state.step);
        const scalars = this.family.trainStep(reals, this.state.step);
        reals.dispose();
        tick.add(scalars);
        this.state.step++;
        if (this.faults.nanAtStep === this.state.step) {
          this.faults.nanAtStep = undefined; // once: a rollback replays this step
          this.poisonWeights();
        }
        this.state.feed = this.feed.state;
        tickImages += config.batchSize;
        this.state.elapsedSec += (performance.now() - stepStart) / 1000;

        const step = this.state.step;
        if (step % config.tickSteps === 0 || step === this.totalSteps) {
          const losses = await tick.read(this.family.scalarNames);
          const bad = Object.entries(losses).filter(([, v]) => !Number.isFinite(v));
          if (bad.length) {
            const verdict = await this.onNonFinite(`${bad.map(([k, v]) => `${k} = ${v}`).join(', ')} at step ${step}`, events);
            if (verdict) return verdict;
            tickImages = 0;
            tickStart = performance.now();
            continue;
          }
          const imgPerSec = (tickImages * 1000) / Math.max(1, performance.now() - tickStart);
          const record: StatsRecord = {
            step,
            kimg: this.kimg(),
            elapsedSec: this.state.elapsedSec,
            imgPerSec,
            losses,
            timestamp: new Date().toISOString(),
            memoryBytes: tf.memory().numBytes,
          };
          await this.persist('stats.jsonl', control, events, () => this.runs.appendStats(this.runId, record));
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
        if (step % config.snapshotSteps === 0) {
          const verdict = await this.snapshotOrRollback(control, events);
          if (verdict) return verdict;
        }
        // Let pause/stop/export messages in between steps.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      // Whatever ended the loop, the work so far is kept.
      if (this.state.step % config.snapshotSteps !== 0 || this.state.step === 0) {
        if (this.state.step % config.sampleSteps !== 0) await this.emitSample(events);
        const verdict = await this.snapshotOrRollback(control, events);
        if (verdict) return verdict;
      }
      return outcome;
    } finally {
      tick.dispose();
    }
  }

  /**
   * Run a write; if the disk refuses it (full, read-only, permissions), pause with a message that says
   * so and retry on resume. Earlier snapshots are untouched: every write is atomic.
   */
  private async persist<T>(what: string, control: LoopControl, events: LoopEvents, write: () => Promise<T>): Promise<T | null> {
    for (;;) {
      try {
        return await write();
      } catch (error) {
        const code = diskErrorCode(error);
        if (!code) throw error;
        const where = this.runs.dir(this.runId);
        if (control.stopRequested()) {
          events.alert('error', `${what} could not be written (${code}) while stopping; the run keeps its earlier snapshots in ${where}`);
          return null;
        }
        const message = `${what} could not be written to ${where}: ${code}${code === 'ENOSPC' ? ' (the disk is full)' : ''}. Training is paused at step ${this.state.step}; earlier snapshots are intact. Free space or fix the folder, then resume.`;
        events.alert('error', message);
        control.pause(message);
        await control.waitWhilePaused();
      }
    }
  }

  /** Write a snapshot unless the weights went non-finite; then roll back (or stop) instead. */
  private async snapshotOrRollback(control: LoopControl, events: LoopEvents): Promise<LoopOutcome | null> {
    if (!(await this.weightsFinite())) return this.onNonFinite(`the network weights became non-finite by step ${this.state.step}`, events);
    const info = await this.persist(`snapshot ${snapshotId(this.state.step)}`, control, events, () => this.snapshot());
    if (info) {
      this.lastGoodSnapshot = info.id;
      events.snapshot(info);
    }
    return null;
  }

  private poisonWeights(): void {
    const target = this.family.stateTensors().find(([name, t]) => !name.startsWith('opt') && t instanceof tf.Variable);
    if (target?.[1] instanceof tf.Variable) {
      const variable = target[1];
      tf.tidy(() => variable.assign(tf.fill(variable.shape, NaN)));
    }
  }

  private async weightsFinite(): Promise<boolean> {
    const ok = tf.tidy(() => tf.stack(this.family.stateTensors().map(([, t]) => t.isFinite().all().cast('float32'))).min());
    const value = (await ok.data())[0];
    ok.dispose();
    return value === 1;
  }

  /**
   * NaN/Inf: by the run's policy, roll back to the last good snapshot with halved learning rates (once),
   * or stop. Returns the outcome when the run must end, null when it rolled back and goes on.
   */
  private async onNonFinite(what: string, events: LoopEvents): Promise<LoopOutcome | null> {
    const newest = this.lastGoodSnapshot ? ` The newest good snapshot is ${this.lastGoodSnapshot}.` : '';
    if (this.config.onNonFinite === 'stop') return { outcome: 'failed', message: `non-finite values: ${what}; stopped (policy: stop).${newest}` };
    if (this.state.rollbacks >= 1) return { outcome: 'failed', message: `non-finite values again after a rollback: ${what}; stopped.${newest} Try lower learning rates or another preset.` };
    if (!this.lastGoodSnapshot) return { outcome: 'failed', message: `non-finite values before the first snapshot: ${what}; nothing to roll back to. Try lower learning rates.` };

    const checkpoint = await this.runs.readCheckpoint(this.runId, this.lastGoodSnapshot);
    const previous = this.state;
    const restored = checkpoint.manifest.trainerState as Partial<TrainerState>;
    const lrScale = (restored.lrScale ?? 1) * 0.5;
    this.family.dispose();
    this.family = createFamily(withLrScale(this.config, lrScale));
    restoreState(this.family, checkpoint, { generatorOnly: false });
    this.state = { ...previous, ...restored, lrScale, rollbacks: previous.rollbacks + 1, elapsedSec: previous.elapsedSec };
    this.feed = new DataFeed(this.images, this.config.seed, this.config.xflip, this.state.feed);
    await this.runs.truncateStats(this.runId, this.state.step);
    const lr = (x: number) => x.toExponential(1);
    events.alert(
      'warning',
      `non-finite values: ${what}. Rolled back to ${this.lastGoodSnapshot} (step ${this.state.step}) and halved the learning rates ` +
        `(G ${lr(this.config.gLearningRate * lrScale * 2)} → ${lr(this.config.gLearningRate * lrScale)}, D ${lr(this.config.dLearningRate * lrScale * 2)} → ${lr(this.config.dLearningRate * lrScale)}).`,
    );
    return null;
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
      // The dataset's size and hash ride along, so a resume can tell when the images changed underneath the run.
      trainerState: { ...this.state, datasetCount: this.images.count, datasetSha256: this.datasetSha256 },
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
