/**
 * The pure parts of the Compare view (renderer/src/lib/compare.ts): TensorBoard-style smoothing, the
 * config diff, the snapshot nearest a kimg, the order of series, decimation and the colours of runs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SnapshotInfo } from '../../shared/contract.ts';
import {
  configDiff,
  emaSmooth,
  minMaxDecimate,
  nearestSnapshot,
  runColors,
  SeriesExtractor,
  seriesKeys,
  toPoint,
  type ComparePoint,
} from '../../renderer/src/lib/compare.ts';

const snap = (step: number, kimg: number): SnapshotInfo => ({ id: `step-${String(step).padStart(8, '0')}`, step, kimg, createdAt: '', hasCheckpoint: true });
const point = (step: number, values: Record<string, number>): ComparePoint => ({ step, kimg: step / 10, elapsedSec: step, values });

describe('compare view helpers', () => {
  it('smooths like TensorBoard: debiased EMA, 0 leaves values alone, NaN passes through', () => {
    assert.deepEqual(emaSmooth([1, 2, 3], 0), [1, 2, 3]);
    // A constant stays constant from the first point (debiased, not pulled towards 0).
    for (const v of emaSmooth([5, 5, 5, 5], 0.9)) assert.ok(Math.abs(v - 5) < 1e-12);
    const s = emaSmooth([0, 10], 0.5);
    assert.equal(s[0], 0);
    assert.ok(Math.abs(s[1]! - 20 / 3) < 1e-12, `debiased second value ${s[1]}`);
    const withNaN = emaSmooth([1, Number.NaN, 1], 0.5);
    assert.ok(Number.isNaN(withNaN[1]));
    assert.equal(withNaN[2], 1);
  });

  it('the config diff keeps only keys whose values differ, missing keys included', () => {
    const rows = configDiff([
      { seed: 1, batchSize: 32, lr: 2e-4, extra: [1, 2] },
      { seed: 2, batchSize: 32, lr: 2e-4, extra: [1, 2], onlyHere: true },
    ]);
    assert.deepEqual(
      rows.map((r) => r.key),
      ['seed', 'onlyHere'],
    );
    assert.deepEqual(rows[0]!.values, [1, 2]);
    assert.deepEqual(rows[1]!.values, [undefined, true]);
    assert.deepEqual(configDiff([{ a: 1 }, { a: 1 }]), []);
  });

  it('picks the snapshot nearest a kimg, the earlier on a tie', () => {
    const list = [snap(10, 1), snap(20, 2), snap(30, 3)];
    assert.equal(nearestSnapshot(list, 0)?.step, 10);
    assert.equal(nearestSnapshot(list, 2.4)?.step, 20);
    assert.equal(nearestSnapshot(list, 2.5)?.step, 20);
    assert.equal(nearestSnapshot(list, 99)?.step, 30);
    assert.equal(nearestSnapshot([], 1), null);
  });

  it('lists series as losses, scores, others, throughput, memory', () => {
    const record = { step: 5, kimg: 0.16, elapsedSec: 3, imgPerSec: 50, timestamp: '', memoryBytes: 1e6, losses: { 'score/real': 1, 'loss/G': 2, 'loss/D': 1, 'aug/p': 0 } };
    assert.deepEqual(seriesKeys([[toPoint(record)]]), ['loss/D', 'loss/G', 'score/real', 'aug/p', 'imgPerSec', 'memoryBytes']);
  });

  it('extracts a series incrementally and starts over when the history is replaced', () => {
    const extractor = new SeriesExtractor('loss/G', 1);
    const points = [point(1, { 'loss/G': 1 }), point(2, { 'loss/D': 5 })];
    assert.deepEqual(extractor.get('a', points).y, [1]);
    points.push(point(3, { 'loss/G': 3 }));
    const arrays = extractor.get('a', points);
    assert.deepEqual(arrays.y, [1, 3]);
    assert.deepEqual(arrays.kimg, [0.1, 0.3]);
    assert.deepEqual(extractor.get('a', [point(9, { 'loss/G': 9 })]).y, [9]);
  });

  it('decimates long lines to first/min/max/last per bucket and leaves short ones whole', () => {
    const xs = Array.from({ length: 10_000 }, (_, i) => i);
    const ys = xs.map((i) => (i === 5_000 ? 100 : Math.sin(i / 100)));
    const out = minMaxDecimate(xs, ys, 100);
    assert.ok(out.length <= 400, `${out.length} points`);
    assert.ok(out.some((p) => p.y === 100), 'a spike survives');
    assert.deepEqual(out[0], { x: 0, y: 0 });
    assert.equal(out.at(-1)?.x, 9_999);
    assert.equal(minMaxDecimate([1, 2], [3, 4], 100).length, 2);
  });

  it('gives each compared run its own colour and keeps it', () => {
    const first = runColors(['r1', 'r2']);
    assert.notEqual(first.get('r1'), first.get('r2'));
    const again = runColors(['r2', 'r3', 'r1']);
    assert.equal(again.get('r1'), first.get('r1'));
    assert.equal(again.get('r2'), first.get('r2'));
    assert.equal(new Set(again.values()).size, 3);
  });
});
