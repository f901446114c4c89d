/**
 * Everything the import learns from one file, decoding it once: its content hash, what libvips says it
 * is, or the precise reason it cannot be used (zero bytes, no permission, not an image, a HEIC this build
 * cannot decode, truncated or corrupt data with the decoder's own words); and for images, the working
 * copy's perceptual hash and colour facts, its thumbnail (raw, for a sheet: see thumbSheets.ts), and
 * optionally the final square at the current settings. All decoding runs on libuv's thread pool; the JS here only touches small buffers.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import type { CropRect } from '../../shared/contract.ts';
import { messageOf } from '../errors.ts';
import type { ErrorCheck } from './curationManifest.ts';
import { readJpegHeader } from './jpegHeader.ts';
import { pixelStats, type PixelStats } from './imageStats.ts';
import { fitThumb } from './thumbSheets.ts';
import { MAX_PIXELS, decodeWorking, renderSquare, type RawImage, type RenderSpec } from './squareRender.ts';

/** Larger files are hashed as a stream and decoded from disk instead of being read into memory whole. */
const IN_MEMORY_MAX = 64 * 1024 * 1024;
/**
 * Smaller files are read synchronously: an async read is four trips through libuv's pool (open, stat,
 * read, close), each queued behind the decodes that keep the pool full, while a small file costs the
 * event loop tens of microseconds.
 */
const SYNC_READ_MAX = 1024 * 1024;

export interface ProbeOk {
  ok: true;
  sha256: string;
  format: string;
  width: number;
  height: number;
  space: string | null;
  alpha: boolean;
  frames: number;
  orientation: number | null;
  stats: PixelStats;
  thumb: RawImage;
  render: { rgb: Buffer; crop: CropRect } | null;
}

export interface ProbeFailed {
  ok: false;
  sha256: string | null;
  check: ErrorCheck;
  reason: string;
}

export type Probe = ProbeOk | ProbeFailed;

const fail = (check: ErrorCheck, reason: string, sha256: string | null = null): ProbeFailed => ({ ok: false, sha256, check, reason });

/** Errno codes people can act on, in words. */
function describeErrno(error: unknown): { check: ErrorCheck; reason: string } {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return { check: 'unreadable', reason: `permission denied (${code})` };
    case 'ELOOP':
      return { check: 'unreadable', reason: 'a symbolic link that loops (ELOOP)' };
    case 'ENOENT':
      return { check: 'unreadable', reason: 'the file vanished during the import (ENOENT)' };
    case 'EISDIR':
      return { check: 'unreadable', reason: 'a folder, not a file (EISDIR)' };
    default:
      return { check: 'unreadable', reason: code ? `cannot be read (${code})` : messageOf(error) };
  }
}

/** What a non-image looks like, from its first bytes, so "not an image" says a little more. */
export function sniffNonImage(head: Uint8Array): string {
  const text = Buffer.from(head).toString('latin1');
  if (text.startsWith('%PDF')) return 'a PDF document';
  if (text.startsWith('PK\u0003\u0004')) return 'a zip archive';
  if (/^\s*<(!doctype html|html)/i.test(text)) return 'an HTML page';
  let printable = 0;
  for (const byte of head) if (byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127) || byte >= 160) printable++;
  if (head.length > 0 && !head.includes(0) && printable / head.length > 0.95) return 'text';
  const hex = Buffer.from(head.subarray(0, 4)).toString('hex');
  return `an unknown format (starts with 0x${hex || '…'})`;
}

/** An ISO-BMFF file whose brand says HEIC (HEVC-coded HEIF), as iPhones write. */
export function isHeic(head: Uint8Array): boolean {
  const text = Buffer.from(head.subarray(0, 32)).toString('latin1');
  if (text.slice(4, 8) !== 'ftyp') return false;
  const brands = text.slice(8);
  return /hei[cxms]|hev[cxms]/.test(brands);
}

/** libvips appends its whole warning log; the first line says what went wrong. */
function firstLine(message: string): string {
  return (message.split('\n').find((l) => l.trim()) ?? message).trim().slice(0, 200);
}

function classifyDecodeError(error: unknown, head: Uint8Array, sha256: string | null): ProbeFailed {
  const message = messageOf(error);
  if (/unsupported image format/i.test(message)) return fail('not-image', sniffNonImage(head), sha256);
  if (isHeic(head)) {
    return fail('unsupported', 'HEIC (HEVC-coded) images need a libvips with an HEVC decoder, which this build of sharp lacks; convert it to JPEG or PNG', sha256);
  }
  if (/pixel limit/i.test(message)) return fail('unsupported', `larger than ${MAX_PIXELS / 1_000_000} megapixels; refused as a likely decompression bomb`, sha256);
  const line = firstLine(message);
  // libvips shares its log between threads, so sometimes only sharp's generic failOn line survives.
  if (/warning treated as error/i.test(line)) return fail('corrupt', 'damaged or truncated image data', sha256);
  return fail('corrupt', line, sha256);
}

async function hashStream(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readHead(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export interface ProbeOptions {
  /** Settings for the working image and, when `render` is set, for the final square. */
  spec: RenderSpec;
  render: boolean;
}

/** `bytes` is the size the walk saw; a zero-byte file is judged without opening it. */
export async function probeFile(file: string, bytes: number, options: ProbeOptions): Promise<Probe> {
  if (bytes === 0) return fail('empty', 'zero bytes');
  let input: string | Buffer;
  let sha256: string;
  let head: Uint8Array;
  try {
    if (bytes <= IN_MEMORY_MAX) {
      const data = bytes <= SYNC_READ_MAX ? readFileSync(file) : await readFile(file);
      if (data.length === 0) return fail('empty', 'zero bytes');
      sha256 = createHash('sha256').update(data).digest('hex');
      input = data;
      head = data.subarray(0, 512);
    } else {
      sha256 = await hashStream(file);
      head = await readHead(file);
      input = file;
    }
  } catch (error) {
    const { check, reason } = describeErrno(error);
    return fail(check, reason);
  }

  let meta: Pick<Metadata, 'width' | 'height' | 'orientation' | 'format' | 'space' | 'hasAlpha' | 'pages'>;
  const jpeg = typeof input === 'string' ? null : readJpegHeader(input);
  if (jpeg) {
    meta = {
      width: jpeg.width,
      height: jpeg.height,
      orientation: jpeg.orientation ?? undefined,
      format: 'jpeg',
      space: jpeg.components === 1 ? 'b-w' : jpeg.components === 4 ? 'cmyk' : 'srgb',
      hasAlpha: false,
      pages: 1,
    };
  } else {
    try {
      meta = await sharp(input, { limitInputPixels: false }).metadata();
    } catch (error) {
      return classifyDecodeError(error, head, sha256);
    }
  }
  if ((meta.width ?? 0) * (meta.height ?? 0) > MAX_PIXELS) {
    return fail('unsupported', `${meta.width}×${meta.height} is larger than ${MAX_PIXELS / 1_000_000} megapixels; refused as a likely decompression bomb`, sha256);
  }
  try {
    const working = await decodeWorking(input, options.spec.background, options.spec.resolution);
    const [thumb, render] = await Promise.all([fitThumb(working), options.render ? renderSquare(working, options.spec) : Promise.resolve(null)]);
    const swap = (meta.orientation ?? 1) >= 5;
    return {
      ok: true,
      sha256,
      format: meta.format ?? 'unknown',
      width: (swap ? meta.height : meta.width) ?? working.width,
      height: (swap ? meta.width : meta.height) ?? working.height,
      space: meta.space ?? null,
      alpha: meta.hasAlpha ?? false,
      frames: meta.pages ?? 1,
      orientation: meta.orientation ?? null,
      stats: pixelStats(working.data, working.width, working.height),
      thumb,
      render,
    };
  } catch (error) {
    return classifyDecodeError(error, head, sha256);
  }
}
