/**
 * Curations on disk (`<library>/curation/<id>/`, see curationManifest.ts) and in memory: a loaded curation
 * keeps its manifest, edits, the checks derived from them, and the per-item state the grid pages through
 * (effective exclusion, label, caption), recomputed only when the edits change. Writes to one curation are
 * serialised; every file is replaced atomically. Source folders are only ever read.
 */
import { mkdir, open, readFile, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { CheckId, type CurationInfo, type CurationItem, type CurationSettings, type CurationSummary } from '../../shared/contract.ts';
import { StudioError, notFound, messageOf } from '../errors.ts';
import { writeFileAtomic } from '../runs/atomicFile.ts';
import { analyse, checkNotes, checksOf, cropRect, isError, type Analysis, type Group } from './checks.ts';
import { Edits, Manifest, displayPath, itemKey, type ScanRecord } from './curationManifest.ts';
import { cutThumbs } from './thumbSheets.ts';

const MANIFEST_FILE = 'manifest.json';
const EDITS_FILE = 'edits.json';
/** A cached CurationInfo, so listing curations does not parse every manifest. */
const INFO_FILE = 'info.json';
/** Loaded curations kept in memory (a 100,000-file manifest is tens of MB). */
const CACHE_SIZE = 3;

/** Per-item state that depends on the edits; rebuilt when the edits version changes. */
export interface Derived {
  version: number;
  excluded: Uint8Array;
  /** -1 default, 0 included by the user, 1 excluded by the user. */
  override: Int8Array;
  labels: (string | null)[];
  captions: (string | null)[];
  summary: CurationSummary;
  labelCounts: { name: string; count: number }[];
}

export interface Curation {
  id: string;
  dir: string;
  manifest: Manifest;
  edits: Edits;
  analysis: Analysis;
  /** The settings the analysis was computed with. */
  analysisKey: string;
  derived: Derived;
  /** Filtered and sorted item orders for the grid, by query; cleared on every change. */
  views: Map<string, Int32Array>;
}

const analysisKeyOf = (s: CurationSettings): string => `${s.resolution}|${s.crop}|${s.nearThreshold}`;

function derive(manifest: Manifest, edits: Edits, analysis: Analysis): Derived {
  const n = manifest.items.length;
  const excluded = new Uint8Array(n);
  const override = new Int8Array(n).fill(-1);
  const labels: (string | null)[] = new Array<string | null>(n).fill(null);
  const captions: (string | null)[] = new Array<string | null>(n).fill(null);
  const counts = Object.fromEntries(CheckId.options.map((c) => [c, 0])) as Record<CheckId, number>;
  const labelTally = new Map<string, number>();
  let usable = 0;
  let included = 0;
  let withCaption = 0;
  for (let i = 0; i < n; i++) {
    const item = manifest.items[i] as ScanRecord;
    const key = itemKey(item);
    const mask = analysis.checks[i] as number;
    for (const c of checksOf(mask)) counts[c]++;
    const user = edits.excluded[key];
    if (user !== undefined) override[i] = user ? 1 : 0;
    const error = isError(mask);
    if (!error) usable++;
    excluded[i] = error ? 1 : user !== undefined ? (user ? 1 : 0) : (analysis.defaultExcluded[i] as number);
    const userLabel = edits.labels[key];
    const label = userLabel !== undefined ? userLabel || null : edits.settings.labelsFromFolders ? item.label : null;
    labels[i] = label;
    const caption = edits.captions[key] ?? item.caption;
    captions[i] = caption || null;
    if (!excluded[i]) {
      included++;
      if (caption) withCaption++;
      if (label) labelTally.set(label, (labelTally.get(label) ?? 0) + 1);
    }
  }
  const groups = analysis.groups;
  return {
    version: edits.version,
    excluded,
    override,
    labels,
    captions,
    summary: {
      total: n,
      usable,
      included,
      excluded: n - included,
      counts,
      duplicateGroups: groups.filter((g) => g.kind === 'duplicate').length,
      nearDuplicateGroups: groups.filter((g) => g.kind === 'near-duplicate').length,
      captions: withCaption,
    },
    labelCounts: [...labelTally].map(([name, count]) => ({ name, count })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}

export interface EditRequest {
  exclude?: boolean | null;
  label?: string | null;
  caption?: string | null;
}

export class CurationStore {
  private readonly cache = new Map<string, Curation>();
  private readonly locks = new Map<string, Promise<unknown>>();

  /**
   * `root` is `<library>/curation`; `datasetExists` tells whether the built dataset is there, `busy`
   * which job (if any) is working on a curation.
   */
  constructor(
    readonly root: string,
    private readonly datasetExists: (id: string) => Promise<boolean>,
    private readonly busy: (id: string) => string | null = () => null,
  ) {}

  folder(id: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) throw notFound(`curation ${JSON.stringify(id)}`);
    return path.join(this.root, id);
  }

  async exists(id: string): Promise<boolean> {
    return stat(path.join(this.folder(id), MANIFEST_FILE)).then(
      () => true,
      () => false,
    );
  }

  /** Run `fn` after every earlier write to the same curation has finished. */
  async serialise<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(id) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    }
  }

  async load(id: string): Promise<Curation> {
    const cached = this.cache.get(id);
    if (cached) {
      this.cache.delete(id);
      this.cache.set(id, cached); // most recently used last
      return cached;
    }
    const dir = this.folder(id);
    const manifest = await readJson(path.join(dir, MANIFEST_FILE), Manifest, `curation ${id}`);
    const edits = await readJson(path.join(dir, EDITS_FILE), Edits, `curation ${id}`);
    const analysis = await analyse(manifest.items, edits.settings);
    const curation: Curation = {
      id,
      dir,
      manifest,
      edits,
      analysis,
      analysisKey: analysisKeyOf(edits.settings),
      derived: derive(manifest, edits, analysis),
      views: new Map(),
    };
    this.remember(curation);
    return curation;
  }

  private remember(curation: Curation): void {
    this.cache.delete(curation.id);
    this.cache.set(curation.id, curation);
    while (this.cache.size > CACHE_SIZE) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }

  /** Newest first. A damaged curation is skipped with a warning. */
  async list(): Promise<CurationInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const infos: CurationInfo[] = [];
    for (const name of names) {
      if (name.startsWith('.')) continue;
      try {
        if (!(await this.exists(name))) continue;
        infos.push(await this.cachedInfo(name));
      } catch (error) {
        console.warn(`[curation] skipping ${path.join(this.root, name)}: ${messageOf(error)}`);
      }
    }
    return infos.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  private async cachedInfo(id: string): Promise<CurationInfo> {
    const loaded = this.cache.get(id);
    if (loaded) return this.info(loaded);
    const file = path.join(this.folder(id), INFO_FILE);
    const stored = await readFile(file, 'utf8').then(
      (text) => JSON.parse(text) as CurationInfo,
      () => null,
    );
    const edits = await readJson(path.join(this.folder(id), EDITS_FILE), Edits, `curation ${id}`);
    if (stored && stored.updatedAt === edits.updatedAt) return { ...stored, state: await this.stateOf(id, edits), jobId: this.busy(id) };
    return this.info(await this.load(id));
  }

  private async stateOf(id: string, edits: Edits): Promise<CurationInfo['state']> {
    if (!edits.built || !(await this.datasetExists(id))) return 'draft';
    return edits.built.version === edits.version ? 'built' : 'stale';
  }

  async info(c: Curation): Promise<CurationInfo> {
    const d = this.derivedOf(c);
    return {
      id: c.id,
      name: c.edits.name,
      createdAt: c.manifest.createdAt,
      updatedAt: c.edits.updatedAt,
      sources: c.manifest.sources.map(({ kind, path: p }) => ({ kind, path: p })),
      settings: c.edits.settings,
      summary: d.summary,
      labels: d.labelCounts,
      state: await this.stateOf(c.id, c.edits),
      builtAt: c.edits.built?.at ?? null,
      lastImport: c.manifest.lastImport,
      jobId: this.busy(c.id),
    };
  }

  derivedOf(c: Curation): Derived {
    if (c.derived.version !== c.edits.version) {
      c.derived = derive(c.manifest, c.edits, c.analysis);
      c.views.clear();
    }
    return c.derived;
  }

  /** Write the edits (bumping the version unless `bump` is false) and the cached info. */
  private async saveEdits(c: Curation, bump = true): Promise<void> {
    if (bump) c.edits = { ...c.edits, version: c.edits.version + 1, updatedAt: new Date().toISOString() };
    await writeFileAtomic(path.join(c.dir, EDITS_FILE), `${JSON.stringify(c.edits)}\n`);
    c.views.clear();
    await writeFileAtomic(path.join(c.dir, INFO_FILE), JSON.stringify(await this.info(c)));
  }

  /** A new or re-imported curation: its manifest and edits, written by the import. */
  async commit(id: string, manifest: Manifest, edits: Edits): Promise<Curation> {
    const dir = this.folder(id);
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest));
    const analysis = await analyse(manifest.items, edits.settings);
    const c: Curation = {
      id,
      dir,
      manifest,
      edits,
      analysis,
      analysisKey: analysisKeyOf(edits.settings),
      derived: derive(manifest, edits, analysis),
      views: new Map(),
    };
    await this.saveEdits(c, false);
    this.remember(c);
    return c;
  }

  async updateSettings(c: Curation, patch: Partial<CurationSettings>, name?: string): Promise<void> {
    const settings = { ...c.edits.settings, ...patch };
    c.edits = { ...c.edits, settings, name: name ?? c.edits.name };
    const key = analysisKeyOf(settings);
    if (key !== c.analysisKey) {
      c.analysis = await analyse(c.manifest.items, settings);
      c.analysisKey = key;
    }
    await this.saveEdits(c);
  }

  async edit(c: Curation, indices: Iterable<number>, change: EditRequest): Promise<void> {
    const excluded = { ...c.edits.excluded };
    const labels = { ...c.edits.labels };
    const captions = { ...c.edits.captions };
    for (const i of indices) {
      const item = c.manifest.items[i];
      if (!item) throw new StudioError('bad_request', `item ${i} does not exist (the curation has ${c.manifest.items.length})`);
      const key = itemKey(item);
      if (change.exclude !== undefined) {
        if (change.exclude === null) delete excluded[key];
        else excluded[key] = change.exclude;
      }
      if (change.label !== undefined) {
        if (change.label === null) delete labels[key];
        else labels[key] = change.label.trim();
      }
      if (change.caption !== undefined) {
        if (change.caption === null) delete captions[key];
        else captions[key] = change.caption;
      }
    }
    c.edits = { ...c.edits, excluded, labels, captions };
    await this.saveEdits(c);
  }

  /** Record that a build packed `version`; on the current in-memory state, not the one the build began with. */
  async markBuilt(id: string, version: number): Promise<void> {
    const c = await this.load(id);
    c.edits = { ...c.edits, built: { version, at: new Date().toISOString() } };
    await this.saveEdits(c, false);
  }

  async discard(id: string): Promise<void> {
    const dir = this.folder(id);
    if (!(await this.exists(id))) throw notFound(`curation ${id}`);
    this.cache.delete(id);
    await rm(dir, { recursive: true, force: true });
  }

  /** The JPEG thumbnails of some items (null where an item has none), cut from their sheets. */
  async thumbs(c: Curation, indices: readonly number[]): Promise<(Buffer | null)[]> {
    const wanted = indices.map((i) => c.manifest.items[i]?.thumb ?? null);
    if (!wanted.some(Boolean)) return wanted.map(() => null);
    const fh = await open(path.join(c.dir, c.manifest.thumbsFile), 'r');
    try {
      return await cutThumbs(wanted, async (offset, length) => {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buffer, 0, length, offset);
        return bytesRead === length ? buffer : null;
      });
    } finally {
      await fh.close();
    }
  }

  group(c: Curation, i: number): Group | null {
    const g = c.analysis.groupOf[i] ?? -1;
    return g >= 0 ? (c.analysis.groups[g] ?? null) : null;
  }

  /** One grid item as the contract describes it. */
  itemView(c: Curation, i: number, thumb: Buffer | null): CurationItem {
    const item = c.manifest.items[i] as ScanRecord;
    const d = this.derivedOf(c);
    const mask = c.analysis.checks[i] as number;
    const group = this.group(c, i);
    const override = d.override[i] as number;
    const error = isError(mask);
    const excluded = d.excluded[i] === 1;
    const settings = c.edits.settings;
    const renderCrop = c.manifest.renders?.crop === settings.crop ? item : { ...item, crop: null };
    return {
      index: i,
      path: displayPath(item, c.manifest.sources),
      width: item.width,
      height: item.height,
      bytes: item.bytes,
      format: item.format,
      checks: checksOf(mask),
      notes: checkNotes(item, mask, settings, group),
      excluded,
      excludedBy: !excluded ? null : error ? 'error' : override === 1 ? 'user' : 'default',
      override: override === -1 ? null : override === 1,
      group: group ? { kind: group.kind, id: group.id, size: group.members.length, kept: group.kept === i } : null,
      label: d.labels[i] ?? null,
      caption: d.captions[i] ?? null,
      crop: error ? null : cropRect(renderCrop, settings),
      thumb: thumb ? `data:image/jpeg;base64,${thumb.toString('base64')}` : null,
    };
  }
}

async function readJson<T>(file: string, schema: z.ZodType<T>, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(what);
    throw error;
  }
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new StudioError('internal', `${file} is damaged: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
