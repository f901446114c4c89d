/**
 * From any picture to the square a dataset stores, in two steps that every path shares (import, build,
 * crop preview), so a build from the cache and a rebuild from the sources give the same bytes:
 *   1. the working image: decoded once, upright (EXIF orientation), alpha composited on the background,
 *      sRGB 8-bit (CMYK, 16-bit and grayscale converted), shrunk so its short side is the target size;
 *   2. the square: cut from the working image by the crop policy (centre, pad, attention, entropy).
 */
import sharp from 'sharp';
import type { CropMode, CropRect } from '../../shared/contract.ts';

/** The working image is never smaller than this on its short side: thumbnails and hashes need pixels. */
export const WORK_MIN = 64;
/** Refuse decompression bombs; a 12000×8000 photo (96 MP) is fine. */
export const MAX_PIXELS = 400_000_000;

export interface RenderSpec {
  resolution: number;
  crop: CropMode;
  background: string;
}

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
}

export function workingSize(resolution: number): number {
  return Math.max(resolution, WORK_MIN);
}

/** Step 1. `input` is a path or the file's bytes. */
export async function decodeWorking(input: string | Buffer, background: string, resolution: number): Promise<RawImage> {
  const side = workingSize(resolution);
  const { data, info } = await sharp(input, { limitInputPixels: MAX_PIXELS })
    .rotate()
    .flatten({ background })
    .toColourspace('srgb')
    .resize(side, side, { fit: 'outside', withoutEnlargement: true })
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels instead of 3`);
  return { data, width: info.width, height: info.height };
}

/** A centre square of exactly `side`, copied out in JS (the common case needs no libvips call). */
function centreCut(img: RawImage, side: number): Buffer {
  const x0 = Math.floor((img.width - side) / 2);
  const y0 = Math.floor((img.height - side) / 2);
  if (x0 === 0 && img.width === side && y0 === 0 && img.height === side) return img.data;
  const out = Buffer.allocUnsafe(side * side * 3);
  for (let y = 0; y < side; y++) {
    const from = ((y0 + y) * img.width + x0) * 3;
    img.data.copy(out, y * side * 3, from, from + side * 3);
  }
  return out;
}

/** Step 2: the final R×R×3 square, and where it lies in the upright image (fractions). */
export async function renderSquare(img: RawImage, spec: RenderSpec): Promise<{ rgb: Buffer; crop: CropRect }> {
  const R = spec.resolution;
  const { width: w, height: h } = img;
  const short = Math.min(w, h);
  if (spec.crop === 'center' && short === R) {
    const rgb = centreCut(img, R);
    return { rgb, crop: { x: Math.floor((w - R) / 2) / w, y: Math.floor((h - R) / 2) / h, w: R / w, h: R / h } };
  }
  const input = sharp(img.data, { raw: { width: w, height: h, channels: 3 } });
  if (spec.crop === 'pad') {
    const { data } = await input
      .resize(R, R, { fit: 'contain', background: spec.background })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const side = Math.max(w, h);
    return { rgb: data, crop: { x: (side - w) / 2 / side, y: (side - h) / 2 / side, w: w / side, h: h / side } };
  }
  const position = spec.crop === 'attention' ? sharp.strategy.attention : spec.crop === 'entropy' ? sharp.strategy.entropy : 'centre';
  const { data, info } = await input.resize(R, R, { fit: 'cover', position }).raw().toBuffer({ resolveWithObject: true });
  // sharp cuts the square out of the image scaled so its short side is R; it reports the offset there.
  const scale = R / short;
  const sw = Math.round(w * scale);
  const sh = Math.round(h * scale);
  const left = info.cropOffsetLeft !== undefined ? Math.abs(info.cropOffsetLeft) : Math.floor((sw - R) / 2);
  const top = info.cropOffsetTop !== undefined ? Math.abs(info.cropOffsetTop) : Math.floor((sh - R) / 2);
  return { rgb: data, crop: { x: left / sw, y: top / sh, w: Math.min(1, R / sw), h: Math.min(1, R / sh) } };
}
