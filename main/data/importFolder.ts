/**
 * Turning a folder of arbitrary pictures into training data: walk it, decode every file with sharp into a
 * `resolution`×`resolution` RGB square, and hand the results to a sink in a stable order. Nothing here
 * touches the library; DatasetStore decides where the bytes go. Bad files never abort an import, they are
 * reported back as `skipped` with a reason a person can act on.
 */
import { constants as fsConstants } from 'node:fs';
import { access, readdir, realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { badRequest, messageOf } from '../errors.ts';

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface ImportProgress {
  done: number;
  total: number;
  current: string | null;
}

/** A numeric, locale-stable order ("img2" before "img10") so re-importing a folder packs it identically. */
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Throws a bad_request naming the path unless it is an existing directory (symlinks to one are fine). */
export async function assertFolder(dir: string): Promise<string> {
  // People type "~/Pictures" into the import box; the shell is not there to expand it.
  const expanded = dir === '~' || dir.startsWith('~/') || dir.startsWith(`~${path.sep}`) ? path.join(os.homedir(), dir.slice(1)) : dir;
  const abs = path.resolve(expanded);
  const isDir = await stat(abs).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw badRequest(`${abs}: no such folder`);
  return abs;
}

/**
 * Every non-hidden regular file under `root`, as paths relative to it with '/' separators, depth-first in
 * name order. Symlinks are followed (people link photo folders in), but each real directory is entered
 * once, so a link back up the tree cannot loop. A subfolder that cannot be read is reported, not fatal;
 * the root itself must be readable.
 */
export async function walkFolder(root: string, signal?: AbortSignal): Promise<{ files: string[]; skipped: SkippedFile[] }> {
  const files: string[] = [];
  const skipped: SkippedFile[] = [];
  const seen = new Set<string>();
  const visit = async (dir: string, rel: string): Promise<void> => {
    signal?.throwIfAborted();
    const real = await realpath(dir);
    if (seen.has(real)) return;
    seen.add(real);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (!rel) throw error;
      skipped.push({ file: `${rel}/`, reason: `unreadable: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}` });
      return;
    }
    entries.sort((a, b) => collator.compare(a.name, b.name));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue; // .DS_Store, .git, our own .tmp-* folders, ...
      const abs = path.join(dir, entry.name);
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await stat(abs).catch(() => null); // a dangling link is simply not there
        isDir = target?.isDirectory() ?? false;
        isFile = target?.isFile() ?? false;
      }
      if (isDir) await visit(abs, relPath);
      else if (isFile) files.push(relPath);
    }
  };
  await visit(root, '');
  return { files, skipped };
}

export type DecodeResult = { ok: true; rgb: Buffer } | { ok: false; reason: string };

/**
 * One file to exactly resolution²×3 sRGB bytes: EXIF orientation applied, alpha composited on white (the
 * usual background of transparent art), centre-cropped to a square and resized with lanczos3.
 */
export async function decodeImage(file: string, resolution: number): Promise<DecodeResult> {
  try {
    await access(file, fsConstants.R_OK);
    if ((await stat(file)).size === 0) return { ok: false, reason: 'empty file' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, reason: `unreadable: ${code ?? messageOf(error)}` };
  }
  try {
    const { data, info } = await sharp(file)
      .rotate()
      .flatten({ background: '#ffffff' })
      .removeAlpha()
      .toColourspace('srgb')
      .resize(resolution, resolution, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.width !== resolution || info.height !== resolution || info.channels !== 3 || data.length !== resolution * resolution * 3) {
      return { ok: false, reason: `corrupt: decoded to ${info.width}×${info.height}×${info.channels}, expected ${resolution}×${resolution}×3` };
    }
    return { ok: true, rgb: data };
  } catch (error) {
    const message = messageOf(error);
    if (/unsupported image format/i.test(message)) return { ok: false, reason: 'not an image' };
    // libvips appends its whole warning log; the first line says what went wrong. Its log is shared by
    // all threads, so sometimes only sharp's generic failOn line is left: say what that means instead.
    const first = (message.split('\n')[0] ?? message).trim().slice(0, 200);
    if (/warning treated as error/i.test(first)) return { ok: false, reason: 'corrupt: damaged or truncated image data' };
    return { ok: false, reason: `corrupt: ${first}` };
  }
}

export interface PackOptions {
  resolution: number;
  /** Receives each decoded image, in `files` order, one call at a time. */
  sink: (rgb: Buffer, file: string) => Promise<void>;
  onProgress?: (p: ImportProgress) => void;
  signal?: AbortSignal;
  /** sharp decodes in flight; it runs on libuv's pool (4 threads by default), so more rarely helps. */
  concurrency?: number;
}

export interface PackResult {
  /** Relative paths of the packed images, in packed order. */
  files: string[];
  skipped: SkippedFile[];
}

/**
 * Decode `files` (relative to `root`) with bounded concurrency and feed the good ones to `sink` in their
 * original order. Only a window of `concurrency` decoded images is held in memory at once, so folders far
 * larger than RAM import fine.
 */
export async function packFiles(root: string, files: readonly string[], options: PackOptions): Promise<PackResult> {
  const { resolution, sink, onProgress, signal } = options;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const packed: string[] = [];
  const skipped: SkippedFile[] = [];
  const inFlight: Promise<DecodeResult>[] = [];
  let next = 0;
  const launch = (): void => {
    const rel = files[next++];
    if (rel !== undefined) inFlight.push(decodeImage(path.join(root, ...rel.split('/')), resolution));
  };
  onProgress?.({ done: 0, total: files.length, current: null });
  try {
    while (next < files.length && inFlight.length < concurrency) launch();
    for (let i = 0; i < files.length; i++) {
      signal?.throwIfAborted();
      const rel = files[i] as string;
      const result = await (inFlight.shift() as Promise<DecodeResult>);
      launch();
      if (result.ok) {
        await sink(result.rgb, rel);
        packed.push(rel);
      } else {
        skipped.push({ file: rel, reason: result.reason });
      }
      onProgress?.({ done: i + 1, total: files.length, current: rel });
    }
  } finally {
    // On abort or a sink failure, let pending decodes settle so none reject unobserved.
    await Promise.allSettled(inFlight);
  }
  return { files: packed, skipped };
}
