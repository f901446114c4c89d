/**
 * The one place where the engine closes TensorFlow.js's gaps, installed at engine start on every backend
 * (selectBackend calls it after the backend is ready):
 *  - wasmKernels.ts: backward kernels wasm lacks (Conv2DBackpropFilter, UnsortedSegmentSum) and a faster
 *    Conv2DBackpropInput;
 *  - gradients.ts: gradients tfjs lacks or gets wrong at second order (global, not per backend).
 * Each patch is covered by a finite-difference test (tests/engine/gradients.test.ts, secondOrder.test.ts),
 * so a tfjs upgrade that breaks one fails a test, not a run.
 */
import { installGradients } from './gradients.ts';
import { installWasmKernels } from './wasmKernels.ts';

export function installEngineOps(): void {
  installWasmKernels();
  installGradients();
}
