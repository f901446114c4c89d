/**
 * Image resampling the networks use, written only with ops whose gradients are exact to any order on
 * every backend (tfjs 4.22's resize gradients ignore halfPixelCenters, the cpu ResizeNearestNeighborGrad
 * is wrong for batch > 1, and the Tile kernel is slow on wasm):
 *
 *  - nearest 2× up: broadcasting multiplies; box 2× down: avgPool 2×2 (AvgPoolGrad's gradient is
 *    registered in ops/gradients.ts);
 *  - StyleGAN2's [1,3,3,1] FIR up/down: the same plus a [1,2,1] blur made of two 2×2 average pools
 *    (upfirdn2d with that filter factors exactly so, zero padding included);
 *  - anything else: the upfirdn map as separable matrices, y = A_h · x · A_wᵀ (two batched matmuls).
 *    That form is the reference the fast paths are tested against, and `resizeMatrix` reproduces tfjs's
 *    resize kernels so ops/gradients.ts can register their gradients as Aᵀ·dy·A_w. (On wasm the batched
 *    matmul with a broadcast matrix is slow at network sizes — 150 ms for [16,32,32,32] up — hence the
 *    fast paths: 2 ms.)
 */
import * as tf from '@tensorflow/tfjs';

/** A dense row-major matrix of shape [rows, cols]. */
export interface Matrix {
  rows: number;
  cols: number;
  values: Float32Array;
}

function matrix(rows: number, cols: number): Matrix {
  return { rows, cols, values: new Float32Array(rows * cols) };
}

function addAt(m: Matrix, r: number, c: number, value: number): void {
  m.values[r * m.cols + c] = (m.values[r * m.cols + c] as number) + value;
}

export function transposeMatrix(m: Matrix): Matrix {
  const t = matrix(m.cols, m.rows);
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) t.values[c * m.rows + r] = m.values[r * m.cols + c] as number;
  return t;
}

/**
 * upfirdn along one axis (Karras et al. 2020, StyleGAN2's upfirdn2d): zero-insertion upsampling by `up`,
 * padding (pad0, pad1), convolution with `taps` (normalized to sum 1, times `gain`), keeping every
 * `down`-th sample. Returns the [outLength, n] matrix of that linear map.
 */
export function upfirdnMatrix(n: number, taps: readonly number[], up: number, down: number, pad0: number, pad1: number, gain: number): Matrix {
  const total = taps.reduce((a, b) => a + b, 0);
  const f = taps.map((t) => (t / total) * gain).reverse(); // convolution = correlation with the flipped filter
  const padded = n * up + pad0 + pad1;
  const out = Math.floor((padded - f.length) / down) + 1;
  const m = matrix(out, n);
  for (let o = 0; o < out; o++) {
    for (let k = 0; k < f.length; k++) {
      const z = o * down + k - pad0; // index into the zero-inserted signal
      if (z < 0 || z >= n * up || z % up !== 0) continue;
      addAt(m, o, z / up, f[k] as number);
    }
  }
  return m;
}

/** StyleGAN2's 2× upsampling: upfirdn with padding ((p+1)/2 + up − 1, p/2), p = taps − up, gain up per axis. */
export function upsample2xMatrix(n: number, taps: readonly number[]): Matrix {
  const p = taps.length - 2;
  return upfirdnMatrix(n, taps, 2, 1, Math.floor((p + 1) / 2) + 1, Math.floor(p / 2), 2);
}

/** StyleGAN2's 2× downsampling: upfirdn with padding ((p+1)/2, p/2), p = taps − down. */
export function downsample2xMatrix(n: number, taps: readonly number[]): Matrix {
  const p = taps.length - 2;
  return upfirdnMatrix(n, taps, 1, 2, Math.floor((p + 1) / 2), Math.floor(p / 2), 1);
}

/** The filters the networks use: [1, 1] (nearest up / box down) and [1, 3, 3, 1] (StyleGAN2's). */
export const NEAREST_TAPS = [1, 1] as const;
export const FIR_TAPS = [1, 3, 3, 1] as const;

/**
 * The interpolation matrix of tfjs's resizeBilinear / resizeNearestNeighbor along one axis, reproducing
 * the cpu kernel (tfjs-backend-cpu ResizeBilinear.js / ResizeNearestNeighbor.js) index for index.
 */
export function resizeMatrix(kind: 'bilinear' | 'nearest', inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Matrix {
  const m = matrix(outSize, inSize);
  const ratio = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    if (kind === 'bilinear') {
      const src = halfPixelCenters ? ratio * (o + 0.5) - 0.5 : ratio * o;
      const lo = Math.max(0, Math.floor(src));
      const hi = Math.min(inSize - 1, Math.ceil(src));
      const frac = src - lo;
      addAt(m, o, lo, 1 - frac);
      addAt(m, o, hi, frac);
    } else {
      const src = halfPixelCenters ? ratio * (o + 0.5) : ratio * o;
      let nearest = Math.min(inSize - 1, alignCorners ? Math.round(src) : Math.floor(src));
      if (halfPixelCenters) nearest = Math.max(0, nearest);
      m.values[o * inSize + nearest] = 1;
    }
  }
  return m;
}

/**
 * y[n, i, j, c] = Σ_{h,w} A_h[i, h] · A_w[j, w] · x[n, h, w, c], as two batched matmuls (A broadcast over
 * the batch). Either matrix may be null (identity along that axis).
 */
export function resample2d(x: tf.Tensor4D, ah: Matrix | null, aw: Matrix | null): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    let y: tf.Tensor = x;
    let rows = h;
    if (ah) {
      if (ah.cols !== h) throw new Error(`resample2d: height matrix is ${ah.rows}×${ah.cols} for an input of height ${h}`);
      y = tf.matMul(tf.tensor3d(ah.values, [1, ah.rows, ah.cols]), y.reshape([n, h, w * c]));
      rows = ah.rows;
    }
    let cols = w;
    if (aw) {
      if (aw.cols !== w) throw new Error(`resample2d: width matrix is ${aw.rows}×${aw.cols} for an input of width ${w}`);
      y = tf.matMul(tf.tensor3d(aw.values, [1, aw.rows, aw.cols]), y.reshape([n * rows, w, c]));
      cols = aw.rows;
    }
    return y.reshape([n, rows, cols, c]) as tf.Tensor4D;
  });
}

const sameTaps = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * [1, 2, 1]/4 ⊗ [1, 2, 1]/4 blur with zero padding, as two 2×2 stride-1 average pools of the padded maps
 * ([1,1]/2 twice is [1,2,1]/4). avgPool is a fast kernel on every backend and AvgPoolGrad has a
 * registered gradient (ops/gradients.ts), so this is exact to any order.
 */
export function blur121(x: tf.Tensor4D): tf.Tensor4D {
  const padded = tf.pad(x, [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]);
  return tf.avgPool(tf.avgPool(padded, 2, 1, 'valid'), 2, 1, 'valid');
}

/** Nearest-neighbour 2× upsampling as two broadcasting multiplies (gradient: a sum; no Tile kernel). */
function nearestUp(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const two = tf.ones([1, 1, 2, 1]);
  const cols = x.reshape([n * h, w, 1, c]).mul(two); // [NH, W, 2, C]: each pixel twice along x
  return cols.reshape([n, h, 1, 2 * w * c]).mul(two).reshape([n, 2 * h, 2 * w, c]) as tf.Tensor4D;
}

/**
 * 2× upsampling of NHWC maps with a separable FIR filter: NEAREST_TAPS gives nearest-neighbour, FIR_TAPS
 * StyleGAN2's [1,3,3,1] (= nearest, then the [1,2,1] blur). Other filters use the matrix form.
 */
export function upsample2x(x: tf.Tensor4D, taps: readonly number[] = NEAREST_TAPS): tf.Tensor4D {
  return tf.tidy(() => {
    if (sameTaps(taps, NEAREST_TAPS)) return nearestUp(x);
    if (sameTaps(taps, FIR_TAPS)) return blur121(nearestUp(x));
    return resample2d(x, upsample2xMatrix(x.shape[1], taps), upsample2xMatrix(x.shape[2], taps));
  });
}

/**
 * 2× downsampling of NHWC maps with a separable FIR filter: NEAREST_TAPS gives 2×2 box averaging,
 * FIR_TAPS StyleGAN2's [1,3,3,1] (= the [1,2,1] blur, then box averaging). Other filters use the matrix form.
 */
export function downsample2x(x: tf.Tensor4D, taps: readonly number[] = NEAREST_TAPS): tf.Tensor4D {
  return tf.tidy(() => {
    if (sameTaps(taps, NEAREST_TAPS)) return tf.avgPool(x, 2, 2, 'valid');
    if (sameTaps(taps, FIR_TAPS)) return tf.avgPool(blur121(x), 2, 2, 'valid');
    return resample2d(x, downsample2xMatrix(x.shape[1], taps), downsample2xMatrix(x.shape[2], taps));
  });
}

/** Repeated 2× steps: resolution r → target (both powers of two), for lower-resolution reals and outputs. */
export function resizePow2(x: tf.Tensor4D, target: number, taps: readonly number[] = NEAREST_TAPS): tf.Tensor4D {
  return tf.tidy(() => {
    let y = x;
    while (y.shape[1] > target) y = downsample2x(y, taps);
    while (y.shape[1] < target) y = upsample2x(y, taps);
    return y;
  });
}
