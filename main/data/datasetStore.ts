/**
 * Datasets on disk. Each one is a folder `<library>/datasets/<id>/` holding
 *   - dataset.json  the DatasetInfo plus `files` (source paths in packed order) and a format tag;
 *   - images.u8     every image as raw RGB uint8, NHWC, back to back: the engine maps this straight into
 *                   tensors, so its size must be exactly count × resolution² × 3;
 *   - preview.png   a grid of the first 64 images, so the UI does not have to decode anything.
 * A dataset is built in a hidden `.tmp-<id>/` folder and renamed into place only when complete, so a crash
 * or a cancelled import never leaves a half dataset that lists.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, realpath, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { DatasetInfo, Id } from '../../shared/contract.ts';
import { StudioError, badRequest, messageOf, notFound } from '../errors.ts';
import { encodeGridPng } from '../imaging/grid.ts';
import { BUILTIN_ID, BUILTIN_NAME, BUILTIN_RESOLUTION, builtinEmojiSource } from './builtinEmoji.ts';
import { assertFolder, packFiles, walkFolder, type ImportProgress, type SkippedFile } from './importFolder.ts';

export const DATASET_FORMAT = 'gan-studio-dataset/1';
const INFO_FILE = 'dataset.json';
const IMAGES_FILE = 'images.u8';
const PREVIEW_FILE = 'preview.png';
const TMP_PREFIX = '.tmp-';
/** The stored preview: the first 64 images, 8×8. */
export const PREVIEW_COUNT = 64;
/** Preview tiles are downscaled to this, so a 1024-px dataset does not produce a 8192² PNG for the UI. */
const PREVIEW_TILE_MAX = 128;
/** A leftover `.tmp-*` older than this (and not ours) is from a crashed import and is swept away. */
const STALE_TMP_MS = 60 * 60 * 1000;

const DatasetFile = DatasetInfo.extend({
  format: z.literal(DATASET_FORMAT),
  files: z.array(z.string()),
}).refine((d) => d.files.length === d.count, { message: '`files` must list exactly `count` entries' });
type DatasetFile = z.infer<typeof DatasetFile>;

export interface ImportFolderOptions {
  /** Defaults to the folder's name. */
  name?: string;
  resolution: number;
  onProgress?: (p: ImportProgress) => void;
  signal?: AbortSignal;
}

/** What a builder hands to DatasetStore.publish. */
export interface PublishedDataset {
  info: DatasetInfo;
  /** Source paths in packed order. */
  files: string[];
  /** More keys for dataset.json (labels per image, captions, the curation's manifest). */
  extra: Record<string, unknown>;
  /** Up to 64 images (R×R×3 each, downscaled to at most 128 px by previewTile) for preview.png. */
  previewTiles: Buffer[];
}

interface BuildSpec {
  id: string;
  name: string;
  builtin: boolean;
  source: string;
  root: string;
  resolution: number;
  onProgress?: (p: ImportProgress) => void;
  signal?: AbortSignal;
}

/** Lowercase ASCII slug of a name plus a short random suffix, always a valid contract Id. */
export function newDatasetId(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return `${slug || 'dataset'}-${randomBytes(3).toString('hex')}`;
}

const frameBytes = (info: Pick<DatasetInfo, 'resolution'>): number => info.resolution * info.resolution * 3;
const errnoCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code;

export class DatasetStore {
  /** The in-flight builtin build, shared by concurrent callers; cleared when it settles. */
  private builtinBuild: Promise<DatasetInfo> | null = null;
  /** Temp folders this process is writing right now (never swept). */
  private readonly activeTemps = new Set<string>();

  constructor(readonly dir: string) {}

  /** Builtin first, then newest first. Broken folders are skipped with a warning, never fatal. */
  async list(): Promise<DatasetInfo[]> {
    let entries;
    try {
      entries = await readdir(this.dir, { withFileTypes: true });
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw error;
    }
    const infos: DatasetInfo[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith(TMP_PREFIX)) {
        await this.sweepIfStale(path.join(this.dir, entry.name));
        continue;
      }
      if (entry.name.startsWith('.')) continue;
      // An adopted dataset (see adoptFolder) is a link to a folder elsewhere.
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(path.join(this.dir, entry.name)).then((s) => s.isDirectory(), () => false)));
      if (!isDir) continue;
      try {
        infos.push(await this.readInfo(entry.name));
      } catch (error) {
        console.warn(`[datasets] skipping ${path.join(this.dir, entry.name)}: ${messageOf(error)}`);
      }
    }
    return infos.sort((a, b) => Number(b.builtin) - Number(a.builtin) || b.createdAt.localeCompare(a.createdAt));
  }

  /** The built-in set is always there for callers: it is packed on first use, whoever asks first. */
  async get(id: string): Promise<DatasetInfo> {
    if (id === BUILTIN_ID) return this.ensureBuiltin();
    return this.readInfo(id);
  }

  imagesFile(id: string): string {
    return path.join(this.folder(id), IMAGES_FILE);
  }

  /** The whole packed file, size-checked so the engine never trains on a truncated dataset. */
  async readImages(id: string): Promise<{ info: DatasetInfo; pixels: Uint8Array }> {
    const info = await this.get(id);
    const file = this.imagesFile(id);
    const expected = info.count * frameBytes(info);
    await this.checkImagesFile(info);
    // Read in chunks: fs.readFile stops at 2 GiB, a 256-px dataset of 12k images is bigger.
    const pixels = new Uint8Array(expected);
    const fh = await open(file, 'r');
    try {
      let offset = 0;
      while (offset < expected) {
        const { bytesRead } = await fh.read(pixels, offset, Math.min(expected - offset, 64 << 20), offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
      }
      if (offset !== expected) throw this.sizeError(file, info, offset);
    } finally {
      await fh.close();
    }
    return { info, pixels };
  }

  /** A PNG grid of the first `count` images (fewer if the dataset is smaller), ⌈√n⌉ columns. */
  async preview(id: string, count: number): Promise<Buffer> {
    const info = await this.get(id);
    const n = Math.max(1, Math.min(Math.floor(count), info.count));
    if (n === Math.min(PREVIEW_COUNT, info.count)) {
      const cached = await readFile(path.join(this.folder(id), PREVIEW_FILE)).catch(() => null);
      if (cached) return cached;
    }
    await this.checkImagesFile(info);
    const pixels = new Uint8Array(n * frameBytes(info));
    const fh = await open(this.imagesFile(id), 'r');
    try {
      const { bytesRead } = await fh.read(pixels, 0, pixels.length, 0);
      if (bytesRead !== pixels.length) throw this.sizeError(this.imagesFile(id), info, bytesRead);
    } finally {
      await fh.close();
    }
    const tiles: Buffer[] = [];
    for (let i = 0; i < n; i++) tiles.push(await previewTile(pixels.subarray(i * frameBytes(info), (i + 1) * frameBytes(info)), info.resolution));
    return renderPreview(tiles, info.resolution);
  }

  /**
   * The built-in Noto Emoji set, packed into the library on first use (a few seconds) and read back from
   * its dataset.json afterwards. Rebuilt if it is missing or damaged.
   */
  ensureBuiltin(): Promise<DatasetInfo> {
    this.builtinBuild ??= this.loadOrBuildBuiltin().finally(() => {
      this.builtinBuild = null;
    });
    return this.builtinBuild;
  }

  async importFolder(sourceDir: string, options: ImportFolderOptions): Promise<DatasetInfo> {
    const { resolution } = options;
    if (!Number.isInteger(resolution) || resolution < 1 || resolution > 4096) {
      throw badRequest(`resolution must be a whole number of pixels from 1 to 4096, got ${resolution}`);
    }
    const root = await assertFolder(sourceDir);
    const name = options.name?.trim() || path.basename(root) || 'dataset';
    let id = newDatasetId(name);
    while (await exists(this.folder(id))) id = newDatasetId(name);
    return this.build({ id, name, builtin: false, source: root, root, resolution, onProgress: options.onProgress, signal: options.signal });
  }

  /**
   * Write a dataset with `fill` into a hidden temp folder and move it into place only when complete,
   * replacing the previous build of the same id (renamed aside first, so readers see the old one or the
   * new one, never a mix). `fill` writes images.u8 and returns what dataset.json holds.
   */
  async publish(id: string, fill: (tmp: string) => Promise<PublishedDataset>): Promise<DatasetInfo> {
    await mkdir(this.dir, { recursive: true });
    const dest = this.folder(id);
    const tmp = path.join(this.dir, `${TMP_PREFIX}${id}-${randomBytes(4).toString('hex')}`);
    this.activeTemps.add(tmp);
    try {
      await mkdir(tmp);
      const { info, files, extra, previewTiles } = await fill(tmp);
      await writeFile(path.join(tmp, PREVIEW_FILE), await renderPreview(previewTiles, info.resolution));
      const file = { format: DATASET_FORMAT, ...info, files, ...extra };
      DatasetFile.parse(file);
      await writeFile(path.join(tmp, INFO_FILE), `${JSON.stringify(file)}\n`);
      const aside = path.join(this.dir, `${TMP_PREFIX}old-${id}-${randomBytes(3).toString('hex')}`);
      const had = await exists(dest);
      if (had) await rename(dest, aside);
      await rename(tmp, dest);
      if (had) await rm(aside, { recursive: true, force: true });
      return info;
    } catch (error) {
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    } finally {
      this.activeTemps.delete(tmp);
    }
  }

  /** Per-image class indices of a labelled dataset (into `info.labels`), or null when it has none. */
  async readLabelIndices(id: string): Promise<number[] | null> {
    const info = await this.get(id);
    if (!info.labels?.length) return null;
    const raw = JSON.parse(await readFile(path.join(this.folder(id), INFO_FILE), 'utf8')) as { labelIndices?: unknown };
    const parsed = z.array(z.number().int().min(0).max(info.labels.length - 1)).length(info.count).safeParse(raw.labelIndices);
    if (!parsed.success) throw new StudioError('internal', `${path.join(this.folder(id), INFO_FILE)}: labelIndices must hold one class index per image`);
    return parsed.data;
  }

  /**
   * Make a dataset folder that lives outside the library (`npm run import -- --out <dir>`) usable by id:
   * the library gets a link to it. Returns its info; a folder that is not a dataset is a bad_request.
   */
  async adoptFolder(folder: string): Promise<DatasetInfo> {
    const abs = path.resolve(folder);
    let parsed: DatasetFile;
    try {
      parsed = DatasetFile.parse(JSON.parse(await readFile(path.join(abs, INFO_FILE), 'utf8')));
    } catch (error) {
      throw badRequest(`${abs} is not a GAN Studio dataset folder (${path.join(abs, INFO_FILE)}: ${errnoCode(error) ?? messageOf(error)})`);
    }
    const info = DatasetInfo.parse(parsed);
    const link = this.folder(info.id);
    const current = await realpath(link).catch(() => null);
    if (current !== (await realpath(abs))) {
      if (current !== null) throw badRequest(`the library already has a different dataset with id ${info.id} (${link})`);
      await mkdir(this.dir, { recursive: true });
      await symlink(abs, link, 'junction');
    }
    await this.checkImagesFile(info);
    return info;
  }

  // ---------- internals ----------

  private folder(id: string): string {
    // Ids come from the UI; the contract regex also keeps them from escaping the datasets folder.
    if (!Id.safeParse(id).success) throw notFound(`dataset ${JSON.stringify(id)}`);
    return path.join(this.dir, id);
  }

  private async readInfo(id: string): Promise<DatasetInfo> {
    const file = path.join(this.folder(id), INFO_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') throw notFound(`dataset ${id}`);
      throw error;
    }
    let parsed: DatasetFile;
    try {
      parsed = DatasetFile.parse(JSON.parse(text));
    } catch (error) {
      const why = error instanceof z.ZodError ? error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') : messageOf(error);
      throw new StudioError('internal', `${file} is not a valid dataset file: ${why}`);
    }
    if (parsed.id !== id) throw new StudioError('internal', `${file} describes dataset ${parsed.id}, not ${id}`);
    // Strip `files` and `format`: callers get exactly the contract's DatasetInfo.
    return DatasetInfo.parse(parsed);
  }

  private sizeError(file: string, info: DatasetInfo, actual: number): StudioError {
    return new StudioError(
      'internal',
      `${file} has ${actual} bytes, but ${info.count} images of ${info.resolution}×${info.resolution}×3 ` +
        `need ${info.count * frameBytes(info)}; the dataset is damaged, re-import it`,
    );
  }

  private async checkImagesFile(info: DatasetInfo): Promise<void> {
    const file = this.imagesFile(info.id);
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch (error) {
      throw new StudioError('internal', `${file} cannot be read (${errnoCode(error) ?? messageOf(error)}); re-import the dataset`);
    }
    if (size !== info.count * frameBytes(info)) throw this.sizeError(file, info, size);
  }

  private async loadOrBuildBuiltin(): Promise<DatasetInfo> {
    try {
      const info = await this.readInfo(BUILTIN_ID);
      await this.checkImagesFile(info);
      if (info.builtin && info.resolution === BUILTIN_RESOLUTION) return info;
    } catch (error) {
      if (!(error instanceof StudioError && error.code === 'not_found')) console.warn(`[datasets] rebuilding the built-in dataset: ${messageOf(error)}`);
    }
    const source = builtinEmojiSource();
    return this.build({ id: BUILTIN_ID, name: BUILTIN_NAME, builtin: true, source: source.label, root: source.dir, resolution: BUILTIN_RESOLUTION });
  }

  private async build(spec: BuildSpec): Promise<DatasetInfo> {
    const { id, root, resolution, signal } = spec;
    await mkdir(this.dir, { recursive: true });
    // Unique per build: another process may be building the same id in this library right now.
    const tmp = path.join(this.dir, `${TMP_PREFIX}${id}-${randomBytes(4).toString('hex')}`);
    this.activeTemps.add(tmp);
    try {
      await mkdir(tmp);
      const fh = await open(path.join(tmp, IMAGES_FILE), 'w');
      const tiles: Buffer[] = [];
      let walked: { files: string[]; skipped: SkippedFile[] };
      let packed: { files: string[]; skipped: SkippedFile[] };
      try {
        walked = await walkFolder(root, signal);
        packed = await packFiles(root, walked.files, {
          resolution,
          signal,
          onProgress: spec.onProgress,
          sink: async (rgb) => {
            await fh.write(rgb);
            if (tiles.length < PREVIEW_COUNT) tiles.push(await previewTile(rgb, resolution));
          },
        });
        await fh.sync(); // the rename below must never publish bytes still in the page cache only
      } finally {
        await fh.close();
      }
      const skipped = [...walked.skipped, ...packed.skipped];
      if (packed.files.length === 0) {
        const lines = skipped.map((s) => `${s.file}: ${s.reason}`);
        const eg = lines.length ? `, e.g. ${lines.slice(0, 3).join('; ')}` : '';
        throw badRequest(`${root}: no images to import (${skipped.length} file${skipped.length === 1 ? '' : 's'} skipped${eg})`, lines);
      }
      const info: DatasetInfo = {
        id,
        name: spec.name,
        builtin: spec.builtin,
        source: spec.source,
        resolution,
        count: packed.files.length,
        createdAt: new Date().toISOString(),
        skipped,
      };
      await writeFile(path.join(tmp, PREVIEW_FILE), await renderPreview(tiles, resolution));
      const file: DatasetFile = { format: DATASET_FORMAT, ...info, files: packed.files };
      await writeFile(path.join(tmp, INFO_FILE), `${JSON.stringify(file, null, 2)}\n`);
      signal?.throwIfAborted();
      const dest = this.folder(id);
      try {
        await rename(tmp, dest);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
        // Two processes on one library built the same dataset (the CLI and the studio both need the
        // built-in one): keep the one that landed first if it is whole; only a damaged one is replaced.
        const theirs = await this.readInfo(id).catch(() => null);
        if (theirs && (await this.checkImagesFile(theirs).then(() => true, () => false))) {
          await rm(tmp, { recursive: true, force: true });
          return theirs;
        }
        await rm(dest, { recursive: true, force: true });
        await rename(tmp, dest);
      }
      return info;
    } catch (error) {
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    } finally {
      this.activeTemps.delete(tmp);
    }
  }

  /** Remove a `.tmp-*` left by a crashed import (another live process's temp folder stays: it is fresh). */
  private async sweepIfStale(tmp: string): Promise<void> {
    if (this.activeTemps.has(tmp)) return;
    try {
      const times = await Promise.all([stat(tmp), stat(path.join(tmp, IMAGES_FILE)).catch(() => null)]);
      const newest = Math.max(...times.map((s) => s?.mtimeMs ?? 0));
      if (Date.now() - newest > STALE_TMP_MS) await rm(tmp, { recursive: true, force: true });
    } catch (error) {
      console.warn(`[datasets] could not clean up ${tmp}: ${messageOf(error)}`);
    }
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** One image as a preview tile: as is up to PREVIEW_TILE_MAX px, downscaled above. */
export async function previewTile(rgb: Uint8Array, resolution: number): Promise<Buffer> {
  if (resolution <= PREVIEW_TILE_MAX) return Buffer.from(rgb);
  return sharp(rgb, { raw: { width: resolution, height: resolution, channels: 3 } })
    .resize(PREVIEW_TILE_MAX, PREVIEW_TILE_MAX, { kernel: 'lanczos3' })
    .raw()
    .toBuffer();
}

/** A square-ish grid (⌈√n⌉ columns): 64 images give the 8×8 preview. */
async function renderPreview(tiles: Buffer[], resolution: number): Promise<Buffer> {
  const tileRes = Math.min(resolution, PREVIEW_TILE_MAX);
  const cols = Math.ceil(Math.sqrt(tiles.length));
  return encodeGridPng(Buffer.concat(tiles), tiles.length, tileRes, cols);
}
