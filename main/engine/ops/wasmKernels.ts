/**
 * Backward kernels the wasm backend of tfjs 4.22 does not ship, written in terms of the forward kernels it
 * does ship (XNNPACK-backed, so they run at wasm speed). Without Conv2DBackpropFilter no conv net can train
 * on wasm at all; without UnsortedSegmentSum there is no gradient of gather (hence of softmax-style
 * indexing) on wasm. DepthwiseConv2dNativeBackpropInput/Filter stay missing: no network here uses a
 * depthwise convolution.
 *
 * The kernels call the wasm backend's own kernel functions directly (not tf ops): inside a kernel, ops
 * would be tracked by the engine, and what we need here is plain data in, data out.
 */
import * as tf from '@tensorflow/tfjs';

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend & {
  disposeData(dataId: object): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
};
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };

function wasmKernel(name: string): (args: KernelArgs) => TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm backend has no ${name} kernel to build on`);
  return (args) => kernel.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as TensorInfo;
}

function requireInput(inputs: tf.NamedTensorInfoMap, name: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`kernel input ${name} is missing`);
  return t;
}

/**
 * dW[a,b,ci,co] = Σ_{n,i,j} x[n, i·s + a − padTop, j·s + b − padLeft, ci] · dy[n,i,j,co]
 *
 * is a forward convolution of x with its batch and channel axes swapped ([Cin,H,W,N]) by dy used as the
 * filter ([Ho,Wo,N,Cout]), with the original stride as the dilation, giving [Cin,kh,kw,Cout].
 */
function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const x = requireInput(inputs, 'x');
  const dy = requireInput(inputs, 'dy');
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  if (dataFormat !== 'NHWC') throw new Error('Conv2DBackpropFilter (wasm): only NHWC is supported');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo } = info;
  const { top, left } = info.padInfo;
  const [, h, w] = x.shape as [number, number, number, number];
  // Bottom/right padding that makes the output exactly kh×kw; negative means rows of x the original
  // convolution never read, which we crop away.
  const bottom = kh - h - top + (ho - 1) * sh;
  const right = kw - w - left + (wo - 1) * sw;

  const be = backend as Backend;
  const transpose = wasmKernel('Transpose');
  const conv2d = wasmKernel('Conv2D');
  const slice = wasmKernel('Slice');
  const temps: TensorInfo[] = [];
  try {
    let xc = x;
    if (bottom < 0 || right < 0) {
      xc = slice({ inputs: { x }, backend, attrs: { begin: [0, 0, 0, 0], size: [-1, h + Math.min(bottom, 0), w + Math.min(right, 0), -1] } });
      temps.push(xc);
    }
    const xt = transpose({ inputs: { x: xc }, backend, attrs: { perm: [3, 1, 2, 0] } });
    temps.push(xt);
    const dyt = transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } });
    temps.push(dyt);
    const explicit: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [top, Math.max(bottom, 0)],
      [left, Math.max(right, 0)],
      [0, 0],
    ];
    const out = conv2d({
      inputs: { x: xt, filter: dyt },
      backend,
      attrs: { strides: [1, 1], pad: explicit, dataFormat: 'NHWC', dilations: [sh, sw], dimRoundingMode: undefined as unknown as string },
    });
    temps.push(out);
    return transpose({ inputs: { x: out }, backend, attrs: { perm: [1, 2, 0, 3] } });
  } finally {
    for (const t of temps) be.disposeData(t.dataId);
  }
}

/**
 * dx[n,y,x,ci] = Σ dy[n,i,j,co] · W[a,b,ci,co] over y = i·s + a − padTop (likewise x).
 *
 * wasm ships this kernel as a direct loop ~10× slower than its XNNPACK forward convolution, and it is on
 * the hot path twice (every transposed conv in G, every input gradient through D). We compute it as one
 * forward convolution in "sub-pixel" form: with Y = y + padTop = q·s + p, each output phase p is a
 * stride-1 correlation of dy with the sub-kernel W[p + s·m] (m reversed), so one conv2d with s²·Cin
 * output channels gives every phase, and DepthToSpace interleaves them. No multiply is spent on zeros.
 */
function conv2DBackpropInput(shipped: (args: KernelArgs) => TensorInfo, { inputs, backend, attrs }: KernelArgs): TensorInfo {
  const dy = requireInput(inputs, 'dy');
  const filter = requireInput(inputs, 'filter');
  const { inputShape, strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as {
    inputShape: [number, number, number, number];
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const [kh, kw, cin, cout] = filter.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(inputShape, [kh, kw, cin, cout], strides, 1, pad, dimRoundingMode);
  const s = info.strideHeight;
  if (dataFormat !== 'NHWC' || info.strideWidth !== s) return shipped({ inputs, backend, attrs });
  const [n, ho, wo] = dy.shape as [number, number, number, number];
  const [, h, w] = inputShape;
  const { top, left } = info.padInfo;
  const mh = Math.ceil(kh / s);
  const mw = Math.ceil(kw / s);
  const qh = Math.ceil((h + top) / s);
  const qw = Math.ceil((w + left) / s);

  const be = backend as Backend;
  const conv2d = wasmKernel('Conv2D');
  const slice = wasmKernel('Slice');
  const temps: TensorInfo[] = [];
  try {
    // Sub-kernels F[th, tw, co, (ph·s + pw)·Cin + ci] = W[ph + s·(mh−1−th), pw + s·(mw−1−tw), ci, co]
    // (zero where the index runs past the kernel). A small rearrangement, done directly on the heap:
    // wasm's generic rank-6 transpose/reverse would cost more than the convolution itself.
    const f = be.makeOutput([mh, mw, cout, s * s * cin], 'float32');
    temps.push(f);
    const fv = be.typedArrayFromHeap(f);
    const wv = be.typedArrayFromHeap(filter);
    fv.fill(0);
    for (let th = 0; th < mh; th++) {
      for (let tw = 0; tw < mw; tw++) {
        for (let ph = 0; ph < s; ph++) {
          const a = ph + s * (mh - 1 - th);
          if (a >= kh) continue;
          for (let pw = 0; pw < s; pw++) {
            const b = pw + s * (mw - 1 - tw);
            if (b >= kw) continue;
            const block = (ph * s + pw) * cin;
            for (let ci = 0; ci < cin; ci++) {
              const src = ((a * kw + b) * cin + ci) * cout;
              let dst = ((th * mw + tw) * cout) * s * s * cin + block + ci;
              for (let co = 0; co < cout; co++, dst += s * s * cin) fv[dst] = wv[src + co] as number;
            }
          }
        }
      }
    }

    // Pad dy by m−1 before (a sub-kernel reaches back m−1 rows) and up to q rows after; crop rows that
    // only feed outputs past the image.
    const bottom = qh - ho;
    const right = qw - wo;
    let d = dy;
    if (bottom < 0 || right < 0) {
      d = slice({ inputs: { x: d }, backend, attrs: { begin: [0, 0, 0, 0], size: [n, ho + Math.min(bottom, 0), wo + Math.min(right, 0), cout] } });
      temps.push(d);
    }
    const explicit: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [mh - 1, Math.max(bottom, 0)],
      [mw - 1, Math.max(right, 0)],
      [0, 0],
    ];
    const phases = conv2d({
      inputs: { x: d, filter: f },
      backend,
      attrs: { strides: [1, 1], pad: explicit, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined as unknown as string },
    });
    // Stride 1 has a single phase: dx is the correlation itself, cropped by the padding (a Slice kernel,
    // not the JS interleave below, which costs more than the convolution at these sizes).
    if (s === 1) {
      if (top === 0 && left === 0 && qh === h && qw === w) return phases;
      temps.push(phases);
      return slice({ inputs: { x: phases }, backend, attrs: { begin: [0, top, left, 0], size: [n, h, w, cin] } });
    }
    temps.push(phases);

    // Interleave the phases and crop the padding in one pass: dx[n,y,x,:] = phases[n, q, r, (ph·s+pw)·Cin : +Cin]
    // with y + top = q·s + ph and x + left = r·s + pw.
    const out = be.makeOutput([n, h, w, cin], 'float32');
    const ov = be.typedArrayFromHeap(out);
    const pv = be.typedArrayFromHeap(phases);
    const pc = s * s * cin;
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < h; y++) {
        const q = Math.floor((y + top) / s);
        const ph = (y + top) % s;
        for (let x = 0; x < w; x++) {
          const r = Math.floor((x + left) / s);
          const pw = (x + left) % s;
          const src = ((b * qh + q) * qw + r) * pc + (ph * s + pw) * cin;
          ov.set(pv.subarray(src, src + cin), ((b * h + y) * w + x) * cin);
        }
      }
    }
    return out;
  } finally {
    for (const t of temps) if (t !== dy) be.disposeData(t.dataId);
  }
}

/** out[s, ...] = Σ_{i: ids[i] = s} x[i, ...]; ids outside [0, numSegments) are dropped, as in TensorFlow. */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const x = requireInput(inputs, 'x');
  const ids = requireInput(inputs, 'segmentIds');
  const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
  const count = tf.util.sizeFromShape(ids.shape);
  const inner = count === 0 ? 0 : tf.util.sizeFromShape(x.shape) / count;
  const be = backend as Backend;
  // Allocate first: growing the wasm heap detaches every view taken before.
  const out = be.makeOutput([numSegments, ...x.shape.slice(ids.shape.length)], x.dtype);
  const ov = be.typedArrayFromHeap(out) as Float32Array | Int32Array; // the view matches the dtype
  const xv = be.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const iv = be.typedArrayFromHeap(ids) as unknown as Int32Array;
  ov.fill(0);
  for (let i = 0; i < count; i++) {
    const segment = iv[i] as number;
    if (segment < 0 || segment >= numSegments) continue;
    const src = i * inner;
    const dst = segment * inner;
    for (let k = 0; k < inner; k++) ov[dst + k] = (ov[dst + k] as number) + (xv[src + k] as number);
  }
  return out;
}

let installed = false;
let shippedConv2DBackpropInput: ((args: KernelArgs) => TensorInfo) | null = null;

/** Run `fn` with the Conv2DBackpropInput wasm ships instead of ours (benchmarks compare the two). */
export function withShippedConv2DBackpropInput<T>(fn: () => T): T {
  const ours = tf.getKernel('Conv2DBackpropInput', 'wasm');
  const shipped = shippedConv2DBackpropInput;
  if (!ours || !shipped) return fn();
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({ kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: shipped as tf.KernelFunc });
  try {
    return fn();
  } finally {
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel(ours);
  }
}

/** Register the missing wasm kernels. Safe to call more than once; a no-op where wasm is absent. */
export function installWasmKernels(): void {
  if (installed || !tf.getKernel('Conv2D', 'wasm')) return;
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter as tf.KernelFunc });
  }
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum as tf.KernelFunc });
  }
  // Replaces the shipped kernel (same semantics, ~10× faster); tests compare both against finite differences.
  const shipped = wasmKernel('Conv2DBackpropInput');
  shippedConv2DBackpropInput = shipped;
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    kernelFunc: ((args: KernelArgs) => conv2DBackpropInput(shipped, args)) as tf.KernelFunc,
  });
  installed = true;
}
