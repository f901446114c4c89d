/**
 * The on-disk records of a curation, `<library>/curation/<id>/`:
 *   manifest.json  what the last import found: sources, and per file its path, content hash, size, decoded
 *                  facts, perceptual hash, folder label and sidecar caption (rewritten by imports only);
 *   edits.json     what the user decided: name, settings, exclusions, labels, captions (small, rewritten
 *                  on every change);
 *   thumbs.bin     JPEG sheets of 16 thumbnails back to back (offset and cell in the manifest; thumbSheets.ts);
 *   renders.u8     the final squares at the import's settings, so a build after curating only copies.
 * Together they rebuild the dataset reproducibly from the source files.
 */
import { z } from 'zod';
import { CropMode, CropRect, CurationSettings, CurationSource, HexColour } from '../../shared/contract.ts';

export const MANIFEST_FORMAT = 'gan-studio-curation/1';

export const ErrorCheck = z.enum(['unreadable', 'corrupt', 'not-image', 'empty', 'unsupported']);
export type ErrorCheck = z.infer<typeof ErrorCheck>;

export const ScanRecord = z.object({
  /** Index into the manifest's sources. */
  source: z.number().int().min(0),
  /** Relative to the source's root, '/'-separated. */
  path: z.string(),
  bytes: z.number().int(),
  mtimeMs: z.number(),
  sha256: z.string().nullable(),
  error: z.object({ check: ErrorCheck, reason: z.string() }).nullable(),
  format: z.string().nullable(),
  /** Upright size (EXIF orientation applied). */
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  /** Colour space and sample depth as libvips reports them, e.g. 'cmyk', 'rgb16', 'b-w'. */
  space: z.string().nullable(),
  alpha: z.boolean(),
  frames: z.number().int(),
  orientation: z.number().int().nullable(),
  dhash: z.string().nullable(),
  gray: z.boolean().nullable(),
  mean: z.tuple([z.number(), z.number(), z.number()]).nullable(),
  /** The sheet's bytes in thumbs.bin and the cell in it (no cell: a standalone JPEG, as early imports wrote). */
  thumb: z
    .object({
      offset: z.number().int(),
      length: z.number().int(),
      cell: z.number().int().min(0).optional(),
      width: z.number().int().min(1).optional(),
      height: z.number().int().min(1).optional(),
    })
    .nullable(),
  /** Slot in renders.u8, when the final square at the manifest's render settings is cached. */
  render: z.number().int().nullable(),
  /** The crop the cached render used (attention/entropy choose it from the content). */
  crop: CropRect.nullable(),
  label: z.string().nullable(),
  caption: z.string().nullable(),
});
export type ScanRecord = z.infer<typeof ScanRecord>;

export const RenderKey = z.object({ resolution: z.number().int(), crop: CropMode, background: HexColour });
export type RenderKey = z.infer<typeof RenderKey>;

export const StoredSource = CurationSource.extend({
  /** Where the files are read: the folder itself, or the folder a zip was extracted into. */
  root: z.string(),
  /** For zips: size and mtime, so an unchanged zip is not extracted again. */
  stamp: z.string().nullable(),
});
export type StoredSource = z.infer<typeof StoredSource>;

export const LastImport = z.object({
  files: z.number().int(),
  scanned: z.number().int(),
  reused: z.number().int(),
  seconds: z.number(),
  notes: z.array(z.string()),
});
export type LastImport = z.infer<typeof LastImport>;

export const Manifest = z.object({
  format: z.literal(MANIFEST_FORMAT),
  id: z.string(),
  createdAt: z.string(),
  importedAt: z.string(),
  sources: z.array(StoredSource),
  items: z.array(ScanRecord),
  /** File names in the curation folder; each import writes new ones, so a crash never mixes two. */
  thumbsFile: z.string(),
  rendersFile: z.string().nullable(),
  renders: RenderKey.nullable(),
  lastImport: LastImport.nullable(),
});
export type Manifest = z.infer<typeof Manifest>;

export const Edits = z.object({
  name: z.string(),
  settings: CurationSettings,
  /** By item key (see itemKey): true excluded, false included against a check's default. */
  excluded: z.record(z.string(), z.boolean()),
  labels: z.record(z.string(), z.string()),
  captions: z.record(z.string(), z.string()),
  /** Bumped by every change (edits, settings, imports); a build records the version it packed. */
  version: z.number().int(),
  built: z.object({ version: z.number().int(), at: z.string() }).nullable(),
  updatedAt: z.string(),
});
export type Edits = z.infer<typeof Edits>;

export const DEFAULT_SETTINGS: CurationSettings = {
  resolution: 64,
  crop: 'center',
  background: '#ffffff',
  xflip: false,
  nearThreshold: 5,
  labelsFromFolders: true,
};

/** Edits are keyed by source and path, so they survive a re-import that reorders or adds files. */
export const itemKey = (item: Pick<ScanRecord, 'source' | 'path'>): string => `${item.source}:${item.path}`;

/** The path shown to people: prefixed with the source's name when a curation has several. */
export function displayPath(item: Pick<ScanRecord, 'source' | 'path'>, sources: readonly Pick<StoredSource, 'path'>[]): string {
  if (sources.length <= 1) return item.path;
  const src = sources[item.source]?.path ?? '';
  const base = src.split(/[\\/]/).filter(Boolean).pop() ?? `source${item.source}`;
  return `${base}/${item.path}`;
}
