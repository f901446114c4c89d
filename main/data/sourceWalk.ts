/**
 * The files of one import source, in a stable name order, with the size and modification time the
 * incremental import compares. Symlinks are followed, but a real folder is entered once, so a link back
 * up the tree neither loops nor counts anything twice; a link to itself, a broken link and an unreadable
 * folder become entries with the reason. Sidecar captions (`photo.txt` or `photo.jpg.txt` next to
 * `photo.jpg`) are collected instead of being listed as files.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ErrorCheck } from './curationManifest.ts';

export interface WalkedFile {
  /** Relative to the root, '/'-separated. */
  path: string;
  abs: string;
  bytes: number;
  mtimeMs: number;
  /** Set when the entry cannot even be opened (an unreadable folder, a looping or broken link). */
  error: { check: ErrorCheck; reason: string } | null;
  /** Its sidecar caption file, if any. */
  sidecar: string | null;
}

export interface WalkResult {
  files: WalkedFile[];
  notes: string[];
}

/** "img2" before "img10", the same on every machine, so a folder always packs in the same order. */
export const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Operating-system clutter that is never part of a dataset. */
const JUNK = new Set(['thumbs.db', 'desktop.ini', '__macosx']);

const codeOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code;

function stem(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

export async function walkSource(root: string, signal?: AbortSignal, onFolder?: (found: number) => void): Promise<WalkResult> {
  const files: WalkedFile[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();

  const visit = async (dir: string, rel: string): Promise<void> => {
    signal?.throwIfAborted();
    seen.add(await realpath(dir));
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (!rel) throw error;
      const code = codeOf(error) ?? 'error';
      files.push({ path: `${rel}/`, abs: dir, bytes: 0, mtimeMs: 0, error: { check: 'unreadable', reason: `folder cannot be read (${code})` }, sidecar: null });
      return;
    }
    entries.sort((a, b) => collator.compare(a.name, b.name));
    const names = new Set(entries.map((e) => e.name));
    const here: WalkedFile[] = [];
    const texts: { name: string; abs: string }[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith('.') || JUNK.has(entry.name.toLowerCase())) continue;
      const abs = path.join(dir, entry.name);
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      let info;
      try {
        info = await stat(abs); // follows links
      } catch (error) {
        const code = codeOf(error);
        const reason = code === 'ELOOP' ? 'a symbolic link that loops (ELOOP)' : code === 'ENOENT' ? 'a broken symbolic link (ENOENT)' : `cannot be read (${code ?? 'error'})`;
        here.push({ path: relPath, abs, bytes: 0, mtimeMs: 0, error: { check: 'unreadable', reason }, sidecar: null });
        continue;
      }
      if (info.isDirectory()) {
        const real = await realpath(abs).catch(() => abs);
        if (seen.has(real)) {
          notes.push(`${relPath}/: links back to a folder already scanned; not followed`);
          continue;
        }
        await visit(abs, relPath);
        continue;
      }
      if (!info.isFile()) continue; // sockets, devices, FIFOs
      if (entry.name.toLowerCase().endsWith('.txt')) {
        texts.push({ name: entry.name, abs });
        continue;
      }
      here.push({ path: relPath, abs, bytes: info.size, mtimeMs: info.mtimeMs, error: null, sidecar: null });
    }
    // A .txt is a caption when an image beside it has its stem (or its full name); otherwise it is a
    // file like any other, and the checks will say it is not an image.
    const byStem = new Map<string, WalkedFile>();
    for (const f of here) {
      const name = f.path.slice(f.path.lastIndexOf('/') + 1);
      if (!byStem.has(stem(name))) byStem.set(stem(name), f);
      byStem.set(name, f);
    }
    for (const t of texts) {
      const owner = byStem.get(stem(t.name));
      if (owner && owner.path !== t.name && names.has(owner.path.slice(owner.path.lastIndexOf('/') + 1))) {
        owner.sidecar ??= t.abs;
        continue;
      }
      const relPath = rel ? `${rel}/${t.name}` : t.name;
      const info = await stat(t.abs);
      here.push({ path: relPath, abs: t.abs, bytes: info.size, mtimeMs: info.mtimeMs, error: null, sidecar: null });
    }
    here.sort((a, b) => collator.compare(a.path, b.path));
    files.push(...here);
    onFolder?.(files.length);
  };

  await visit(root, '');
  // Folders were visited depth-first in name order, but files of a folder before its subfolders is not
  // "name order"; sort once so the manifest order is the plain path order.
  files.sort((a, b) => collator.compare(a.path, b.path));
  return { files, notes };
}
