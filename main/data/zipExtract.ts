/**
 * A zip of images, unpacked into the curation's own folder (the user's zip is only read). Entries keep
 * their modification times, so when the zip is replaced by a newer one, unchanged images are recognised
 * by the incremental import and not decoded again. Entry names that would escape the folder, symlinks,
 * encrypted entries and macOS resource forks are skipped; sizes are bounded against zip bombs.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { badRequest, messageOf } from '../errors.ts';

/** More than this, uncompressed, is not a dataset but a mistake (or a bomb). */
const MAX_TOTAL_BYTES = 64 * 1024 ** 3;
const MAX_ENTRY_BYTES = 2 * 1024 ** 3;

export interface ExtractProgress {
  done: number;
  total: number;
  current: string | null;
}

export interface ExtractResult {
  files: number;
  /** Entries left out, each with why. */
  notes: string[];
}

/** A stamp that changes whenever the zip file does. */
export async function zipStamp(zipFile: string): Promise<string> {
  const s = await stat(zipFile);
  return `${s.size}:${Math.round(s.mtimeMs)}`;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

export async function extractZip(zipFile: string, dest: string, onProgress?: (p: ExtractProgress) => void, signal?: AbortSignal): Promise<ExtractResult> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(zipFile, { lazyEntries: true, strictFileNames: false, validateEntrySizes: true });
  } catch (error) {
    throw badRequest(`${zipFile}: not a readable zip file (${messageOf(error)})`);
  }
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { recursive: true });
  const notes: string[] = [];
  let files = 0;
  let totalBytes = 0;
  let done = 0;
  const root = path.resolve(dest);
  try {
    for await (const entry of zip.eachEntry()) {
      signal?.throwIfAborted();
      done++;
      onProgress?.({ done, total: zip.entryCount, current: entry.fileName });
      const name = entry.fileName;
      if (name.endsWith('/')) continue;
      if (name.startsWith('__MACOSX/') || name.split('/').some((part) => part.startsWith('.'))) continue;
      const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
      if (mode === S_IFLNK) {
        notes.push(`${name}: a symbolic link inside the zip; not followed`);
        continue;
      }
      if (entry.isEncrypted()) {
        notes.push(`${name}: encrypted; skipped`);
        continue;
      }
      const target = path.resolve(root, ...name.split('/'));
      if (!target.startsWith(root + path.sep)) {
        notes.push(`${name}: its path leads outside the zip's folder; skipped`);
        continue;
      }
      if (entry.uncompressedSize > MAX_ENTRY_BYTES) {
        notes.push(`${name}: ${entry.uncompressedSize} bytes uncompressed is too large for an image; skipped`);
        continue;
      }
      totalBytes += entry.uncompressedSize;
      if (totalBytes > MAX_TOTAL_BYTES) throw badRequest(`${zipFile}: more than ${MAX_TOTAL_BYTES / 1024 ** 3} GiB uncompressed; unpack it yourself and import the folder`);
      await mkdir(path.dirname(target), { recursive: true });
      try {
        const stream = await zip.openReadStreamPromise(entry);
        await pipeline(stream, createWriteStream(target), { signal });
        const when = entry.getLastModDate();
        await utimes(target, when, when);
        files++;
      } catch (error) {
        signal?.throwIfAborted();
        notes.push(`${name}: could not be unpacked (${messageOf(error)})`);
        await rm(target, { force: true });
      }
    }
  } catch (error) {
    if (signal?.aborted || (error instanceof Error && error.name === 'StudioError')) throw error;
    throw badRequest(`${zipFile}: the zip is damaged (${messageOf(error)})`);
  } finally {
    zip.close();
  }
  return { files, notes };
}
