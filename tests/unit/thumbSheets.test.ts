/**
 * Thumbnail sheets (main/data/thumbSheets.ts): thumbnails of any size up to the cell go in, 16 to a JPEG
 * sheet, and come out as their own JPEGs with their size and colours; thumbnails of older imports
 * (standalone JPEGs) still come out as they are.
 * Run: npx tsx --test tests/unit/thumbSheets.test.ts
 */
import assert from 'node:assert/strict';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { AppendFile } from '../../main/data/appendFile.ts';
import { SHEET_CELLS, THUMB_MAX, ThumbSheetWriter, cutThumbs, fitThumb, type ThumbRef } from '../../main/data/thumbSheets.ts';
import type { RawImage } from '../../main/data/squareRender.ts';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** A flat colour per image, left half and right half different, so a cell cut off by one column shows. */
function twoTone(width: number, height: number, left: [number, number, number], right: [number, number, number]): RawImage {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(x < width / 2 ? left : right, (y * width + x) * 3);
  }
  return { data, width, height };
}

async function meanOf(jpeg: Buffer, x0: number, x1: number): Promise<number[]> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = 2; y < info.height - 2; y++) {
    for (let x = x0; x < x1; x++) {
      for (let c = 0; c < 3; c++) sum[c] = (sum[c] ?? 0) + (data[(y * info.width + x) * info.channels + c] ?? 0);
      n++;
    }
  }
  return sum.map((s) => s / n);
}

describe('thumbnail sheets', () => {
  it('round-trips thumbnails of mixed sizes across several sheets', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gan-studio-sheets-'));
    dirs.push(dir);
    const file = path.join(dir, 'thumbs.bin');
    const out = await AppendFile.create(file);
    const writer = new ThumbSheetWriter(out);
    const sizes: [number, number][] = [[96, 96], [64, 64], [96, 48], [32, 96], [1, 1], [85, 64]];
    const count = SHEET_CELLS * 2 + 3;
    const images = Array.from({ length: count }, (_, i) => {
      const [w, h] = sizes[i % sizes.length] as [number, number];
      return twoTone(w, h, [(i * 37) % 256, 40, 200], [20, (i * 53) % 256, 90]);
    });
    const refs: (ThumbRef | null)[] = new Array<ThumbRef | null>(count).fill(null);
    images.forEach((img, i) => writer.add(img, (ref) => (refs[i] = ref)));
    await writer.finish();
    await out.finish();
    assert.ok(refs.every((r) => r !== null), 'every thumbnail is placed');
    assert.equal(new Set(refs.map((r) => r?.offset)).size, 3, 'three sheets for 35 thumbnails');
    assert.throws(() => writer.add(twoTone(THUMB_MAX + 1, 10, [0, 0, 0], [0, 0, 0]), () => undefined), /does not fit/);

    const fh = await open(file, 'r');
    try {
      const jpegs = await cutThumbs(refs, async (offset, length) => {
        const b = Buffer.alloc(length);
        await fh.read(b, 0, length, offset);
        return b;
      });
      for (const [i, jpeg] of jpegs.entries()) {
        const img = images[i] as RawImage;
        assert.ok(jpeg, `thumbnail ${i}`);
        const meta = await sharp(jpeg).metadata();
        assert.deepEqual([meta.width, meta.height], [img.width, img.height], `thumbnail ${i} keeps its size`);
        if (img.width < 16 || img.height < 8) continue;
        const half = Math.floor(img.width / 2);
        const left = await meanOf(jpeg, 2, half - 2);
        const right = await meanOf(jpeg, half + 2, img.width - 2);
        const want = (x: number, y: number): number[] => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];
        left.forEach((v, c) => assert.ok(Math.abs(v - (want(0, 0)[c] ?? 0)) < 12, `thumbnail ${i} left channel ${c}: ${v} vs ${want(0, 0)[c]}`));
        right.forEach((v, c) => assert.ok(Math.abs(v - (want(img.width - 1, 0)[c] ?? 0)) < 12, `thumbnail ${i} right channel ${c}: ${v} vs ${want(img.width - 1, 0)[c]}`));
      }
    } finally {
      await fh.close();
    }
  });

  it('serves standalone JPEGs of older imports unchanged, and null where a sheet is unreadable', async () => {
    const legacy = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#123456' } }).jpeg().toBuffer();
    const [same, missing, none] = await cutThumbs(
      [{ offset: 0, length: legacy.length }, { offset: 999, length: 10, cell: 0, width: 10, height: 10 }, null],
      async (offset) => (offset === 0 ? legacy : null),
    );
    assert.ok(same?.equals(legacy));
    assert.equal(missing, null);
    assert.equal(none, null);
  });

  it('shrinks a working image larger than the cell, keeping its aspect', async () => {
    const big = await fitThumb(twoTone(300, 100, [255, 0, 0], [0, 0, 255]));
    assert.deepEqual([big.width, big.height], [THUMB_MAX, 32]);
    const small = twoTone(50, 60, [1, 2, 3], [4, 5, 6]);
    assert.equal(await fitThumb(small), small, 'a thumbnail that fits is used as it is');
  });
});
