/**
 * Evidence that a family learns: a synthetic image set with known structure, and two distribution-level
 * distances between a generator's samples and that set (used by tests/engine/learning.test.ts).
 *
 * Data: 16×16 "coloured shapes": a light background, one filled square or disc of one of four saturated
 * colours, 5–9 px, anywhere. Everything a generator must learn is visible at this size (colour, shape,
 * background), and an untrained generator is far from it.
 *
 * Distances:
 *  - Fréchet distance (Heusel et al. 2017) between Gaussians fitted to features of a fixed, seeded random
 *    conv net (3 conv layers with ReLU, 2×2 average pooled: 64 features): ‖μ₁−μ₂‖² + Tr(C₁ + C₂ − 2(C₁C₂)^½),
 *    with Tr((C₁C₂)^½) = Σ √λᵢ(C₁^½ C₂ C₁^½) from symmetric eigendecompositions (Jacobi, float64).
 *  - Colour-histogram distance: total variation between the pooled RGB histograms (4 bins per channel,
 *    64 bins), in [0, 1].
 */
import * as tf from '@tensorflow/tfjs';
import type { PackedImages } from '../../main/engine/training/dataFeed.ts';
import { Rng } from '../../main/engine/rng.ts';

export const SHAPES_RES = 16;

const PALETTE: ReadonlyArray<readonly [number, number, number]> = [
  [220, 40, 40],
  [40, 170, 60],
  [40, 80, 220],
  [240, 200, 30],
];

/** `count` 16×16 images: light background, one coloured square or disc. */
export function colouredShapes(count: number, seed: number): PackedImages {
  const rng = new Rng(seed);
  const r = SHAPES_RES;
  const pixels = new Uint8Array(count * r * r * 3);
  for (let n = 0; n < count; n++) {
    const shade = 225 + rng.int(30);
    const colour = PALETTE[rng.int(PALETTE.length)] as readonly [number, number, number];
    const disc = rng.uniform() < 0.5;
    const size = 5 + rng.int(5);
    const x0 = rng.int(r - size + 1);
    const y0 = rng.int(r - size + 1);
    const c = (size - 1) / 2;
    for (let y = 0; y < r; y++) {
      for (let x = 0; x < r; x++) {
        const dx = x - x0 - c;
        const dy = y - y0 - c;
        const inBox = x >= x0 && x < x0 + size && y >= y0 && y < y0 + size;
        const inside = inBox && (!disc || dx * dx + dy * dy <= (c + 0.5) ** 2);
        pixels.set(inside ? colour : [shade, shade, shade], ((n * r + y) * r + x) * 3);
      }
    }
  }
  return { pixels, count, resolution: r };
}

/** Packed uint8 images → float NHWC in [−1, 1]. */
export function toTensor(images: PackedImages): tf.Tensor4D {
  return tf.tidy(() => tf.tensor4d(images.pixels, [images.count, images.resolution, images.resolution, 3], 'int32').toFloat().div(127.5).sub(1) as tf.Tensor4D);
}

/** A fixed random feature extractor: conv 3×3 ×3 (3→16→32 stride 2→16 stride 2), ReLU, 2×2 average pool. */
export class RandomFeatures {
  private readonly weights: tf.Tensor4D[];

  constructor(seed = 4242) {
    const rng = new Rng(seed);
    const layer = (cin: number, cout: number): tf.Tensor4D => tf.tensor4d(rng.normalArray(9 * cin * cout, Math.sqrt(2 / (9 * cin))), [3, 3, cin, cout]);
    this.weights = [layer(3, 16), layer(16, 32), layer(32, 16)];
  }

  /** images [N, 16, 16, 3] in [−1, 1] → features [N, 64] as float64 rows. */
  features(images: tf.Tensor4D): Float64Array[] {
    const out = tf.tidy(() => {
      const [w0, w1, w2] = this.weights as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      let x = tf.relu(tf.conv2d(images, w0, 1, 'same'));
      x = tf.relu(tf.conv2d(x, w1, 2, 'same'));
      x = tf.relu(tf.conv2d(x, w2, 2, 'same'));
      return tf.avgPool(x, 2, 2, 'valid').reshape([images.shape[0], -1]);
    });
    const [n, d] = out.shape as [number, number];
    const values = out.dataSync();
    out.dispose();
    return Array.from({ length: n }, (_, i) => Float64Array.from(values.subarray(i * d, (i + 1) * d)));
  }

  dispose(): void {
    tf.dispose(this.weights);
  }
}

function meanAndCov(rows: Float64Array[]): { mean: Float64Array; cov: Float64Array[] } {
  const n = rows.length;
  const d = (rows[0] as Float64Array).length;
  const mean = new Float64Array(d);
  for (const r of rows) for (let i = 0; i < d; i++) mean[i] = (mean[i] as number) + (r[i] as number) / n;
  const cov = Array.from({ length: d }, () => new Float64Array(d));
  for (const r of rows) {
    for (let i = 0; i < d; i++) {
      const a = (r[i] as number) - (mean[i] as number);
      const row = cov[i] as Float64Array;
      for (let j = i; j < d; j++) row[j] = (row[j] as number) + (a * ((r[j] as number) - (mean[j] as number))) / (n - 1);
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) (cov[i] as Float64Array)[j] = (cov[j] as Float64Array)[i] as number;
  return { mean, cov };
}

/** Eigenvalues and eigenvectors of a symmetric matrix (cyclic Jacobi; columns of `vectors`). */
function symmetricEigen(matrix: Float64Array[]): { values: Float64Array; vectors: Float64Array[] } {
  const n = matrix.length;
  const a = matrix.map((r) => Float64Array.from(r));
  const v = Array.from({ length: n }, (_, i) => Float64Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  const get = (m: Float64Array[], i: number, j: number): number => (m[i] as Float64Array)[j] as number;
  const set = (m: Float64Array[], i: number, j: number, x: number): void => {
    (m[i] as Float64Array)[j] = x;
  };
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += get(a, i, j) ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = get(a, p, q);
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (get(a, q, q) - get(a, p, p)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = get(a, k, p);
          const akq = get(a, k, q);
          set(a, k, p, c * akp - s * akq);
          set(a, k, q, s * akp + c * akq);
        }
        for (let k = 0; k < n; k++) {
          const apk = get(a, p, k);
          const aqk = get(a, q, k);
          set(a, p, k, c * apk - s * aqk);
          set(a, q, k, s * apk + c * aqk);
        }
        for (let k = 0; k < n; k++) {
          const vkp = get(v, k, p);
          const vkq = get(v, k, q);
          set(v, k, p, c * vkp - s * vkq);
          set(v, k, q, s * vkp + c * vkq);
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => get(a, i, i)), vectors: v };
}

/** Σᵢ √λᵢ(C₁^½ C₂ C₁^½) = Tr((C₁C₂)^½), for symmetric PSD C₁, C₂. */
function traceSqrtProduct(c1: Float64Array[], c2: Float64Array[]): number {
  const n = c1.length;
  const { values, vectors } = symmetricEigen(c1);
  // S = V diag(√λ) Vᵀ
  const s = Array.from({ length: n }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += ((vectors[i] as Float64Array)[k] as number) * Math.sqrt(Math.max(0, values[k] as number)) * ((vectors[j] as Float64Array)[k] as number);
      (s[i] as Float64Array)[j] = sum;
    }
  }
  const mul = (x: Float64Array[], y: Float64Array[]): Float64Array[] =>
    x.map((row) => Float64Array.from({ length: n }, (_, j) => row.reduce((sum, xik, k) => sum + xik * ((y[k] as Float64Array)[j] as number), 0)));
  const m = mul(mul(s, c2), s);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) (m[i] as Float64Array)[j] = (m[j] as Float64Array)[i] as number; // symmetrize rounding
  return symmetricEigen(m).values.reduce((sum, l) => sum + Math.sqrt(Math.max(0, l)), 0);
}

export function frechetDistance(a: Float64Array[], b: Float64Array[]): number {
  const pa = meanAndCov(a);
  const pb = meanAndCov(b);
  let meanTerm = 0;
  for (let i = 0; i < pa.mean.length; i++) meanTerm += ((pa.mean[i] as number) - (pb.mean[i] as number)) ** 2;
  let trace = 0;
  for (let i = 0; i < pa.cov.length; i++) trace += ((pa.cov[i] as Float64Array)[i] as number) + ((pb.cov[i] as Float64Array)[i] as number);
  return meanTerm + trace - 2 * traceSqrtProduct(pa.cov, pb.cov);
}

/** Pooled RGB histogram (4 bins per channel) of images in [−1, 1]. */
export function colourHistogram(images: tf.Tensor4D): Float64Array {
  const bins = tf.tidy(() => images.add(1).mul(2).floor().clipByValue(0, 3).toInt());
  const values = bins.dataSync() as Int32Array;
  bins.dispose();
  const hist = new Float64Array(64);
  const pixels = values.length / 3;
  for (let p = 0; p < pixels; p++) {
    const bin = (values[3 * p] as number) * 16 + (values[3 * p + 1] as number) * 4 + (values[3 * p + 2] as number);
    hist[bin] = (hist[bin] as number) + 1 / pixels;
  }
  return hist;
}

export function histogramDistance(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / 2;
}
