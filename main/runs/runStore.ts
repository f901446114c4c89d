/**
 * The one reader/writer of run directories. A run is plain files a person (or a script) can open:
 *
 *   <library>/runs/<runId>/
 *     run.json                     name, state, dataset, step/kimg, timestamps   (written by the main process)
 *     config.json                  the fully resolved training config            (written once, at creation)
 *     stats.jsonl                  one StatsRecord per tick                      (appended by the engine)
 *     reals.png                    a grid of real training images                (engine)
 *     snapshots/step-00000250/     grid.png, and checkpoint.json + weights.bin   (engine, atomically)
 *     exports/<snapshot>-<time>/   seed0000042.png ..., grid.png                 (engine, on request)
 *
 * Each file has a single writing process, so the main process and the engine never race on one file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { SnapshotInfo} from '../../shared/contract.ts';
import { RunSummary, StatsRecord, type RunState } from '../../shared/contract.ts';
import { ResolvedConfig, withRecordedMeanings } from '../../shared/presets.ts';
import { StudioError, notFound } from '../errors.ts';
import { syncDir, writeFileAtomic } from './atomicFile.ts';

export const TensorEntry = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.enum(['float32', 'int32']),
  offset: z.number().int().nonnegative(),
  byteLength: z.number().int().nonnegative(),
});
export type TensorEntry = z.infer<typeof TensorEntry>;

export const CheckpointManifest = z.object({
  format: z.literal('gan-studio-checkpoint/1'),
  step: z.number().int(),
  kimg: z.number(),
  createdAt: z.string(),
  backend: z.string(),
  config: ResolvedConfig,
  tensors: z.array(TensorEntry),
  /** Everything else the trainer needs to continue exactly (RNG state, counters, ...). */
  trainerState: z.record(z.string(), z.unknown()),
  weightsByteLength: z.number().int(),
  weightsSha256: z.string(),
});
export type CheckpointManifest = z.infer<typeof CheckpointManifest>;

export interface Checkpoint {
  manifest: CheckpointManifest;
  weights: Uint8Array;
}

export interface NewRun {
  name: string;
  config: ResolvedConfig;
  datasetId: string;
  datasetName: string;
  backend: string;
  parent?: { runId: string; snapshotId: string } | null;
}

export type RunPatch = Partial<Pick<RunSummary, 'name' | 'state' | 'step' | 'kimg' | 'message' | 'tags' | 'archived' | 'trainingSec'>>;

/** The newest checkpoint of a run that verifies, and what was skipped on the way (named, with why). */
export interface ValidCheckpoint {
  snapshotId: string;
  checkpoint: Checkpoint;
  skipped: string[];
}

const SNAPSHOT_PREFIX = 'step-';
export const snapshotId = (step: number): string => `${SNAPSHOT_PREFIX}${String(step).padStart(8, '0')}`;

const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40) || 'run';

function timestampId(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

export class RunStore {
  /** run.json updates are read-modify-write; they are serialised per run so none is lost. */
  private readonly summaryQueues = new Map<string, Promise<unknown>>();

  constructor(readonly root: string) {}

  dir(runId: string): string {
    return path.join(this.root, runId);
  }

  async create(run: NewRun): Promise<RunSummary> {
    await fs.mkdir(this.root, { recursive: true });
    const now = new Date();
    const id = `${timestampId(now)}-${slug(run.name)}-${randomBytes(2).toString('hex')}`;
    const dir = this.dir(id);
    await fs.mkdir(path.join(dir, 'snapshots'), { recursive: true });
    await writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify(run.config, null, 2) + '\n');
    const summary: RunSummary = {
      id,
      name: run.name,
      state: 'starting',
      datasetId: run.datasetId,
      datasetName: run.datasetName,
      presetId: run.config.presetId,
      family: run.config.family,
      resolution: run.config.resolution,
      step: 0,
      kimg: 0,
      totalKimg: run.config.totalKimg,
      backend: run.backend,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      message: null,
      tags: [],
      archived: false,
      trainingSec: 0,
      parent: run.parent ?? null,
    };
    await this.writeSummary(summary);
    return summary;
  }

  private async writeSummary(summary: RunSummary): Promise<void> {
    await writeFileAtomic(path.join(this.dir(summary.id), 'run.json'), JSON.stringify(summary, null, 2) + '\n');
  }

  async summary(runId: string): Promise<RunSummary> {
    const file = path.join(this.dir(runId), 'run.json');
    const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw notFound(`run ${runId}`);
      throw error;
    });
    const parsed = RunSummary.safeParse(JSON.parse(text));
    if (!parsed.success) throw new StudioError('internal', `${file} is not a valid run summary: ${parsed.error.issues[0]?.message ?? ''}`);
    return parsed.data;
  }

  update(runId: string, patch: RunPatch): Promise<RunSummary> {
    const previous = this.summaryQueues.get(runId) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const updated = { ...(await this.summary(runId)), ...patch, updatedAt: new Date().toISOString() };
        await this.writeSummary(updated);
        return updated;
      });
    this.summaryQueues.set(runId, next);
    void next.finally(() => {
      if (this.summaryQueues.get(runId) === next) this.summaryQueues.delete(runId);
    }).catch(() => undefined);
    return next;
  }

  async setState(runId: string, state: RunState, message: string | null = null): Promise<RunSummary> {
    return this.update(runId, { state, message });
  }

  /** Every run, newest first. A folder that is not a readable run is skipped with a warning naming it. */
  async list(): Promise<RunSummary[]> {
    const entries = await fs.readdir(this.root, { withFileTypes: true }).catch(() => []);
    const runs: RunSummary[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      try {
        runs.push(await this.summary(entry.name));
      } catch (error) {
        console.warn(`[runs] skipping ${path.join(this.root, entry.name)}: ${(error as Error).message}`);
      }
    }
    return runs.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /**
   * The process training a run leaves its pid in `.owner`, so another studio or CLI on the same library
   * can tell a live run from one that was interrupted.
   */
  async claim(runId: string): Promise<void> {
    await writeFileAtomic(path.join(this.dir(runId), '.owner'), `${process.pid}\n`);
  }

  async release(runId: string): Promise<void> {
    await fs.rm(path.join(this.dir(runId), '.owner'), { force: true });
  }

  /** True if another live process owns the run. */
  async ownedElsewhere(runId: string): Promise<boolean> {
    const text = await fs.readFile(path.join(this.dir(runId), '.owner'), 'utf8').catch(() => '');
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  /** Remove a run directory and everything in it. The caller makes sure it is not training. */
  async delete(runId: string): Promise<void> {
    await this.summary(runId); // not_found for an unknown id, before anything is removed
    const dir = this.dir(runId);
    // Rename first, so a crash mid-delete leaves a hidden folder rather than half a run in the list.
    const doomed = path.join(this.root, `.deleting-${runId}-${randomBytes(3).toString('hex')}`);
    await fs.rename(dir, doomed);
    await fs.rm(doomed, { recursive: true, force: true });
  }

  async config(runId: string): Promise<ResolvedConfig> {
    const file = path.join(this.dir(runId), 'config.json');
    const text = await fs.readFile(file, 'utf8').catch(() => {
      throw notFound(`config of run ${runId}`);
    });
    const parsed = ResolvedConfig.safeParse(JSON.parse(text));
    if (!parsed.success) throw new StudioError('internal', `${file} is not a valid config: ${parsed.error.issues[0]?.message ?? ''}`);
    return withRecordedMeanings(parsed.data);
  }

  // ---- stats.jsonl ----

  /** Append one line; if the write fails part-way (a full disk), cut the file back so no torn line remains. */
  async appendStats(runId: string, record: StatsRecord): Promise<void> {
    const file = path.join(this.dir(runId), 'stats.jsonl');
    const before = await fs.stat(file).then((st) => st.size, () => 0);
    try {
      await fs.appendFile(file, JSON.stringify(record) + '\n');
    } catch (error) {
      await fs.truncate(file, before).catch(() => undefined);
      throw error;
    }
  }

  /** All stats lines; a torn last line (a crash mid-append) is ignored rather than failing the read. */
  async readStats(runId: string): Promise<StatsRecord[]> {
    const text = await fs.readFile(path.join(this.dir(runId), 'stats.jsonl'), 'utf8').catch(() => '');
    const records: StatsRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const parsed = StatsRecord.safeParse(JSON.parse(line));
        if (parsed.success) records.push(parsed.data);
      } catch {
        // torn line
      }
    }
    return records;
  }

  /**
   * Drop stats lines past `step`: after a resume from a snapshot, the work logged after it was lost with
   * the process and will be redone, so the chart must not show it twice.
   */
  async truncateStats(runId: string, step: number): Promise<void> {
    const kept = (await this.readStats(runId)).filter((r) => r.step <= step);
    await writeFileAtomic(path.join(this.dir(runId), 'stats.jsonl'), kept.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  // ---- images ----

  async writeReals(runId: string, png: Uint8Array): Promise<void> {
    await writeFileAtomic(path.join(this.dir(runId), 'reals.png'), png);
  }

  async readImage(runId: string, image: 'reals' | { snapshot: string }): Promise<Buffer> {
    const file =
      image === 'reals' ? path.join(this.dir(runId), 'reals.png') : path.join(this.snapshotDir(runId, image.snapshot), 'grid.png');
    return fs.readFile(file).catch(() => {
      throw notFound(image === 'reals' ? `reals.png of run ${runId}` : `grid of snapshot ${image.snapshot} in run ${runId}`);
    });
  }

  // ---- snapshots ----

  snapshotDir(runId: string, snapshot: string): string {
    if (!snapshot.startsWith(SNAPSHOT_PREFIX) || snapshot.includes('/') || snapshot.includes('..')) {
      throw notFound(`snapshot ${snapshot}`);
    }
    return path.join(this.dir(runId), 'snapshots', snapshot);
  }

  /**
   * Write a snapshot as a unit: its files go to a hidden temp folder that is renamed into place, so a
   * snapshot folder that exists is complete. The checksum in the manifest catches anything else.
   */
  async writeSnapshot(runId: string, snap: { step: number; kimg: number; grid: Uint8Array; checkpoint?: Checkpoint }): Promise<SnapshotInfo> {
    const id = snapshotId(snap.step);
    const parent = path.join(this.dir(runId), 'snapshots');
    const final = path.join(parent, id);
    const tmp = path.join(parent, `.tmp-${id}-${process.pid}`);
    await fs.rm(tmp, { recursive: true, force: true });
    await fs.mkdir(tmp, { recursive: true });
    await writeFileAtomic(path.join(tmp, 'grid.png'), snap.grid);
    if (snap.checkpoint) {
      await writeFileAtomic(path.join(tmp, 'weights.bin'), snap.checkpoint.weights);
      await writeFileAtomic(path.join(tmp, 'checkpoint.json'), JSON.stringify(snap.checkpoint.manifest, null, 1) + '\n');
    }
    await fs.rm(final, { recursive: true, force: true });
    await fs.rename(tmp, final);
    await syncDir(parent);
    return { id, step: snap.step, kimg: snap.kimg, createdAt: new Date().toISOString(), hasCheckpoint: Boolean(snap.checkpoint) };
  }

  async listSnapshots(runId: string): Promise<SnapshotInfo[]> {
    await this.summary(runId); // not_found for an unknown run
    const parent = path.join(this.dir(runId), 'snapshots');
    const entries = await fs.readdir(parent, { withFileTypes: true }).catch(() => []);
    const snapshots: SnapshotInfo[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || !entry.name.startsWith(SNAPSHOT_PREFIX)) continue;
      const dir = path.join(parent, entry.name);
      const step = Number(entry.name.slice(SNAPSHOT_PREFIX.length));
      const [grid, manifest] = await Promise.all([fs.stat(path.join(dir, 'grid.png')).catch(() => null), this.readManifest(dir).catch(() => null)]);
      if (!grid) continue;
      snapshots.push({
        id: entry.name,
        step,
        kimg: manifest?.kimg ?? 0,
        createdAt: grid.mtime.toISOString(),
        hasCheckpoint: manifest !== null,
      });
    }
    return snapshots.sort((a, b) => a.step - b.step);
  }

  private async readManifest(dir: string): Promise<CheckpointManifest> {
    const file = path.join(dir, 'checkpoint.json');
    const parsed = CheckpointManifest.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
    if (!parsed.success) throw new Error(`${file}: not a GAN Studio checkpoint (${parsed.error.issues[0]?.message ?? ''})`);
    return parsed.data;
  }

  /** Read and verify a checkpoint; a torn or altered one is reported by name, never half-loaded. */
  async readCheckpoint(runId: string, snapshot: string): Promise<Checkpoint> {
    const dir = this.snapshotDir(runId, snapshot);
    let manifest: CheckpointManifest;
    try {
      manifest = await this.readManifest(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`checkpoint of snapshot ${snapshot} in run ${runId}`);
      throw new StudioError('internal', (error as Error).message);
    }
    const file = path.join(dir, 'weights.bin');
    const weights = await fs.readFile(file).catch(() => {
      throw new StudioError('internal', `${file} is missing`);
    });
    const sha = createHash('sha256').update(weights).digest('hex');
    if (weights.byteLength !== manifest.weightsByteLength || sha !== manifest.weightsSha256) {
      throw new StudioError('internal', `${file} is corrupt (checksum mismatch); the checkpoint cannot be used`);
    }
    return { manifest, weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength) };
  }

  /** Newest first, the first checkpoint whose checksum verifies; corrupt or partial ones are named in `skipped`. */
  async newestValidCheckpoint(runId: string): Promise<ValidCheckpoint | null> {
    const skipped: string[] = [];
    const snapshots = (await this.listSnapshots(runId)).reverse();
    for (const snapshot of snapshots) {
      if (!snapshot.hasCheckpoint) {
        skipped.push(`${snapshot.id}: no readable checkpoint.json`);
        continue;
      }
      try {
        return { snapshotId: snapshot.id, checkpoint: await this.readCheckpoint(runId, snapshot.id), skipped };
      } catch (error) {
        skipped.push(`${snapshot.id}: ${(error as Error).message}`);
      }
    }
    return null;
  }

  exportDir(runId: string, snapshot: string): string {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    return path.join(this.dir(runId), 'exports', `${snapshot}-${stamp}`);
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
