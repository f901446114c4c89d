/**
 * A messy folder of images, generated at test time (no binary fixtures in the repo): every format sharp
 * reads, the problems real folders have, and the verdict each file must get. Shared by the curation unit
 * tests, the end-to-end test and the import benchmark.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import yazl from 'yazl';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { CheckId } from '../../shared/contract.ts';

export type Rgb = [number, number, number];

/** A raw RGB image of w×h filled by `colour(x, y)`. */
export function rawImage(w: number, h: number, colour: (x: number, y: number) => Rgb): { data: Buffer; raw: { width: number; height: number; channels: 3 } } {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data.set(colour(x, y), (y * w + x) * 3);
  }
  return { data, raw: { width: w, height: h, channels: 3 } };
}

/** A colourful, textured picture that differs per `seed` (so dHashes differ too). */
export function picture(w: number, h: number, seed: number): ReturnType<typeof rawImage> {
  return rawImage(w, h, (x, y) => {
    const u = x / w;
    const v = y / h;
    return [
      Math.round(127 + 120 * Math.sin(6.3 * u * (1 + (seed % 5)) + seed)),
      Math.round(127 + 120 * Math.cos(5.1 * v * (1 + (seed % 3)) + seed * 1.7)),
      Math.round(127 + 120 * Math.sin(4.3 * (u + v) * (1 + (seed % 7)) - seed)),
    ];
  });
}

/** What each corpus file must be judged: its unusable check, or the warnings it must carry (others allowed). */
export interface Expectation {
  error?: CheckId;
  checks?: CheckId[];
  /** Must be left out of a build by default. */
  excluded?: boolean;
  width?: number;
  height?: number;
  caption?: string;
}

/** A HEIF file with an HEVC brand. Without an HEVC encoder here, its content is an AVIF with the brand swapped. */
async function fakeHeic(): Promise<Buffer> {
  const avif = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#884422' } })
    .avif()
    .toBuffer();
  const out = Buffer.from(avif);
  // ftyp major brand 'avif' → 'heic', and every 'av01' item type → 'hvc1', 'av1C' → 'hvcC'.
  out.write('heic', 8, 'latin1');
  for (const [from, to] of [
    ['avif', 'heic'],
    ['av01', 'hvc1'],
    ['av1C', 'hvcC'],
  ] as const) {
    let at = out.indexOf(from, 0, 'latin1');
    while (at >= 0) {
      out.write(to, at, 'latin1');
      at = out.indexOf(from, at + 4, 'latin1');
    }
  }
  return out;
}

/**
 * Writes the corpus into `dir` and returns the expected verdict per relative path. Files a root user
 * cannot be refused (chmod 000) are not in it; see the separate unreadable-file test.
 */
export async function makeCorpus(dir: string): Promise<Record<string, Expectation>> {
  const expect: Record<string, Expectation> = {};
  const put = async (rel: string, data: Buffer | Promise<Buffer>, e: Expectation): Promise<void> => {
    const file = path.join(dir, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, await data);
    expect[rel] = e;
  };
  const pic = (w: number, h: number, seed: number): Sharp => {
    const p = picture(w, h, seed);
    return sharp(p.data, { raw: p.raw });
  };

  // Every format, each a clean square picture at least the target size.
  await put('formats/photo.jpg', pic(256, 256, 1).jpeg({ quality: 90 }).toBuffer(), { checks: [], width: 256, height: 256, caption: 'a photo of waves' });
  await writeFile(path.join(dir, 'formats/photo.txt'), 'a photo of waves\n');
  // Fully transparent except an opaque blue disc: alpha must be composited on the background colour.
  const disc = Buffer.alloc(128 * 128 * 4);
  for (let y = 0; y < 128; y++) {
    for (let x = 0; x < 128; x++) {
      const inside = (x - 64) ** 2 + (y - 64) ** 2 < 30 ** 2;
      disc.set(inside ? [0, 0, 255, 255] : [0, 0, 0, 0], (y * 128 + x) * 4);
    }
  }
  await put('formats/alpha.png', sharp(disc, { raw: { width: 128, height: 128, channels: 4 } }).png().toBuffer(), { checks: [] });
  await put('formats/pic.webp', pic(128, 128, 2).webp({ quality: 90 }).toBuffer(), { checks: [] });
  // Two frames, red then blue: only the first is used.
  const frames = rawImage(96, 192, (_x, y) => (y < 96 ? [255, 0, 0] : [0, 0, 255]));
  await put('formats/anim.gif', sharp(frames.data, { raw: { ...frames.raw, pageHeight: 96 } }).gif().toBuffer(), { checks: [], width: 96, height: 96 });
  await put('formats/scan.tiff', pic(128, 128, 3).tiff().toBuffer(), { checks: [] });
  await put('formats/pic.avif', pic(128, 128, 4).avif({ quality: 70 }).toBuffer(), { checks: [] });
  await put('formats/cmyk.jpg', pic(128, 128, 5).toColourspace('cmyk').jpeg().toBuffer(), { checks: [] });
  await put('formats/deep.png', pic(128, 128, 6).toColourspace('rgb16').png().toBuffer(), { checks: [] });
  await put('formats/gray.png', pic(128, 128, 7).toColourspace('b-w').png().toBuffer(), { checks: ['grayscale'] });
  // Stored 160×120, top half red and bottom half blue, tagged "rotate 90° clockwise": upright it is 120×160.
  const rot = rawImage(160, 120, (_x, y) => (y < 60 ? [255, 0, 0] : [0, 0, 255]));
  await put('formats/rotated.jpg', sharp(rot.data, { raw: rot.raw }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer(), {
    checks: ['non-square'],
    width: 120,
    height: 160,
  });
  await put('formats/phone.heic', fakeHeic(), { error: 'unsupported', excluded: true });

  // Problems.
  const full = await pic(256, 256, 8).jpeg().toBuffer();
  await put('problems/truncated.jpg', full.subarray(0, Math.floor(full.length * 0.4)), { error: 'corrupt', excluded: true });
  await put('problems/text.jpg', Buffer.from('this is text, not a JPEG\n'), { error: 'not-image', excluded: true });
  await put('problems/empty.png', Buffer.alloc(0), { error: 'empty', excluded: true });
  await put('problems/tiny.png', sharp({ create: { width: 1, height: 1, channels: 3, background: '#ff8800' } }).png().toBuffer(), {
    checks: ['small'],
    excluded: true,
    width: 1,
    height: 1,
  });
  await put('problems/small.png', pic(40, 40, 9).png().toBuffer(), { checks: ['small'], excluded: false });
  await put('problems/huge.jpg', sharp(await pic(300, 200, 13).png().toBuffer()).resize(12000, 8000).jpeg({ quality: 40 }).toBuffer(), {
    checks: ['non-square'],
    width: 12000,
    height: 8000,
  });
  await put('problems/panorama.jpg', pic(400, 100, 10).jpeg().toBuffer(), { checks: ['extreme-aspect'], excluded: true });
  await symlink('.', path.join(dir, 'problems', 'loop'));
  await symlink('self', path.join(dir, 'problems', 'self'));
  expect['problems/self'] = { error: 'unreadable', excluded: true };
  await put('notes.txt', Buffer.from('some notes about this folder\n'), { error: 'not-image', excluded: true });

  // Duplicates: the same bytes twice; the same picture saved smaller and as JPEG.
  const a = await pic(200, 200, 11).png().toBuffer();
  await put('dups/a.png', a, { checks: [] });
  await put('dups/a-copy.png', a, { checks: ['duplicate'], excluded: true });
  await put('dups/b.png', pic(256, 256, 12).png().toBuffer(), { checks: [] });
  await put('dups/b-small.jpg', pic(256, 256, 12).resize(128, 128).jpeg({ quality: 80 }).toBuffer(), { checks: ['near-duplicate'], excluded: true });
  return expect;
}

/** A zip with one wrapping folder and two class subfolders (labels cats, dogs). */
export async function makeLabelledZip(file: string, perClass = 3): Promise<void> {
  const zip = new yazl.ZipFile();
  const done = pipeline(zip.outputStream, createWriteStream(file));
  for (const [k, label] of ['cats', 'dogs'].entries()) {
    for (let i = 0; i < perClass; i++) {
      zip.addBuffer(await pic3(k * 10 + i), `pets/${label}/${label}${i}.png`);
    }
  }
  zip.end();
  await done;
}

async function pic3(seed: number): Promise<Buffer> {
  const p = picture(96, 96, seed + 100);
  return sharp(p.data, { raw: p.raw }).png().toBuffer();
}

/** `count` distinct `size`×`size` JPEGs (photo-like texture), as the import benchmark uses. */
export async function makeJpegs(dir: string, count: number, size: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const p = picture(size, size, i);
    const file = path.join(dir, `img${String(i).padStart(5, '0')}.jpg`);
    await sharp(p.data, { raw: p.raw }).jpeg({ quality: 90 }).toFile(file);
    files.push(file);
  }
  return files;
}
