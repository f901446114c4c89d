/**
 * Curation thumbnails, stored as JPEG sheets of SHEET_CELLS cells each. Encoding one small JPEG costs
 * libvips about as much per call as decoding the source does, so one thumbnail per file made the import
 * a quarter slower than decoding alone; one encode per sheet of 16 costs a seventh of that. Each cell is
 * THUMB_MAX square (a multiple of the JPEG's 16-pixel block), so cells never share a block, and a
 * thumbnail sits in its cell's top-left corner. The grid asks for a page at a time: the reader decodes
 * each sheet it needs once and cuts out the thumbnails the page shows.
 */
import sharp from 'sharp';
import type { AppendFile } from './appendFile.ts';
import type { RawImage } from './squareRender.ts';

/** Thumbnails fit in this square: sharp on a high-DPI grid cell, small enough for 100,000 of them. */
export const THUMB_MAX = 96;
export const SHEET_CELLS = 16;
const SHEET_QUALITY = 82;
/** Thumbnails as the grid receives them. */
const THUMB_QUALITY = 80;

/** Where a thumbnail is: a sheet's bytes in the thumbs file, and for sheets its cell and size. */
export interface ThumbRef {
  offset: number;
  length: number;
  /** Absent for a standalone JPEG (curations imported before sheets). */
  cell?: number;
  width?: number;
  height?: number;
}

/** A thumbnail that fits in a cell: small working images are their own thumbnail, others are shrunk. */
export async function fitThumb(img: RawImage): Promise<RawImage> {
  if (img.width <= THUMB_MAX && img.height <= THUMB_MAX) return img;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(THUMB_MAX, THUMB_MAX, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * Collects thumbnails into sheets and appends each full sheet to `file`, encoding in the background.
 * `add` does not wait: the thumbnail's place is reported to `placed` once its sheet is written.
 */
export class ThumbSheetWriter {
  private cells: { img: RawImage; placed: (ref: ThumbRef) => void }[] = [];
  private encoding: Promise<void>[] = [];
  private failure: unknown = null;

  constructor(private readonly file: AppendFile) {}

  add(img: RawImage, placed: (ref: ThumbRef) => void): void {
    if (img.width > THUMB_MAX || img.height > THUMB_MAX) throw new Error(`a ${img.width}×${img.height} thumbnail does not fit a ${THUMB_MAX}px cell`);
    this.cells.push({ img, placed });
    if (this.cells.length === SHEET_CELLS) this.seal();
  }

  /** Copy a whole sheet of an earlier import (its cells keep their places); returns its new offset. */
  copySheet(bytes: Buffer): number {
    return this.file.append(bytes);
  }

  /** Encode what is collected; resolves when every sheet is appended, or rejects with the first failure. */
  async finish(): Promise<void> {
    if (this.cells.length > 0) this.seal();
    await Promise.all(this.encoding);
    if (this.failure) throw this.failure;
  }

  private seal(): void {
    const cells = this.cells;
    this.cells = [];
    const job = encodeSheet(cells.map((c) => c.img)).then(
      (jpeg) => {
        const offset = this.file.append(jpeg);
        cells.forEach((c, cell) => c.placed({ offset, length: jpeg.length, cell, width: c.img.width, height: c.img.height }));
      },
      (error: unknown) => {
        this.failure ??= error;
      },
    );
    this.encoding.push(job);
  }
}

/** The cells stacked top to bottom, each thumbnail in its cell's top-left corner, the rest grey. */
async function encodeSheet(images: readonly RawImage[]): Promise<Buffer> {
  const rowBytes = THUMB_MAX * 3;
  const sheet = Buffer.alloc(rowBytes * THUMB_MAX * images.length, 128);
  images.forEach((img, cell) => {
    const top = cell * THUMB_MAX;
    for (let y = 0; y < img.height; y++) img.data.copy(sheet, (top + y) * rowBytes, y * img.width * 3, (y + 1) * img.width * 3);
  });
  return sharp(sheet, { raw: { width: THUMB_MAX, height: THUMB_MAX * images.length, channels: 3 } })
    .jpeg({ quality: SHEET_QUALITY, optimiseCoding: false })
    .toBuffer();
}

/** Cut the thumbnails `refs` names out of the sheets `read` returns, each as its own JPEG. */
export async function cutThumbs(refs: readonly (ThumbRef | null)[], read: (offset: number, length: number) => Promise<Buffer | null>): Promise<(Buffer | null)[]> {
  const sheets = new Map<number, Promise<RawImage | null>>();
  const decodeSheet = (ref: ThumbRef): Promise<RawImage | null> => {
    let sheet = sheets.get(ref.offset);
    if (!sheet) {
      sheet = read(ref.offset, ref.length).then(async (bytes) => {
        if (!bytes) return null;
        const { data, info } = await sharp(bytes).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
        return info.channels === 3 ? { data, width: info.width, height: info.height } : null;
      });
      sheets.set(ref.offset, sheet);
    }
    return sheet;
  };
  return Promise.all(
    refs.map(async (ref) => {
      if (!ref) return null;
      // Curations imported before sheets: the bytes are the thumbnail.
      if (ref.cell === undefined || ref.width === undefined || ref.height === undefined) return read(ref.offset, ref.length);
      const sheet = await decodeSheet(ref).catch(() => null);
      const top = ref.cell * THUMB_MAX;
      if (!sheet || sheet.width !== THUMB_MAX || top + ref.height > sheet.height) return null;
      const { width, height } = ref;
      const out = Buffer.allocUnsafe(width * height * 3);
      for (let y = 0; y < height; y++) sheet.data.copy(out, y * width * 3, (top + y) * THUMB_MAX * 3, ((top + y) * THUMB_MAX + width) * 3);
      return sharp(out, { raw: { width, height, channels: 3 } }).jpeg({ quality: THUMB_QUALITY }).toBuffer();
    }),
  );
}
