/**
 * Picks the fastest TensorFlow.js backend this machine has and says which, and why not the better ones:
 * tfjs-node-gpu (CUDA), then tfjs-node (native CPU), then wasm (SIMD), then the pure-JS cpu backend.
 * The native packages are optional dependencies whose install downloads libtensorflow, so on many machines
 * they are simply absent; that is normal and reported, not an error.
 *
 * GAN_STUDIO_BACKEND=tensorflow|wasm|cpu forces one (tests use it to run the same checks on each backend).
 */
import { execFileSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo } from '../../shared/contract.ts';
import { messageOf } from '../errors.ts';
import { installEngineOps } from './ops/install.ts';

export type BackendName = BackendInfo['name'];

interface Candidate {
  name: BackendName;
  package: string;
  load(): Promise<void>;
}

const candidates: Candidate[] = [
  { name: 'tensorflow', package: '@tensorflow/tfjs-node-gpu', load: async () => void (await import('@tensorflow/tfjs-node-gpu' as string)) },
  { name: 'tensorflow', package: '@tensorflow/tfjs-node', load: async () => void (await import('@tensorflow/tfjs-node' as string)) },
  { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', load: async () => void (await import('@tensorflow/tfjs-backend-wasm')) },
  { name: 'cpu', package: '@tensorflow/tfjs-backend-cpu', load: async () => undefined },
];

function nvidiaGpuName(): string | null {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { timeout: 3000, encoding: 'utf8' });
    return out.split('\n')[0]?.trim() || null;
  } catch {
    return null;
  }
}

function describe(candidate: Candidate): Pick<BackendInfo, 'detail' | 'gpu'> {
  switch (candidate.package) {
    case '@tensorflow/tfjs-node-gpu': {
      const gpu = nvidiaGpuName() ?? 'CUDA device';
      return { detail: `GPU: ${gpu} (CUDA, tfjs-node-gpu)`, gpu };
    }
    case '@tensorflow/tfjs-node':
      return { detail: 'CPU: native TensorFlow (tfjs-node)', gpu: null };
    case '@tensorflow/tfjs-backend-wasm': {
      const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD on' : 'SIMD off';
      return { detail: `CPU: WebAssembly (${simd}, 1 thread)`, gpu: null };
    }
    default:
      return { detail: 'CPU: pure JavaScript (slow; install @tensorflow/tfjs-node for speed)', gpu: null };
  }
}

let chosen: BackendInfo | null = null;

/** Select and initialise the backend once per process; later calls return the same answer. */
export async function selectBackend(force: string | undefined = process.env.GAN_STUDIO_BACKEND): Promise<BackendInfo> {
  if (chosen) return chosen;
  if (force && !candidates.some((c) => c.name === force)) {
    throw new Error(`GAN_STUDIO_BACKEND=${force} is not a backend; use tensorflow, wasm or cpu`);
  }
  // PROD silences tfjs's console banners (we report the backend ourselves); it does not change numerics.
  tf.env().set('PROD', true);
  const skipped: string[] = [];
  for (const candidate of candidates) {
    if (force && candidate.name !== force) continue;
    try {
      await candidate.load();
      if (!(await tf.setBackend(candidate.name))) throw new Error('backend failed to initialise');
      await tf.ready();
      installEngineOps();
      chosen = { name: candidate.name, package: candidate.package, ...describe(candidate), skipped };
      return chosen;
    } catch (error) {
      const first = messageOf(error).split('\n')[0] ?? '';
      const reason = /Cannot find (module|package)/.test(first) ? 'not installed' : first;
      skipped.push(`${candidate.package}: ${reason}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start: ${skipped.join('; ')}`);
}
