/**
 * Image helpers shared by the engine (sample grids) and the data side (dataset previews): turning packed
 * uint8 RGB images into one PNG grid.
 */
import sharp from 'sharp';

/**
 * Tile `count` images of size `res`×`res` (RGB, NHWC uint8, packed back to back in `pixels`) into a
 * `cols`-wide grid with a 1-px-free layout (images touch, as in the papers' figures).
 */
export async function encodeGridPng(pixels: Uint8Array, count: number, res: number, cols: number): Promise<Buffer> {
  if (pixels.length < count * res * res * 3) {
    throw new Error(`grid: ${count} images of ${res}×${res} need ${count * res * res * 3} bytes, got ${pixels.length}`);
  }
  const rows = Math.ceil(count / cols);
  const width = cols * res;
  const out = Buffer.alloc(rows * res * width * 3, 255);
  for (let i = 0; i < count; i++) {
    const gx = (i % cols) * res;
    const gy = Math.floor(i / cols) * res;
    for (let y = 0; y < res; y++) {
      const src = (i * res * res + y * res) * 3;
      const dst = ((gy + y) * width + gx) * 3;
      out.set(pixels.subarray(src, src + res * 3), dst);
    }
  }
  return sharp(out, { raw: { width, height: rows * res, channels: 3 } }).png().toBuffer();
}

export async function encodePng(pixels: Uint8Array, res: number): Promise<Buffer> {
  return sharp(Buffer.from(pixels.buffer, pixels.byteOffset, res * res * 3), { raw: { width: res, height: res, channels: 3 } })
    .png()
    .toBuffer();
}

export const toDataUrl = (png: Buffer): `data:image/png;base64,${string}` => `data:image/png;base64,${png.toString('base64')}`;
