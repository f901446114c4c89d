/**
 * Minibatches of real images from a packed uint8 dataset, in a seeded order: one permutation per epoch,
 * derived from (seed, epoch), so any position in the stream can be recreated from two integers.
 * Images larger than the training resolution are area-downsampled once, up front.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng, mixSeed } from '../rng.ts';

export interface PackedImages {
  pixels: Uint8Array;
  count: number;
  resolution: number;
}

export interface FeedPosition {
  epoch: number;
  index: number;
}

/** Box-filter downsample of packed RGB images by an integer factor (exact area averaging). */
export function downsamplePacked(images: PackedImages, target: number): PackedImages {
  const { pixels, count, resolution: src } = images;
  if (target === src) return images;
  if (target > src || src % target !== 0) {
    throw new Error(`dataset is ${src}×${src}; it cannot train at ${target}×${target} (choose ${src} or a power of two below it)`);
  }
  const f = src / target;
  const out = new Uint8Array(count * target * target * 3);
  const norm = 1 / (f * f);
  for (let n = 0; n < count; n++) {
    const base = n * src * src * 3;
    const obase = n * target * target * 3;
    for (let y = 0; y < target; y++) {
      for (let x = 0; x < target; x++) {
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let dy = 0; dy < f; dy++) {
            const row = base + ((y * f + dy) * src + x * f) * 3 + c;
            for (let dx = 0; dx < f; dx++) sum += pixels[row + dx * 3] as number;
          }
          out[obase + (y * target + x) * 3 + c] = Math.round(sum * norm);
        }
      }
    }
  }
  return { pixels: out, count, resolution: target };
}

export class DataFeed {
  private order: Uint32Array;
  private position: FeedPosition;

  constructor(
    private readonly images: PackedImages,
    private readonly seed: number,
    private readonly xflip: boolean,
    start: FeedPosition = { epoch: 0, index: 0 },
  ) {
    if (images.count === 0) throw new Error('the dataset has no images');
    this.position = { ...start };
    this.order = this.permutation(start.epoch);
  }

  private permutation(epoch: number): Uint32Array {
    return new Rng(mixSeed(this.seed, 0xda7a, epoch)).permutation(this.images.count);
  }

  get count(): number {
    return this.images.count;
  }

  get state(): FeedPosition {
    return { ...this.position };
  }

  /** The next `batch` images as a float tensor in [-1, 1], NHWC. `step` keys the flips. */
  next(batch: number, step: number): tf.Tensor4D {
    const r = this.images.resolution;
    const size = r * r * 3;
    const out = new Float32Array(batch * size);
    const flips = new Rng(mixSeed(this.seed, 0xf11b, step));
    for (let b = 0; b < batch; b++) {
      if (this.position.index >= this.images.count) {
        this.position = { epoch: this.position.epoch + 1, index: 0 };
        this.order = this.permutation(this.position.epoch);
      }
      const src = (this.order[this.position.index++] as number) * size;
      const dst = b * size;
      const flip = this.xflip && flips.uniform() < 0.5;
      for (let y = 0; y < r; y++) {
        for (let x = 0; x < r; x++) {
          const sx = flip ? r - 1 - x : x;
          const si = src + (y * r + sx) * 3;
          const di = dst + (y * r + x) * 3;
          out[di] = (this.images.pixels[si] as number) / 127.5 - 1;
          out[di + 1] = (this.images.pixels[si + 1] as number) / 127.5 - 1;
          out[di + 2] = (this.images.pixels[si + 2] as number) / 127.5 - 1;
        }
      }
    }
    return tf.tensor4d(out, [batch, r, r, 3]);
  }

  /** `count` images spread evenly over the dataset, unflipped, as packed uint8 (for reals.png). */
  spreadImages(count: number): Uint8Array {
    const n = Math.min(count, this.images.count);
    const size = this.images.resolution ** 2 * 3;
    const out = new Uint8Array(n * size);
    for (let i = 0; i < n; i++) {
      const src = Math.floor((i * this.images.count) / n) * size;
      out.set(this.images.pixels.subarray(src, src + size), i * size);
    }
    return out;
  }
}

/** [-1, 1] float images → uint8 RGB, packed. Reads the tensor; the caller disposes it. */
export async function toUint8(images: tf.Tensor4D): Promise<Uint8Array> {
  const scaled = tf.tidy(() => images.add(1).mul(127.5).round().clipByValue(0, 255));
  const data = await scaled.data();
  scaled.dispose();
  return Uint8Array.from(data);
}
