/**
 * Test helpers for the engine: a finite-difference gradient checker, and the list of TensorFlow.js
 * backends a test file should run its checks on.
 *
 * Gradient check. Everything here is float32, where a coordinate-by-coordinate finite difference is noisy,
 * so the main check is directional: for a few seeded random directions v (entries uniform in [-1, 1]),
 *
 *     ⟨∇f(x), v⟩   vs   (f(x + h·s·v) − f(x − h·s·v)) / (2·h·s)
 *
 * with h = 1e-2 and s a per-input scale (1 for well-scaled inputs; the parameter's size otherwise). A few
 * single coordinates (the largest |∂f/∂xᵢ| and some random ones) are compared the same way. A pair agrees
 * when |analytic − numeric| ≤ atol + rtol·max(|analytic|, |numeric|), with
 *
 *   rtol = 2e-2   (a wrong gradient — a flipped kernel, a missing term, a wrong scale — is off by O(1));
 *   atol = 1e-6·max(1, |f(x)|) / (h·s)   (float32 rounding of f, ~8 ulp of f, divided by the step).
 *
 * Kinks (relu, abs) break finite differences only when a perturbation crosses one; with |vᵢ| ≤ 1 and
 * h = 1e-2, inputs kept ≥ 0.1 away from a kink (see `awayFromZero`) never cross it.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../../main/engine/backend.ts';
import { selectBackend } from '../../main/engine/backend.ts';
import { Rng } from '../../main/engine/rng.ts';

export const DEFAULT_H = 1e-2;
export const DEFAULT_RTOL = 2e-2;
/** atol = ATOL_NOISE · max(1, |f(x)|) / (h·s) unless given. */
export const ATOL_NOISE = 1e-6;

export interface GradCheckOptions {
  /** Names of the inputs, used in messages (default "input 0", "input 1", ...). */
  names?: readonly string[];
  /** Random directions per input (default 3). */
  directions?: number;
  /** Single coordinates per input (default 3): the largest |gradient| and random others. */
  coordinates?: number;
  /**
   * Step along a direction with entries in [-1, 1] (default 1e-2). Several steps: a comparison passes when
   * it agrees at any of them, tried in order (for nets with kinks, where a larger step may cross one).
   */
  h?: number | readonly number[];
  /** Per-input multiplier of h (default 1 each), for inputs that are not O(1). */
  scales?: readonly number[];
  rtol?: number;
  /** Absolute tolerance; by default derived from |f(x)| and the step (see the file comment). */
  atol?: number;
  seed?: number;
  /** Prefix for messages, e.g. "conv2d stride 2 'same' [wasm]". */
  label?: string;
}

export interface GradCheckResult {
  /** Number of comparisons made. */
  checks: number;
  /** max over comparisons of |analytic − numeric| / tolerance (≤ 1 when all agree). */
  worstRatio: number;
  /** The comparison with the largest ratio, described. */
  worst: string;
  /** f at the unperturbed inputs. */
  value: number;
}

export class GradientMismatch extends Error {
  override name = 'GradientMismatch';
}

/** What the checker needs from "f of some inputs": values of f with one input replaced, and ∇f. */
interface Problem {
  names: string[];
  shapes: number[][];
  values: Float32Array[];
  /** f with input `index` replaced by `values` (the others unchanged). */
  evaluate(index: number, values: Float32Array): number;
  /** f and its gradient with respect to each input. */
  analytic(): { value: number; grads: Float32Array[] };
}

function readScalar(make: () => tf.Tensor): number {
  const s = tf.tidy(make);
  try {
    if (s.size !== 1) throw new Error(`the checked function must return a scalar, got shape [${s.shape.join(', ')}]`);
    return s.dataSync()[0] as number;
  } finally {
    s.dispose();
  }
}

function unravel(index: number, shape: number[]): string {
  const out: number[] = [];
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d] as number;
    out.unshift(rest % size);
    rest = Math.floor(rest / size);
  }
  return `[${out.join(', ')}]`;
}

function runCheck(problem: Problem, opts: GradCheckOptions): GradCheckResult {
  const steps = typeof opts.h === 'number' ? [opts.h] : opts.h && opts.h.length > 0 ? [...opts.h] : [DEFAULT_H];
  const rtol = opts.rtol ?? DEFAULT_RTOL;
  const directions = opts.directions ?? 3;
  const coordinates = opts.coordinates ?? 3;
  const rng = new Rng(opts.seed ?? 12345);
  const label = opts.label ? `${opts.label}: ` : '';
  const { value, grads } = problem.analytic();
  if (!Number.isFinite(value)) throw new GradientMismatch(`${label}f(x) = ${value} is not finite`);

  const failures: string[] = [];
  let checks = 0;
  let worstRatio = 0;
  let worst = 'no comparisons';

  problem.values.forEach((x, i) => {
    const name = problem.names[i] ?? `input ${i}`;
    const grad = grads[i] as Float32Array;
    const scale = opts.scales?.[i] ?? 1;
    for (let k = 0; k < grad.length; k++) {
      if (!Number.isFinite(grad[k] as number)) {
        failures.push(`${name}${unravel(k, problem.shapes[i] as number[])}: analytic gradient is ${grad[k]}`);
        return;
      }
    }
    const perturbed = new Float32Array(x.length);
    /** f(x + t·u) for the direction u (a dense direction, or a coordinate index). */
    const along = (u: Float64Array | number, t: number): number => {
      if (typeof u === 'number') {
        perturbed.set(x);
        perturbed[u] = (x[u] as number) + t;
      } else {
        for (let k = 0; k < u.length; k++) perturbed[k] = (x[k] as number) + t * (u[k] as number);
      }
      return problem.evaluate(i, perturbed);
    };
    /** Compare at each step in turn; the first that agrees settles it. */
    const compare = (what: string, analytic: number, u: Float64Array | number): void => {
      const tried: string[] = [];
      let best = Infinity;
      let bestText = '';
      for (const h of steps) {
        const step = h * scale;
        const numeric = (along(u, step) - along(u, -step)) / (2 * step);
        const atol = opts.atol ?? (ATOL_NOISE * Math.max(1, Math.abs(value))) / step;
        const diff = Math.abs(analytic - numeric);
        const tol = atol + rtol * Math.max(Math.abs(analytic), Math.abs(numeric));
        const ratio = Number.isFinite(numeric) ? diff / tol : Infinity;
        const text = `central difference ${numeric.toPrecision(6)} at h·s = ${step} (|diff| ${diff.toPrecision(3)}, tolerance ${tol.toPrecision(3)} = atol ${atol.toPrecision(3)} + rtol ${rtol}·max)`;
        tried.push(text);
        if (ratio < best) {
          best = ratio;
          bestText = text;
        }
        if (ratio <= 1) break;
      }
      checks++;
      const summary = `${name} ${what}: analytic ${analytic.toPrecision(6)} vs ${best <= 1 ? bestText : tried.join('; ')}`;
      if (best > worstRatio || checks === 1) {
        worstRatio = Math.max(worstRatio, best);
        worst = summary;
      }
      if (!(best <= 1)) failures.push(summary);
    };

    for (let d = 0; d < directions; d++) {
      const v = new Float64Array(x.length);
      for (let k = 0; k < v.length; k++) v[k] = 2 * rng.uniform() - 1;
      let analytic = 0;
      for (let k = 0; k < v.length; k++) analytic += (grad[k] as number) * (v[k] as number);
      compare(`along random direction #${d}`, analytic, v);
    }
    const picked = new Set<number>();
    if (coordinates > 0 && grad.length > 0) {
      let largest = 0;
      for (let k = 1; k < grad.length; k++) if (Math.abs(grad[k] as number) > Math.abs(grad[largest] as number)) largest = k;
      picked.add(largest);
      for (let tries = 0; picked.size < Math.min(coordinates, grad.length) && tries < 100; tries++) picked.add(rng.int(grad.length));
    }
    for (const k of picked) compare(`coordinate ${unravel(k, problem.shapes[i] as number[])}`, grad[k] as number, k);
  });

  if (process.env.GRADCHECK_VERBOSE) console.log(`[gradcheck] ${label}${checks} comparisons, worst ratio ${worstRatio.toFixed(3)}: ${worst}`);
  if (failures.length > 0) {
    const shown = failures.slice(0, 5).join('\n  ');
    const more = failures.length > 5 ? `\n  ... and ${failures.length - 5} more` : '';
    throw new GradientMismatch(`${label}${failures.length} of ${checks} gradient comparisons disagree (f(x) = ${value}):\n  ${shown}${more}`);
  }
  return { checks, worstRatio, worst, value };
}

/**
 * Compare tf.grads(f) at `inputs` with central finite differences. Throws a GradientMismatch naming the
 * input, the direction or coordinate and the discrepancy; returns a summary otherwise. Inputs are not
 * modified or disposed; no tensors are left behind.
 */
export function checkGradients(f: (...xs: tf.Tensor[]) => tf.Scalar, inputs: tf.Tensor[], opts: GradCheckOptions = {}): GradCheckResult {
  for (const [i, x] of inputs.entries()) {
    if (x.dtype !== 'float32') throw new Error(`checkGradients: ${opts.names?.[i] ?? `input ${i}`} is ${x.dtype}, not float32`);
  }
  const values = inputs.map((x) => Float32Array.from(x.dataSync() as Float32Array));
  return runCheck(
    {
      names: inputs.map((_, i) => opts.names?.[i] ?? `input ${i}`),
      shapes: inputs.map((x) => x.shape),
      values,
      evaluate: (index, replacement) =>
        readScalar(() => f(...inputs.map((x, j) => (j === index ? tf.tensor(replacement, x.shape, 'float32') : x)))),
      analytic: () => {
        const grads = tf.tidy(() => tf.grads((...xs: tf.Tensor[]) => f(...xs))(inputs));
        const out = grads.map((g) => Float32Array.from(g.dataSync() as Float32Array));
        tf.dispose(grads);
        return { value: readScalar(() => f(...inputs)), grads: out };
      },
    },
    opts,
  );
}

/**
 * The same check for a loss that reads tf.Variables (a network's parameters): the analytic side is
 * tf.variableGrads, the numeric side assigns perturbed values. Every variable is restored afterwards.
 */
export function checkVariableGradients(loss: () => tf.Scalar, variables: tf.Variable[], opts: GradCheckOptions = {}): GradCheckResult {
  const originals = variables.map((v) => tf.keep(v.clone()));
  const values = variables.map((v) => Float32Array.from(v.dataSync() as Float32Array));
  const restore = (index: number): void => {
    (variables[index] as tf.Variable).assign(originals[index] as tf.Tensor);
  };
  try {
    return runCheck(
      {
        names: variables.map((v, i) => opts.names?.[i] ?? v.name),
        shapes: variables.map((v) => v.shape),
        values,
        evaluate: (index, replacement) => {
          const variable = variables[index] as tf.Variable;
          tf.tidy(() => variable.assign(tf.tensor(replacement, variable.shape, 'float32')));
          try {
            return readScalar(loss);
          } finally {
            restore(index);
          }
        },
        analytic: () => {
          const { value, grads } = tf.variableGrads(loss, variables);
          try {
            const out = variables.map((v) => {
              const g = grads[v.name];
              if (!g) throw new GradientMismatch(`${opts.label ?? ''} no gradient reached ${v.name}`);
              return Float32Array.from(g.dataSync() as Float32Array);
            });
            return { value: value.dataSync()[0] as number, grads: out };
          } finally {
            value.dispose();
            tf.dispose(Object.values(grads));
          }
        },
      },
      opts,
    );
  } finally {
    variables.forEach((_, i) => restore(i));
    tf.dispose(originals);
  }
}

// ---- test data ----

/** Seeded N(0, std²) float32 tensor (does not depend on the backend). */
export function randomTensor(shape: number[], seed: number, std = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(new Rng(seed).normalArray(n, std), shape, 'float32');
}

/** Seeded values with |x| ≥ margin (sign random): safe for finite differences across relu/abs kinks. */
export function awayFromZero(shape: number[], seed: number, margin = 0.1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.uniform() < 0.5 ? -1 : 1) * (margin + Math.abs(rng.normal()));
  return tf.tensor(out, shape, 'float32');
}

/**
 * ⟨y, R⟩ for a fixed seeded random R of y's shape, divided by √size so it stays O(1). Reducing an op's
 * output this way (rather than with sum) gives every output element its own weight, so a gradient that
 * permutes or flips elements (a mirrored kernel, a transposed matrix) is caught.
 */
export function project(y: tf.Tensor, seed: number): tf.Scalar {
  return tf.tidy(() => {
    const r = tf.tensor(new Rng(seed).normalArray(y.size), y.shape, 'float32');
    return y.mul(r).sum().div(Math.sqrt(y.size)) as tf.Scalar;
  });
}

// ---- backends ----

export interface EngineBackends {
  /** Backends to run on, in order; each is registered and initialised (switch with tf.setBackend). */
  run: BackendName[];
  /** Backends not run here, with the reason, so a test can report them as skipped (never a silent pass). */
  skipped: Array<{ name: BackendName; reason: string }>;
}

let backendsOnce: Promise<EngineBackends> | null = null;

/**
 * Every backend present in this process: tensorflow (when @tensorflow/tfjs-node[-gpu] imports), wasm and
 * cpu. Initialises the engine through selectBackend('wasm') so our wasm kernels are installed exactly as
 * in a run; after that, `await tf.setBackend(name)` switches between backends in the same process.
 * GAN_STUDIO_BACKEND, when set, restricts the list to that one backend (the others are named as skipped).
 */
export function engineBackends(): Promise<EngineBackends> {
  backendsOnce ??= (async () => {
    const available: BackendName[] = [];
    const skipped: EngineBackends['skipped'] = [];
    let tensorflowReason = '';
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await import(pkg);
        tensorflowReason = '';
        break;
      } catch (error) {
        const first = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
        tensorflowReason += `${tensorflowReason ? '; ' : ''}${pkg} ${/Cannot find (module|package)/.test(first) ? 'not installed' : first}`;
      }
    }
    try {
      await selectBackend('wasm');
      available.push('wasm');
    } catch (error) {
      skipped.push({ name: 'wasm', reason: `wasm backend did not start: ${error instanceof Error ? error.message : String(error)}` });
      await selectBackend('cpu');
    }
    if (!tensorflowReason && tf.findBackendFactory('tensorflow') && (await tf.setBackend('tensorflow'))) available.unshift('tensorflow');
    else skipped.unshift({ name: 'tensorflow', reason: tensorflowReason || 'tensorflow backend did not initialise' });
    if (await tf.setBackend('cpu')) available.push('cpu');
    else skipped.push({ name: 'cpu', reason: 'cpu backend did not initialise' });

    const force = process.env.GAN_STUDIO_BACKEND;
    const run = force ? available.filter((b) => b === force) : available;
    for (const name of available) if (!run.includes(name)) skipped.push({ name, reason: `GAN_STUDIO_BACKEND=${force ?? ''} restricts this run` });
    if (run.length === 0) throw new Error(`no backend to test: GAN_STUDIO_BACKEND=${force ?? ''} is not available (have ${available.join(', ')})`);
    await tf.setBackend(run[0] as string);
    return { run, skipped };
  })();
  return backendsOnce;
}

/** Max |a − b| over two equally shaped arrays, and max |b| (the reference's scale). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length} differ`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return { diff, scale };
}
