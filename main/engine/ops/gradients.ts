/**
 * Gradients TensorFlow.js 4.22 lacks or gets wrong beyond first order, registered once at engine start
 * (ops/install.ts) on every backend. WGAN-GP, R1 and path-length regularization differentiate through a
 * gradient, so every op on those paths must have a gradient that is itself differentiable.
 *
 * Why tfjs gets some second derivatives silently wrong: a gradient that reuses the op's saved *output*
 * (Sigmoid: dy·y·(1−y)) reads a copy of y made while the kernel runs. The tape records that copy before
 * it records the op itself, so on the next order the copy looks unconnected to x and its term is dropped
 * (d²/dx² of x·σ(x) at −1.5 comes out 0.298 instead of 0.156). Re-registering those gradients in terms of
 * the saved *input* (recomputing σ(x) inside the gradient) makes every dependency visible to the tape.
 *
 * Each registration here is checked against finite differences at first and second order in
 * tests/engine/secondOrder.test.ts, on every backend present.
 *
 * Not covered (the networks do not use them; tfjs's own first-order gradients still apply): MaxPool,
 * MaxPool3D and LRN at second order (MaxPoolGrad/LRNGrad have no gradient), DepthwiseConv2dNative's
 * backprop kernels (no gradient, and no wasm kernel), dilated Conv2D. tf.logSoftmax and the tf.fused.*
 * ops are customGrad closures over a saved output and cannot be re-registered: write log-softmax as
 * x − logSumExp(x), and use unfused conv/matMul + bias + activation on second-order paths.
 */
import * as tf from '@tensorflow/tfjs';
import { resample2d, resizeMatrix, transposeMatrix } from './resample.ts';

type Grads = Record<string, () => tf.Tensor>;
type Attrs = tf.NamedAttrMap;

function only(dy: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(dy)) throw new Error('expected a single-output gradient');
  return dy;
}

function saved(tensors: tf.Tensor[], i: number): tf.Tensor {
  const t = tensors[i];
  if (!t) throw new Error(`gradient: saved tensor ${i} is missing`);
  return t;
}

function attr<T>(attrs: Attrs, name: string): T {
  return (attrs as unknown as Record<string, T>)[name] as T;
}

/** Sum `g` (shaped like a broadcast result) down to `shape`, as a broadcasting op's gradient must. */
function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  // Axes of g (leading ones included) along which `shape` was broadcast.
  const axes = tf.backend_util.getReductionAxes(shape, g.shape);
  return (axes.length > 0 ? g.sum(axes) : g).reshape(shape);
}

function register(kernelName: string, config: Omit<tf.GradConfig, 'kernelName' | 'gradFunc'>, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[], attrs: Attrs) => Grads): void {
  tf.registerGradient({ kernelName, ...config, gradFunc: (dy, s, attrs) => gradFunc(only(dy), s, attrs) });
}

/** Comparisons and logic ops: piecewise constant, so their gradient is zero (needed to reach x through a `where`). */
function registerZeroGradients(): void {
  for (const name of ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr', 'LogicalXor']) {
    register(name, { inputsToSave: ['a', 'b'] }, (_dy, s) => ({ a: () => tf.zeros(saved(s, 0).shape), b: () => tf.zeros(saved(s, 1).shape) }));
  }
  register('LogicalNot', { inputsToSave: ['x'] }, (_dy, s) => ({ x: () => tf.zeros(saved(s, 0).shape) }));
}

/** Ops whose shipped gradient reads the saved output: the same formulas, recomputed from the input. */
function registerFromInput(): void {
  register('Sigmoid', { inputsToSave: ['x'] }, (dy, s) => ({
    x: () => {
      const y = tf.sigmoid(saved(s, 0));
      return dy.mul(y.mul(tf.scalar(1).sub(y)));
    },
  }));
  register('Tanh', { inputsToSave: ['x'] }, (dy, s) => ({ x: () => dy.mul(tf.scalar(1).sub(tf.tanh(saved(s, 0)).square())) }));
  register('Exp', { inputsToSave: ['x'] }, (dy, s) => ({ x: () => dy.mul(tf.exp(saved(s, 0))) }));
  // elu'(x) = 1 for x > 0, exp(x) = elu(x) + 1 otherwise.
  register('Elu', { inputsToSave: ['x'] }, (dy, s) => ({
    x: () => {
      const x = saved(s, 0);
      return tf.where(tf.greater(x, 0), dy, dy.mul(tf.elu(x).add(1)));
    },
  }));
  register('Softmax', { inputsToSave: ['logits'] }, (dy, s, attrs) => ({
    logits: () => {
      const dim = attr<number>(attrs, 'dim');
      const y = tf.softmax(saved(s, 0), dim);
      const dyY = dy.mul(y);
      return dyY.sub(dyY.sum([dim], true).mul(y));
    },
  }));
  // max/min: dy goes to every element equal to the extremum (tfjs's convention, ties included).
  const extremum = (reduce: (x: tf.Tensor, axes: number[]) => tf.Tensor, axesAttr: string) => (dy: tf.Tensor, s: tf.Tensor[], attrs: Attrs): Grads => ({
    x: () => {
      const x = saved(s, 0);
      const axes = tf.util.parseAxisParam(attr<number | number[]>(attrs, axesAttr), x.shape);
      const reduced = reduce(x, axes);
      const kept = tf.backend_util.expandShapeToKeepDim(reduced.shape, axes);
      const y = reduced.reshape(kept);
      return dy.reshape(kept).mul(tf.cast(tf.equal(x, y), 'float32'));
    },
  });
  register('Max', { inputsToSave: ['x'] }, extremum((x, axes) => tf.max(x, axes), 'reductionIndices'));
  register('Min', { inputsToSave: ['x'] }, extremum((x, axes) => tf.min(x, axes), 'axis'));
  // d(aᵇ)/da = b·aᵇ⁻¹, d(aᵇ)/db = aᵇ·log a (0 where a ≤ 0, as tfjs does).
  register('Pow', { inputsToSave: ['a', 'b'] }, (dy, s) => {
    const a = saved(s, 0);
    const b = saved(s, 1);
    return {
      a: () => unbroadcast(dy.mul(b.mul(tf.pow(a, b.sub(1)))), a.shape),
      b: () => {
        const logA = tf.where(tf.greater(a, 0), tf.log(tf.maximum(a, 1e-30)), tf.zerosLike(a));
        return unbroadcast(dy.mul(tf.pow(a, b).mul(logA)), b.shape);
      },
    };
  });
}

/**
 * avgPool's gradient, written with forward ops. tfjs's AvgPoolGrad divides by the full window size also
 * where 'same' padding made the forward average fewer elements (wrong at the borders, on cpu and wasm
 * alike), and wasm's kernel is a slow loop. Here: with P the zero padding the forward implies and cnt the
 * number of real inputs in each window, avgPool(x) = avgPool_valid(P(x))·(k²/cnt), so
 *   dx = crop(adjoint_valid(dy·k²/cnt)),
 * where the adjoint of a 'valid' k×k pool is nearest-neighbour upsampling / k² when the stride is k, the
 * 'full' correlation avgPool(pad(dy, k − 1)) when the stride is 1, and tfjs's AvgPoolGrad (correct
 * without padding; its own gradient is registered below) otherwise.
 */
function registerAvgPoolGradient(): void {
  register('AvgPool', { inputsToSave: ['x'] }, (dy, s, attrs) => ({
    x: () => {
      const x = saved(s, 0) as tf.Tensor4D;
      const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);
      const [fh, fw] = pair(attr(attrs, 'filterSize'));
      const [sh, sw] = pair(attr(attrs, 'strides'));
      const [n, h, w, c] = x.shape;
      const info = tf.backend_util.computePool2DInfo(x.shape, [fh, fw], [sh, sw], 1, attr(attrs, 'pad'), attr(attrs, 'dimRoundingMode'));
      const { top, bottom, left, right } = info.padInfo;
      const { outHeight: ho, outWidth: wo } = info;
      const ph = h + top + bottom;
      const pw = w + left + right;
      let g = dy as tf.Tensor4D;
      if (top || bottom || left || right) {
        const scale = new Float32Array(ho * wo);
        for (let i = 0; i < ho; i++) {
          const rows = Math.min(h, i * sh - top + fh) - Math.max(0, i * sh - top);
          for (let j = 0; j < wo; j++) {
            const cols = Math.min(w, j * sw - left + fw) - Math.max(0, j * sw - left);
            scale[i * wo + j] = (fh * fw) / Math.max(1, rows * cols);
          }
        }
        g = g.mul(tf.tensor4d(scale, [1, ho, wo, 1]));
      }
      let full: tf.Tensor4D;
      if (fh === sh && fw === sw && ph === ho * fh && pw === wo * fw) {
        const cols = g.reshape([n * ho, wo, 1, c]).mul(tf.ones([1, 1, fw, 1]));
        full = cols.reshape([n, ho, 1, pw * c]).mul(tf.ones([1, 1, fh, 1])).reshape([n, ph, pw, c]).div(fh * fw);
      } else if (sh === 1 && sw === 1) {
        const padded = tf.pad(g, [
          [0, 0],
          [fh - 1, fh - 1],
          [fw - 1, fw - 1],
          [0, 0],
        ]);
        full = tf.avgPool(padded, [fh, fw], 1, 'valid');
      } else {
        full = tf.engine().runKernel('AvgPoolGrad', { dy: g, input: tf.zeros([n, ph, pw, c]) }, { filterSize: [fh, fw], strides: [sh, sw], pad: 'valid' } as unknown as Attrs) as tf.Tensor4D;
      }
      return top || bottom || left || right ? full.slice([0, top, left, 0], [n, h, w, c]) : full;
    },
  }));
}

/** Gradients of the backward kernels themselves (linear in dy), so their inputs get second-order terms. */
function registerBackwardKernelGradients(): void {
  // AvgPoolGrad is the adjoint of avgPool in dy; its adjoint is avgPool again.
  register('AvgPoolGrad', { inputsToSave: ['input'] }, (ddx, s, attrs) => ({
    dy: () => tf.avgPool(ddx as tf.Tensor4D, attr(attrs, 'filterSize'), attr(attrs, 'strides'), attr(attrs, 'pad'), attr(attrs, 'dimRoundingMode')),
    input: () => tf.zeros(saved(s, 0).shape),
  }));
  // dW = BackpropFilter(x, dy) is bilinear in (x, dy): its derivatives are the two other convolutions.
  register('Conv2DBackpropFilter', { inputsToSave: ['x', 'dy'] }, (ddw, s, attrs) => {
    const x = saved(s, 0) as tf.Tensor4D;
    const dy = saved(s, 1) as tf.Tensor4D;
    const conv = { strides: attr(attrs, 'strides'), pad: attr(attrs, 'pad'), dataFormat: attr(attrs, 'dataFormat'), dimRoundingMode: attr(attrs, 'dimRoundingMode') };
    return {
      x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: ddw }, { ...conv, inputShape: x.shape } as unknown as Attrs) as tf.Tensor,
      dy: () => tf.engine().runKernel('Conv2D', { x, filter: ddw }, { ...conv, dilations: [1, 1] } as unknown as Attrs) as tf.Tensor,
    };
  });
}

/**
 * Resize gradients as the transposed interpolation matrices (ops/resample.ts): exact for every
 * alignCorners/halfPixelCenters combination and batch size, and differentiable to any order.
 */
function registerResizeGradients(): void {
  for (const [kernelName, kind] of [
    ['ResizeBilinear', 'bilinear'],
    ['ResizeNearestNeighbor', 'nearest'],
  ] as const) {
    register(kernelName, { inputsToSave: ['images'] }, (dy, s, attrs) => ({
      images: () => {
        const images = saved(s, 0) as tf.Tensor4D;
        const [, h, w] = images.shape;
        const [, ho, wo] = dy.shape as [number, number, number, number];
        const alignCorners = attr<boolean>(attrs, 'alignCorners');
        const halfPixelCenters = attr<boolean>(attrs, 'halfPixelCenters') ?? false;
        const ah = transposeMatrix(resizeMatrix(kind, h, ho, alignCorners, halfPixelCenters));
        const aw = transposeMatrix(resizeMatrix(kind, w, wo, alignCorners, halfPixelCenters));
        return resample2d(dy as tf.Tensor4D, ah, aw);
      },
    }));
  }
}

/**
 * Tile at any rank: the gradient sums the copies, one axis at a time, by splitting the axis into
 * [reps, size] (tfjs's own stops at rank 4 and slices every copy separately).
 */
function registerTileGradient(): void {
  register('Tile', { inputsToSave: ['x'] }, (dy, s, attrs) => ({
    x: () => {
      const x = saved(s, 0);
      const reps = attr<number[]>(attrs, 'reps');
      let g = dy;
      reps.forEach((r, axis) => {
        if (r === 1) return;
        const shape = [...g.shape];
        g = g.reshape([...shape.slice(0, axis), r, x.shape[axis] as number, ...shape.slice(axis + 1)]).sum(axis);
      });
      return g.reshape(x.shape);
    },
  }));
}

/** BatchMatMul with broadcast batch dimensions (tfjs's gradient returns the unreduced shape and fails). */
function registerBatchMatMulGradient(): void {
  register('BatchMatMul', { inputsToSave: ['a', 'b'] }, (dy, s, attrs) => {
    const a = saved(s, 0);
    const b = saved(s, 1);
    const ta = attr<boolean>(attrs, 'transposeA');
    const tb = attr<boolean>(attrs, 'transposeB');
    const da = (): tf.Tensor => (ta ? tf.matMul(b, dy, tb, true) : tf.matMul(dy, b, false, !tb));
    const db = (): tf.Tensor => (tb ? tf.matMul(dy, a, true, ta) : tf.matMul(a, dy, !ta, false));
    return { a: () => unbroadcastBatch(da(), a.shape), b: () => unbroadcastBatch(db(), b.shape) };
  });
}

/** Reduce a matmul gradient over the batch dimensions that were broadcast. */
function unbroadcastBatch(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (tf.util.arraysEqual(g.shape, shape)) return g;
  const inner = shape.slice(-2);
  const batch = shape.slice(0, -2);
  const gBatch = g.shape.slice(0, -2);
  const reduced = unbroadcast(g.reshape([...gBatch, (inner[0] as number) * (inner[1] as number)]), [...batch, (inner[0] as number) * (inner[1] as number)]);
  return reduced.reshape(shape);
}

let installed = false;

/** Register every gradient above (once per process; the gradient registry is global, not per backend). */
export function installGradients(): void {
  if (installed) return;
  registerZeroGradients();
  registerFromInput();
  registerAvgPoolGradient();
  registerBackwardKernelGradients();
  registerResizeGradients();
  registerTileGradient();
  registerBatchMatMulGradient();
  installed = true;
}
