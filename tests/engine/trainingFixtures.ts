/**
 * What the engine's training tests share: a small image set with known structure, a few training steps
 * that read their scalars, and exact comparisons of state and images.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../main/engine/rng.ts';
import type { DataFeed, PackedImages } from '../../main/engine/training/dataFeed.ts';
import type { GanFamily } from '../../main/engine/training/family.ts';

/** `count` res×res images: a random background with a random square of another colour. */
export function colouredSquares(count: number, res: number, seed: number): PackedImages {
  const rng = new Rng(seed);
  const pixels = new Uint8Array(count * res * res * 3);
  for (let n = 0; n < count; n++) {
    const bg = [rng.int(256), rng.int(256), rng.int(256)];
    const fg = [rng.int(256), rng.int(256), rng.int(256)];
    const size = 4 + rng.int(res / 2);
    const x0 = rng.int(res - size + 1);
    const y0 = rng.int(res - size + 1);
    for (let y = 0; y < res; y++) {
      for (let x = 0; x < res; x++) {
        const inside = x >= x0 && x < x0 + size && y >= y0 && y < y0 + size;
        pixels.set(inside ? fg : bg, ((n * res + y) * res + x) * 3);
      }
    }
  }
  return { pixels, count, resolution: res };
}

/** Train `count` steps from `from` on batches of `batch`, reading each step's scalars; one array per step. */
export async function trainSteps(family: GanFamily, feed: DataFeed, batch: number, from: number, count: number): Promise<number[][]> {
  const out: number[][] = [];
  for (let step = from; step < from + count; step++) {
    const reals = feed.next(batch, step);
    const scalars = family.trainStep(reals, step);
    reals.dispose();
    out.push(Array.from(await scalars.data()));
    scalars.dispose();
  }
  return out;
}

/** Copies of every state tensor's values, by name. */
export function stateValues(family: GanFamily): Map<string, Float32Array> {
  return new Map(family.stateTensors().map(([name, t]) => [name, Float32Array.from(t.dataSync() as Float32Array)]));
}

/** Bitwise equality of two arrays (exact, including -0 and NaN payloads). */
export function sameBits(a: Float32Array | Uint8Array, b: Float32Array | Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** The generator's images for the latents `z`, as values. */
export async function generated(family: GanFamily, z: tf.Tensor2D): Promise<Float32Array> {
  const images = tf.tidy(() => family.generate(z));
  const values = Float32Array.from(await images.data());
  images.dispose();
  return values;
}
