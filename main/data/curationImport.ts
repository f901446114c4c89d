/**
 * The import of a curation: unpack zips, walk every source, and judge each file once (see imageProbe.ts)
 * with a bounded number of decodes in flight on libuv's pool, so the process stays responsive. A re-import
 * reuses what it knows: a file with the same size and modification time is not read again, its thumbnail
 * and cached square are copied over. Results land in new files beside the old ones and the manifest is
 * switched last, so a cancelled or crashed import leaves the previous state intact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CurationSettings, CurationSource } from '../../shared/contract.ts';
import { badRequest, messageOf } from '../errors.ts';
import type { JobContext } from './datasetJobs.ts';
import { DEFAULT_SETTINGS, MANIFEST_FORMAT, type Edits, type Manifest, type RenderKey, type ScanRecord, type StoredSource } from './curationManifest.ts';
import type { Curation, CurationStore } from './curationStore.ts';
import { probeFile } from './imageProbe.ts';
import { ThumbSheetWriter, type ThumbRef } from './thumbSheets.ts';
import { walkSource, type WalkedFile } from './sourceWalk.ts';
import { AppendFile } from './appendFile.ts';
import { extractZip, zipStamp } from './zipExtract.ts';

/** Files in flight: libuv's pool has 4 threads; two more keep it busy while a file is read, hashed and judged in JS. */
export const IMPORT_CONCURRENCY = 6;
/** The final squares are cached during the import only up to this size (it doubles the disk a dataset uses). */
const RENDER_CACHE_MAX = 4 * 1024 ** 3;
const CAPTION_MAX = 2000;

export interface ImportSpec {
  id: string;
  name: string;
  sources: CurationSource[];
  settings: CurationSettings;
  existing: Curation | null;
}

export interface ImportOptions {
  concurrency?: number;
}

/** Check the sources a user named and say which kind each is; a wrong one is a bad_request naming it. */
export async function resolveSources(inputs: readonly string[], uploadsDir: string): Promise<CurationSource[]> {
  const out: CurationSource[] = [];
  for (const input of inputs) {
    if (input.startsWith('upload:')) {
      const id = input.slice('upload:'.length);
      const dir = path.join(uploadsDir, id);
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id) || !(await stat(dir).then((s) => s.isDirectory(), () => false))) {
        throw badRequest(`${input}: no such upload`);
      }
      // A zip uploaded on its own is imported as the zip it is.
      const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
      const only = entries.length === 1 ? entries[0] : undefined;
      if (only?.isFile() && /\.zip$/i.test(only.name)) out.push({ kind: 'zip', path: path.join(dir, only.name) });
      else out.push({ kind: 'upload', path: dir });
      continue;
    }
    const expanded = input === '~' || input.startsWith('~/') || input.startsWith(`~${path.sep}`) ? path.join(os.homedir(), input.slice(1)) : input;
    const abs = path.resolve(expanded);
    const info = await stat(abs).catch(() => null);
    if (!info) throw badRequest(`${abs}: no such folder or zip file`);
    if (info.isDirectory()) out.push({ kind: 'folder', path: abs });
    else if (info.isFile() && /\.zip$/i.test(abs)) out.push({ kind: 'zip', path: abs });
    else throw badRequest(`${abs}: not a folder or a zip file`);
  }
  const seen = new Set<string>();
  return out.filter((s) => !seen.has(s.path) && seen.add(s.path));
}

/** Labels are top-level subfolder names, below any single folder that wraps everything (as zips often have). */
function folderLabels(paths: readonly string[]): (string | null)[] {
  let prefix = '';
  for (;;) {
    const firsts = new Set<string>();
    let atRoot = false;
    for (const p of paths) {
      const rest = p.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) atRoot = true;
      else firsts.add(rest.slice(0, slash));
    }
    if (atRoot || firsts.size !== 1) break;
    prefix += `${[...firsts][0] as string}/`;
  }
  return paths.map((p) => {
    const rest = p.slice(prefix.length);
    const slash = rest.indexOf('/');
    return slash > 0 ? rest.slice(0, slash) : null;
  });
}

async function readCaption(file: string | null): Promise<string | null> {
  if (!file) return null;
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text ? text.slice(0, CAPTION_MAX) : null;
  } catch {
    return null;
  }
}

const sameRenderKey = (a: RenderKey | null, b: RenderKey | null): boolean =>
  a !== null && b !== null && a.resolution === b.resolution && a.crop === b.crop && a.background.toLowerCase() === b.background.toLowerCase();

interface Walked extends WalkedFile {
  source: number;
}

export async function runImport(store: CurationStore, spec: ImportSpec, ctx: JobContext, options: ImportOptions = {}): Promise<Curation> {
  const started = Date.now();
  const dir = store.folder(spec.id);
  const { signal } = ctx;
  const previous = spec.existing?.manifest ?? null;
  const generation = randomBytes(4).toString('hex');
  const thumbsFile = `thumbs-${generation}.bin`;
  const notes: string[] = [];
  let thumbs: AppendFile | null = null;
  let renders: AppendFile | null = null;
  let oldThumbs: FileHandle | null = null;
  let oldRenders: FileHandle | null = null;
  let committed = false;
  try {
    await mkdir(dir, { recursive: true });

    // 1. Sources: zips are unpacked into the curation folder (again only when the zip changed).
    const stored: StoredSource[] = [];
    for (const source of spec.sources) {
      if (source.kind !== 'zip') {
        stored.push({ ...source, root: source.path, stamp: null });
        continue;
      }
      const stamp = await zipStamp(source.path);
      const root = path.join(dir, 'sources', createHash('sha1').update(source.path).digest('hex').slice(0, 12));
      const before = previous?.sources.find((s) => s.path === source.path && s.kind === 'zip');
      const unpacked = await stat(root).then(() => true, () => false);
      if (!before || before.stamp !== stamp || !unpacked) {
        ctx.phase(`Unpacking ${path.basename(source.path)}`, 0);
        const result = await extractZip(source.path, root, (p) => ctx.progress(p.done, p.current), signal);
        notes.push(...result.notes.map((n) => `${path.basename(source.path)}: ${n}`));
      }
      stored.push({ ...source, root, stamp });
    }

    // 2. Walk.
    ctx.phase('Finding files', 0);
    const walked: Walked[] = [];
    for (const [index, source] of stored.entries()) {
      const base = walked.length;
      const result = await walkSource(source.root, signal, (found) => ctx.progress(base + found));
      walked.push(...result.files.map((f) => ({ ...f, source: index })));
      notes.push(...result.notes.map((n) => (stored.length > 1 ? `${path.basename(source.path)}/${n}` : n)));
    }
    const labels: (string | null)[] = new Array<string | null>(walked.length).fill(null);
    for (let s = 0; s < stored.length; s++) {
      const indices = walked.flatMap((f, i) => (f.source === s ? [i] : []));
      folderLabels(indices.map((i) => (walked[i] as Walked).path)).forEach((label, k) => (labels[indices[k] as number] = label));
    }

    // 3. Judge every file, reusing what an earlier import learnt about unchanged ones.
    const { resolution, crop, background } = spec.settings;
    const renderKey: RenderKey = { resolution, crop, background };
    const frame = resolution * resolution * 3;
    const cacheRenders = walked.length * frame <= RENDER_CACHE_MAX;
    const rendersFile = cacheRenders ? `renders-${generation}.u8` : null;
    thumbs = await AppendFile.create(path.join(dir, thumbsFile));
    if (rendersFile) renders = await AppendFile.create(path.join(dir, rendersFile));
    if (previous) {
      oldThumbs = await open(path.join(dir, previous.thumbsFile), 'r').catch(() => null);
      if (previous.rendersFile && sameRenderKey(previous.renders, renderKey)) oldRenders = await open(path.join(dir, previous.rendersFile), 'r').catch(() => null);
    }
    const before = new Map<string, ScanRecord>();
    for (const item of previous?.items ?? []) {
      const src = previous?.sources[item.source];
      if (src) before.set(`${src.path}\0${item.path}`, item);
    }

    const sheets = new ThumbSheetWriter(thumbs);
    /** An unchanged file keeps its thumbnail: its sheet is copied once, whole, for all its cells. */
    const copiedSheets = new Map<number, Promise<number | null>>();
    const copyThumb = async (ref: ThumbRef): Promise<ThumbRef | null> => {
      if (!oldThumbs) return null;
      const from = oldThumbs;
      let copied = copiedSheets.get(ref.offset);
      if (!copied) {
        copied = (async () => {
          const buffer = Buffer.alloc(ref.length);
          const { bytesRead } = await from.read(buffer, 0, buffer.length, ref.offset);
          return bytesRead === ref.length ? sheets.copySheet(buffer) : null;
        })();
        // Standalone thumbnails (older imports) are one per file; only sheets are shared.
        if (ref.cell !== undefined) copiedSheets.set(ref.offset, copied);
      }
      const offset = await copied;
      return offset === null ? null : { ...ref, offset };
    };
    /** Squares are stored in the order they are ready; the record keeps its slot. */
    const writeRender = (rgb: Buffer): number => (renders as AppendFile).append(rgb) / frame;

    const records: ScanRecord[] = new Array<ScanRecord>(walked.length);
    let reused = 0;
    let scanned = 0;
    const judge = async (i: number): Promise<void> => {
      const file = walked[i] as Walked;
      const source = stored[file.source] as StoredSource;
      const caption = await readCaption(file.sidecar);
      const base = { source: file.source, path: file.path, bytes: file.bytes, mtimeMs: file.mtimeMs, label: labels[i] ?? null, caption };
      const blank = { sha256: null, format: null, width: null, height: null, space: null, alpha: false, frames: 1, orientation: null, dhash: null, gray: null, mean: null, thumb: null, render: null, crop: null };
      if (file.error) {
        records[i] = { ...base, ...blank, error: file.error };
        return;
      }
      const old = before.get(`${source.path}\0${file.path}`);
      // Permissions change without touching the modification time: never trust an old "unreadable".
      if (old && old.bytes === file.bytes && old.mtimeMs === file.mtimeMs && old.error?.check !== 'unreadable') {
        const thumb = old.thumb ? await copyThumb(old.thumb) : null;
        let render: number | null = null;
        if (old.render !== null && oldRenders && renders) {
          const buffer = Buffer.alloc(frame);
          const { bytesRead } = await oldRenders.read(buffer, 0, frame, old.render * frame);
          if (bytesRead === frame) render = writeRender(buffer);
        }
        records[i] = { ...old, ...base, thumb, render, crop: render === null ? null : old.crop };
        reused++;
        return;
      }
      const probe = await probeFile(file.abs, file.bytes, { spec: renderKey, render: renders !== null });
      scanned++;
      if (!probe.ok) {
        records[i] = { ...base, ...blank, sha256: probe.sha256, error: { check: probe.check, reason: probe.reason } };
        return;
      }
      let render: number | null = null;
      if (probe.render && renders) render = writeRender(probe.render.rgb);
      const record: ScanRecord = {
        ...base,
        sha256: probe.sha256,
        error: null,
        format: probe.format,
        width: probe.width,
        height: probe.height,
        space: probe.space,
        alpha: probe.alpha,
        frames: probe.frames,
        orientation: probe.orientation,
        dhash: probe.stats.dhash,
        gray: probe.stats.gray,
        mean: probe.stats.mean,
        thumb: null,
        render,
        crop: probe.render?.crop ?? null,
      };
      records[i] = record;
      // The sheet is encoded once it is full; the record learns its place then, before the manifest is written.
      sheets.add(probe.thumb, (ref) => (record.thumb = ref));
    };

    ctx.phase('Checking images', walked.length);
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      while (next < walked.length) {
        signal.throwIfAborted();
        const i = next++;
        try {
          await judge(i);
        } catch (error) {
          // judge() turns every file problem into a verdict; what is left is ours (disk full, ...).
          throw new Error(`${(walked[i] as Walked).abs}: ${messageOf(error)}`, { cause: error });
        }
        done++;
        ctx.progress(done, (walked[i] as Walked).path);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? IMPORT_CONCURRENCY) }, worker));
    signal.throwIfAborted();
    await sheets.finish();
    await thumbs.finish();
    await renders?.finish();
    thumbs = null;
    renders = null;

    ctx.phase('Finding duplicates', 0);
    const now = new Date().toISOString();
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      id: spec.id,
      createdAt: previous?.createdAt ?? now,
      importedAt: now,
      sources: stored,
      items: records,
      thumbsFile,
      rendersFile,
      renders: rendersFile ? renderKey : null,
      lastImport: { files: records.length, scanned, reused, seconds: (Date.now() - started) / 1000, notes },
    };
    const old = spec.existing?.edits;
    const edits: Edits = old
      ? { ...old, name: spec.name, settings: spec.settings, version: old.version + 1, updatedAt: now }
      : { name: spec.name, settings: spec.settings, excluded: {}, labels: {}, captions: {}, version: 1, built: null, updatedAt: now };
    const curation = await store.commit(spec.id, manifest, edits);
    committed = true;
    await removeStaleFiles(dir, [thumbsFile, rendersFile]);
    return curation;
  } finally {
    await Promise.all([thumbs?.abandon(), renders?.abandon(), oldThumbs?.close(), oldRenders?.close()].map((p) => p?.catch(() => undefined)));
    if (!committed) {
      if (spec.existing) await removeStaleFiles(dir, [spec.existing.manifest.thumbsFile, spec.existing.manifest.rendersFile]).catch(() => undefined);
      else await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

/** Thumbnail and render files of other generations (an earlier import, or this one cancelled). */
async function removeStaleFiles(dir: string, keep: (string | null)[]): Promise<void> {
  for (const name of await readdir(dir)) {
    if (/^(thumbs-[0-9a-f]+\.bin|renders-[0-9a-f]+\.u8)$/.test(name) && !keep.includes(name)) await rm(path.join(dir, name), { force: true });
  }
}

/** Settings for a new curation: the defaults, then what the request set. */
export function initialSettings(patch: Partial<CurationSettings> | undefined): CurationSettings {
  return { ...DEFAULT_SETTINGS, ...(patch ?? {}) };
}
