/**
 * The facts the checks need from a JPEG (size, EXIF orientation, colour components, sample precision),
 * read from its header in JS. Most imports are JPEGs; asking libvips for their metadata costs a second
 * trip through the thread pool per file (about a tenth of the import's time). Anything unexpected returns
 * null and the caller asks sharp instead.
 */

export interface JpegHeader {
  width: number;
  height: number;
  /** EXIF orientation 1-8, or null without EXIF. */
  orientation: number | null;
  /** 1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK. */
  components: number;
  precision: number;
}

/** The EXIF orientation tag (0x0112) from an APP1 payload starting at `start` ("Exif\0\0" included). */
function exifOrientation(data: Uint8Array, start: number, end: number): number | null {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tiff = start + 6;
  if (tiff + 8 > end) return null;
  const order = view.getUint16(tiff);
  const little = order === 0x4949;
  if (!little && order !== 0x4d4d) return null;
  const u16 = (at: number): number => view.getUint16(at, little);
  const u32 = (at: number): number => view.getUint32(at, little);
  const ifd = tiff + u32(tiff + 4);
  if (ifd + 2 > end) return null;
  const entries = u16(ifd);
  for (let k = 0; k < entries; k++) {
    const entry = ifd + 2 + k * 12;
    if (entry + 12 > end) return null;
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? value : null;
    }
  }
  return null;
}

export function readJpegHeader(data: Uint8Array): JpegHeader | null {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) return null;
  let orientation: number | null = null;
  let at = 2;
  while (at + 4 <= data.length) {
    if (data[at] !== 0xff) return null;
    const marker = data[at + 1] as number;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2;
      continue;
    }
    const length = ((data[at + 2] as number) << 8) | (data[at + 3] as number);
    const start = at + 4;
    const end = at + 2 + length;
    if (length < 2 || end > data.length) return null;
    if (marker === 0xe1 && length >= 8 && String.fromCharCode(...data.subarray(start, start + 4)) === 'Exif') {
      orientation = exifOrientation(data, start, end) ?? orientation;
    }
    // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (length < 8) return null;
      const precision = data[start] as number;
      const height = ((data[start + 1] as number) << 8) | (data[start + 2] as number);
      const width = ((data[start + 3] as number) << 8) | (data[start + 4] as number);
      const components = data[start + 5] as number;
      if (width === 0 || height === 0 || ![1, 3, 4].includes(components)) return null;
      return { width, height, orientation, components, precision };
    }
    if (marker === 0xda) return null; // scan data before a frame header: not a JPEG we understand
    at = end;
  }
  return null;
}
