/**
 * The histories the Compare view overlays, kept outside Svelte's reactivity on purpose: a long run has
 * tens of thousands of points, appended in place while it trains. The view keeps counters that say when
 * something changed (see CompareView.svelte). Ticks and snapshots that arrive while a run's history is
 * still loading are held back and merged when it lands, so none is lost in between.
 */
import type { EventPayload, Result, SnapshotInfo } from '../../../shared/contract.ts';
import type { ResolvedConfig } from '../../../shared/presets.ts';
import { toPoint, type ComparePoint } from './compare.ts';

export interface RunHistory {
  config: ResolvedConfig;
  /** Oldest first. */
  points: ComparePoint[];
  snapshots: SnapshotInfo[];
}

export class CompareHistories {
  private readonly loaded = new Map<string, RunHistory>();
  private readonly early = new Map<string, { points: ComparePoint[]; snapshots: SnapshotInfo[] }>();

  get(runId: string): RunHistory | null {
    return this.loaded.get(runId) ?? null;
  }

  /** Loaded, or being loaded. */
  has(runId: string): boolean {
    return this.loaded.has(runId) || this.early.has(runId);
  }

  /** Call before requesting a run's history. */
  begin(runId: string): void {
    this.early.set(runId, { points: [], snapshots: [] });
  }

  /** The requests failed or the run is no longer wanted: forget what was held back. */
  abandon(runId: string): void {
    this.early.delete(runId);
  }

  finish(runId: string, detail: Result<'runs.get'>, snapshots: SnapshotInfo[]): void {
    const held = this.early.get(runId);
    this.early.delete(runId);
    const points = detail.stats.map(toPoint);
    const lastStep = points.at(-1)?.step ?? -1;
    for (const p of held?.points ?? []) if (p.step > lastStep) points.push(p);
    const list = [...snapshots];
    for (const s of held?.snapshots ?? []) if (!list.some((x) => x.id === s.id)) list.push(s);
    this.loaded.set(runId, { config: detail.config, points, snapshots: list });
  }

  /** Forget every run not in `keep`; true when one was dropped. */
  retain(keep: ReadonlySet<string>): boolean {
    let dropped = false;
    for (const id of [...this.loaded.keys()]) {
      if (!keep.has(id)) {
        this.loaded.delete(id);
        dropped = true;
      }
    }
    return dropped;
  }

  /** A live tick; true when it extended a loaded history. */
  addTick(p: EventPayload<'training.progress'>): boolean {
    const point: ComparePoint = { step: p.step, kimg: p.kimg, elapsedSec: p.elapsedSec, values: { ...p.losses, imgPerSec: p.imgPerSec } };
    const h = this.loaded.get(p.runId);
    if (!h) {
      this.early.get(p.runId)?.points.push(point);
      return false;
    }
    const last = h.points.at(-1);
    if (last && p.step <= last.step) return false;
    h.points.push(point);
    return true;
  }

  /** A new snapshot; true when it extended a loaded history. */
  addSnapshot(runId: string, snapshot: SnapshotInfo): boolean {
    const h = this.loaded.get(runId);
    if (!h) {
      this.early.get(runId)?.snapshots.push(snapshot);
      return false;
    }
    if (h.snapshots.some((s) => s.id === snapshot.id)) return false;
    h.snapshots.push(snapshot);
    return true;
  }
}
