/**
 * What the checks need to know about an image's pixels, computed in one pass over a small decoded copy
 * (the import's working image, a few dozen pixels on its short side): a 64-bit perceptual hash for
 * near-duplicates, whether it is grayscale, and its mean colour for the "similarity" sort.
 */

export interface PixelStats {
  /** 64-bit difference hash (dHash) as 16 hex digits. */
  dhash: string;
  /** No pixel carries noticeable colour (JPEG chroma noise aside). */
  gray: boolean;
  /** Mean sRGB colour, 0-255 each. */
  mean: [number, number, number];
}

/** A pixel counts as coloured when its channels differ by more than this (JPEG noise stays below). */
const CHROMA_THRESHOLD = 24;
/** Up to this fraction of coloured pixels (a stamp, a compression artefact) still counts as grayscale. */
const COLOUR_FRACTION = 0.005;

/**
 * dHash: shrink to 9×8 gray by area averaging, then one bit per horizontal neighbour pair (is the left
 * brighter than the right?). Robust to rescaling and recompression, so re-saved copies land within a
 * few bits of each other.
 */
function dhash(rgb: Uint8Array, width: number, height: number): string {
  const cols = 9;
  const rows = 8;
  const cells = new Float64Array(cols * rows);
  const counts = new Float64Array(cols * rows);
  for (let y = 0; y < height; y++) {
    const cy = Math.min(rows - 1, Math.floor((y * rows) / height));
    for (let x = 0; x < width; x++) {
      const cx = Math.min(cols - 1, Math.floor((x * cols) / width));
      const o = (y * width + x) * 3;
      const luma = 0.299 * (rgb[o] as number) + 0.587 * (rgb[o + 1] as number) + 0.114 * (rgb[o + 2] as number);
      cells[cy * cols + cx] = (cells[cy * cols + cx] as number) + luma;
      counts[cy * cols + cx] = (counts[cy * cols + cx] as number) + 1;
    }
  }
  for (let i = 0; i < cells.length; i++) cells[i] = (cells[i] as number) / Math.max(1, counts[i] as number);
  let hex = '';
  for (let row = 0; row < rows; row++) {
    let byte = 0;
    for (let col = 0; col < 8; col++) {
      const left = cells[row * cols + col] as number;
      const right = cells[row * cols + col + 1] as number;
      byte = (byte << 1) | (left > right ? 1 : 0);
    }
    hex += byte.toString(16).padStart(2, '0');
  }
  return hex;
}

export function pixelStats(rgb: Uint8Array, width: number, height: number): PixelStats {
  const n = width * height;
  let coloured = 0;
  let r = 0;
  let g = 0;
  let b = 0;
  for (let o = 0; o < n * 3; o += 3) {
    const pr = rgb[o] as number;
    const pg = rgb[o + 1] as number;
    const pb = rgb[o + 2] as number;
    r += pr;
    g += pg;
    b += pb;
    const chroma = Math.max(pr, pg, pb) - Math.min(pr, pg, pb);
    if (chroma > CHROMA_THRESHOLD) coloured++;
  }
  return {
    dhash: dhash(rgb, width, height),
    gray: coloured <= n * COLOUR_FRACTION,
    mean: [Math.round(r / n), Math.round(g / n), Math.round(b / n)],
  };
}

/** A dHash as two 32-bit halves, for fast Hamming distances. */
export function hashWords(hex: string): [number, number] {
  return [Number.parseInt(hex.slice(0, 8), 16) >>> 0, Number.parseInt(hex.slice(8, 16), 16) >>> 0];
}

export function popcount32(v: number): number {
  let x = v >>> 0;
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

export function hamming(a: string, b: string): number {
  const [a0, a1] = hashWords(a);
  const [b0, b1] = hashWords(b);
  return popcount32(a0 ^ b0) + popcount32(a1 ^ b1);
}
