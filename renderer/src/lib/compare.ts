/**
 * The pure parts of comparing runs: which series exist, TensorBoard-style smoothing, the config diff, the
 * snapshot nearest a kimg, and a colour per run that stays the same in every chart for the whole session.
 */
import type { SnapshotInfo, StatsRecord } from '../../../shared/contract.ts';

/** The scalars a StatsRecord carries besides its `losses`. */
export const EXTRA_SERIES = ['imgPerSec', 'memoryBytes'] as const;

export type XAxis = 'kimg' | 'time';

/** One point of a run's history: x in kimg and in training seconds, and every logged value. */
export interface ComparePoint {
  step: number;
  kimg: number;
  elapsedSec: number;
  values: Record<string, number>;
}

export function toPoint(record: StatsRecord): ComparePoint {
  const values: Record<string, number> = { ...record.losses, imgPerSec: record.imgPerSec };
  if (record.memoryBytes !== undefined) values['memoryBytes'] = record.memoryBytes;
  return { step: record.step, kimg: record.kimg, elapsedSec: record.elapsedSec, values };
}

function seriesRank(key: string): number {
  if (key.startsWith('loss/')) return 0;
  if (key.startsWith('score/')) return 1;
  if (key === 'imgPerSec') return 3;
  if (key === 'memoryBytes') return 4;
  return 2;
}

/** Every series any of the runs logged: losses, then D scores, then other scalars, throughput and memory. */
export function seriesKeys(histories: readonly (readonly ComparePoint[])[]): string[] {
  const keys = new Set<string>();
  for (const points of histories) {
    // Keys rarely change within a run; looking at every point still catches a series that starts late.
    for (const p of points) for (const k in p.values) keys.add(k);
  }
  return [...keys].sort((a, b) => seriesRank(a) - seriesRank(b) || a.localeCompare(b));
}

export function seriesLabel(key: string): string {
  if (key === 'imgPerSec') return 'Throughput (img/s)';
  if (key === 'memoryBytes') return 'Engine memory (MB)';
  return key;
}

/** Memory is logged in bytes and read in megabytes; everything else is plotted as logged. */
export function seriesScale(key: string): number {
  return key === 'memoryBytes' ? 1 / (1024 * 1024) : 1;
}

/**
 * TensorBoard's smoothing: an exponential moving average, debiased so the curve does not start at zero.
 * `weight` is in [0, 1); 0 returns the values unchanged. Non-finite values pass through and do not
 * disturb the average.
 */
export function emaSmooth(values: readonly number[], weight: number): number[] {
  if (weight <= 0) return values.slice();
  const w = Math.min(weight, 0.999);
  // Plain arrays throughout (not typed ones): the decimation below then sees one array kind and stays fast.
  const out: number[] = [];
  let last = 0;
  // w^n, kept as a running product: Math.pow per point would cost more than everything else here.
  let wn = 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      out.push(v);
      continue;
    }
    last = last * w + (1 - w) * v;
    wn *= w;
    out.push(last / (1 - wn));
  }
  return out;
}

export interface DiffRow {
  key: string;
  /** One value per run, in the order the runs were given; undefined where a run lacks the key. */
  values: unknown[];
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The keys whose values are not the same in every run, in the order they first appear. */
export function configDiff(configs: readonly Readonly<Record<string, unknown>>[]): DiffRow[] {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const c of configs) {
    for (const k of Object.keys(c)) {
      if (!seen.has(k)) {
        seen.add(k);
        keys.push(k);
      }
    }
  }
  const rows: DiffRow[] = [];
  for (const key of keys) {
    const values = configs.map((c) => (Object.prototype.hasOwnProperty.call(c, key) ? c[key] : undefined));
    if (values.some((v) => !same(v, values[0]))) rows.push({ key, values });
  }
  return rows;
}

/** The snapshot whose kimg is closest to `kimg` (the earlier one on a tie); null for none. */
export function nearestSnapshot(snapshots: readonly SnapshotInfo[], kimg: number): SnapshotInfo | null {
  let best: SnapshotInfo | null = null;
  for (const s of snapshots) {
    if (!best) best = s;
    else {
      const d = Math.abs(s.kimg - kimg);
      const bestD = Math.abs(best.kimg - kimg);
      if (d < bestD || (d === bestD && s.kimg < best.kimg)) best = s;
    }
  }
  return best;
}

/** Distinct on a dark background and apart from each other (the first ones most of all). */
export const RUN_PALETTE = ['#7aa2f7', '#f7768e', '#9ece6a', '#e0af68', '#bb9af7', '#7dcfff', '#ff9e64', '#c0caf5', '#73daca', '#db4b4b'];

const assigned = new Map<string, string>();

/**
 * A colour for each run of a comparison. A run keeps its colour for the session (in every chart, when
 * runs are added or removed) unless another run of the same comparison already has it; a new colour is one
 * no run of the comparison uses, the least used so far.
 */
export function runColors(runIds: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set<string>();
  // Keep the colours runs already have first, so a newcomer cannot take one away from them.
  for (const id of runIds) {
    const known = assigned.get(id);
    if (known && !taken.has(known)) {
      out.set(id, known);
      taken.add(known);
    }
  }
  for (const id of runIds) {
    if (out.has(id)) continue;
    const uses = new Map<string, number>(RUN_PALETTE.map((c) => [c, 0]));
    for (const c of assigned.values()) uses.set(c, (uses.get(c) ?? 0) + 1);
    const free = RUN_PALETTE.filter((c) => !taken.has(c));
    const pool = free.length > 0 ? free : RUN_PALETTE;
    let color = pool[0]!;
    for (const c of pool) if ((uses.get(c) ?? 0) < (uses.get(color) ?? 0)) color = c;
    assigned.set(id, color);
    out.set(id, color);
    taken.add(color);
  }
  return out;
}

/** A series of one run as plain arrays, for the charts: x by kimg and by training time, and y. */
export interface SeriesArrays {
  kimg: number[];
  time: number[];
  y: number[];
}

/**
 * Pulls one series out of runs' histories and keeps it: histories only grow at the end (or are replaced
 * whole on a reload), so each redraw reads just the new points, not tens of thousands again.
 */
export class SeriesExtractor {
  private readonly cache = new Map<string, { source: readonly ComparePoint[]; read: number; arrays: SeriesArrays }>();

  constructor(
    private readonly key: string,
    private readonly scale: number,
  ) {}

  get(runId: string, points: readonly ComparePoint[]): SeriesArrays {
    let entry = this.cache.get(runId);
    if (!entry || entry.source !== points || entry.read > points.length) {
      entry = { source: points, read: 0, arrays: { kimg: [], time: [], y: [] } };
      this.cache.set(runId, entry);
    }
    const { arrays } = entry;
    for (let i = entry.read; i < points.length; i++) {
      const p = points[i]!;
      const v = p.values[this.key];
      if (v === undefined || !Number.isFinite(v)) continue;
      arrays.kimg.push(p.kimg);
      arrays.time.push(p.elapsedSec);
      arrays.y.push(v * this.scale);
    }
    entry.read = points.length;
    return arrays;
  }

  /** Forget runs no longer compared. */
  retain(runIds: ReadonlySet<string>): void {
    for (const id of [...this.cache.keys()]) if (!runIds.has(id)) this.cache.delete(id);
  }
}

/**
 * At most about 4 × `buckets` points that look like the full line: per run of consecutive points, its
 * first, lowest, highest and last (what chart.js's min–max decimation keeps), so spikes stay visible.
 */
export function minMaxDecimate(xs: readonly number[], ys: readonly number[], buckets: number): { x: number; y: number }[] {
  const n = Math.min(xs.length, ys.length);
  const out: { x: number; y: number }[] = [];
  if (n <= buckets * 4) {
    for (let i = 0; i < n; i++) out.push({ x: xs[i]!, y: ys[i]! });
    return out;
  }
  const size = n / buckets;
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(n, Math.floor((b + 1) * size));
    if (to <= from) continue;
    let lo = from;
    let hi = from;
    for (let i = from + 1; i < to; i++) {
      if (ys[i]! < ys[lo]!) lo = i;
      if (ys[i]! > ys[hi]!) hi = i;
    }
    const picks = [from, Math.min(lo, hi), Math.max(lo, hi), to - 1];
    let last = -1;
    for (const i of picks) {
      if (i === last) continue;
      out.push({ x: xs[i]!, y: ys[i]! });
      last = i;
    }
  }
  return out;
}
