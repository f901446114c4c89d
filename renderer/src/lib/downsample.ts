/**
 * Keeps a loss curve plottable however long a run goes: points are averaged into buckets of `stride` raw
 * records, and whenever more than `max` buckets exist, neighbours are merged and the stride doubles. The
 * chart therefore never holds more than `max` (+1 partial) points and density stays uniform along x.
 */
export interface LossPoint {
  x: number;
  values: Record<string, number>;
}

interface Bucket {
  n: number;
  sumX: number;
  sums: Map<string, { sum: number; n: number }>;
}

const emptyBucket = (): Bucket => ({ n: 0, sumX: 0, sums: new Map() });

function meanOf(bucket: Bucket): LossPoint {
  const values: Record<string, number> = {};
  for (const [key, { sum, n }] of bucket.sums) values[key] = sum / n;
  return { x: bucket.sumX / bucket.n, values };
}

function mergeInto(target: Bucket, source: Bucket): void {
  target.n += source.n;
  target.sumX += source.sumX;
  for (const [key, s] of source.sums) {
    const t = target.sums.get(key);
    if (t) {
      t.sum += s.sum;
      t.n += s.n;
    } else target.sums.set(key, { ...s });
  }
}

export class Downsampler {
  private stride = 1;
  private done: Bucket[] = [];
  private pending = emptyBucket();
  private keySet = new Set<string>();

  constructor(private readonly max = 2000) {}

  get keys(): string[] {
    return [...this.keySet].sort();
  }

  push(x: number, values: Record<string, number>): void {
    const p = this.pending;
    p.n++;
    p.sumX += x;
    for (const [key, v] of Object.entries(values)) {
      if (!Number.isFinite(v)) continue; // a NaN loss would break the y scale; the run's stats keep it
      this.keySet.add(key);
      const s = p.sums.get(key);
      if (s) {
        s.sum += v;
        s.n++;
      } else p.sums.set(key, { sum: v, n: 1 });
    }
    if (p.n >= this.stride) {
      this.done.push(p);
      this.pending = emptyBucket();
      if (this.done.length > this.max) this.compact();
    }
  }

  private compact(): void {
    const merged: Bucket[] = [];
    for (let i = 0; i < this.done.length; i += 2) {
      const a = this.done[i]!;
      const b = this.done[i + 1];
      if (b) mergeInto(a, b);
      merged.push(a);
    }
    this.done = merged;
    this.stride *= 2;
  }

  /** The plotted points: every full bucket plus the partial one, so the newest record shows at once. */
  points(): LossPoint[] {
    const out = this.done.map(meanOf);
    if (this.pending.n > 0) out.push(meanOf(this.pending));
    return out;
  }
}
