/**
 * The one place where the engine closes TensorFlow.js's gaps, installed at engine start on every backend
 * (selectBackend calls it after the backend is ready). Each patch here is covered by a finite-difference
 * test in tests/engine/gradients.test.ts, so a tfjs upgrade that breaks one fails a test, not a run.
 */
import { installWasmKernels } from './wasmKernels.ts';

export function installEngineOps(): void {
  installWasmKernels();
}
