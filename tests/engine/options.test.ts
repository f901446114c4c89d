/**
 * The options every family can use, checked against their definitions: spectral normalization divides a
 * weight by its largest singular value (Miyato et al. 2018), and the optimizers' per-layer gradient
 * clipping scales each parameter's gradient to an L2 norm of at most the threshold before Adam / RMSProp.
 *
 * Run: npx tsx --test tests/engine/options.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Params } from '../../main/engine/models/params.ts';
import { SpectralNorm } from '../../main/engine/models/spectralNorm.ts';
import { Rng } from '../../main/engine/rng.ts';
import { AdamState, RmsPropState } from '../../main/engine/training/optimizers.ts';
import { engineBackends } from './gradcheck.ts';

const { run: backends } = await engineBackends();

/** Largest singular value of a row-major [rows, cols] matrix, by float64 power iteration on AᵀA. */
function sigmaMax(a: Float32Array, rows: number, cols: number): number {
  let v = new Float64Array(cols).fill(1);
  for (let it = 0; it < 500; it++) {
    const av = new Float64Array(rows);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) av[r] = (av[r] as number) + (a[r * cols + c] as number) * (v[c] as number);
    const atav = new Float64Array(cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) atav[c] = (atav[c] as number) + (a[r * cols + c] as number) * (av[r] as number);
    const norm = Math.hypot(...atav);
    v = atav.map((x) => x / norm);
  }
  const av = new Float64Array(rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) av[r] = (av[r] as number) + (a[r * cols + c] as number) * (v[c] as number);
  return Math.hypot(...av);
}

for (const backend of backends) {
  test(`spectral norm: after power iterations, W/σ has spectral norm 1 (conv weight as [k·k·in, out]) [${backend}]`, async () => {
    await tf.setBackend(backend);
    const params = new Params(new Rng(3));
    const w = params.normal('d.conv.weight', [3, 3, 4, 6], 0.5);
    params.constant('d.conv.bias', [6], 0);
    const sn = new SpectralNorm(params);
    assert.ok(params.has('d.conv.weight.sn.u') && params.has('d.conv.weight.sn.v') && !params.has('d.conv.bias.sn.u'), 'u, v buffers for weights only');
    assert.ok(!params.trainable().some((v) => v.name.includes('.sn.')), 'u and v are not trainable');
    for (let i = 0; i < 40; i++) sn.update();
    const sigma = sigmaMax(w.dataSync() as Float32Array, 36, 6);
    const normalized = tf.tidy(() => params.weight('d.conv.weight').dataSync() as Float32Array);
    const after = sigmaMax(normalized, 36, 6);
    assert.ok(Math.abs(after - 1) < 1e-4, `σ(W/σ̂) = ${after} (σ(W) = ${sigma})`);
    assert.ok(tf.tidy(() => params.weight('d.conv.bias').dataSync()[0]) === 0, 'biases are not normalized');
    params.dispose();
  });

  test(`per-layer gradient clipping: Adam and RMSProp see g·min(1, c/‖g‖) for each parameter [${backend}]`, async () => {
    await tf.setBackend(backend);
    const lr = 0.01;
    const g1 = [3, 4]; // norm 5 → clipped to norm 1 by c = 1
    const g2 = [0.3, -0.4]; // norm 0.5 → unchanged
    const clip = (g: number[], c: number): number[] => {
      const n = Math.hypot(...g);
      return g.map((x) => x * Math.min(1, c / n));
    };
    for (const kind of ['adam', 'rmsprop'] as const) {
      const params = new Params(new Rng(1));
      const p = params.constant('g.w', [2], 0);
      const opt = kind === 'adam' ? new AdamState('optG', params, lr, 0.5, 0.9, { clipNorm: 1 }) : new RmsPropState('optG', params, lr, { clipNorm: 1 });
      // Reference in float64, on the clipped gradients.
      const ref = [0, 0];
      const m = [0, 0];
      const v = [0, 0];
      [g1, g2].forEach((raw, step) => {
        const g = clip(raw, 1);
        const t = step + 1;
        for (let i = 0; i < 2; i++) {
          const gi = g[i] as number;
          if (kind === 'adam') {
            m[i] = 0.5 * (m[i] as number) + 0.5 * gi;
            v[i] = 0.9 * (v[i] as number) + 0.1 * gi * gi;
            ref[i] = (ref[i] as number) - (lr * ((m[i] as number) / (1 - 0.5 ** t))) / (Math.sqrt((v[i] as number) / (1 - 0.9 ** t)) + 1e-8);
          } else {
            v[i] = 0.99 * (v[i] as number) + 0.01 * gi * gi;
            ref[i] = (ref[i] as number) - (lr * gi) / (Math.sqrt(v[i] as number) + 1e-8);
          }
        }
        opt.apply({ [p.name]: tf.tensor1d(raw) });
      });
      const got = Array.from(p.dataSync());
      got.forEach((x, i) => assert.ok(Math.abs(x - (ref[i] as number)) < 1e-6, `${kind}: p[${i}] = ${x}, expected ${ref[i]}`));
      // Without clipping the two steps differ (so the check above really saw the clip).
      const unclipped = new Params(new Rng(1));
      const q = unclipped.constant('g.w', [2], 0);
      const plain = kind === 'adam' ? new AdamState('optG', unclipped, lr, 0.5, 0.9) : new RmsPropState('optG', unclipped, lr);
      for (const raw of [g1, g2]) plain.apply({ [q.name]: tf.tensor1d(raw) });
      assert.ok(Math.abs((q.dataSync()[0] as number) - (ref[0] as number)) > 1e-4, `${kind}: clipping made no difference`);
      for (const o of [opt, plain]) o.dispose();
      params.dispose();
      unclipped.dispose();
    }
  });
}
