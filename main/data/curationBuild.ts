/**
 * Build: the included images of a curation, as the packed dataset the engine trains on (images.u8 of
 * count × R × R × 3, dataset.json, preview.png), plus in dataset.json everything needed to rebuild it
 * from the source files: sources, settings, and per image its path, content hash, label and caption, and
 * per left-out file why. Squares cached by the import at the same settings are copied; the others are
 * decoded exactly as the import would have (squareRender.ts), so both ways give the same bytes.
 */
import { createHash } from 'node:crypto';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { DatasetInfo } from '../../shared/contract.ts';
import { badRequest, messageOf } from '../errors.ts';
import { checksOf } from './checks.ts';
import { displayPath, type ScanRecord } from './curationManifest.ts';
import type { Curation, CurationStore } from './curationStore.ts';
import type { JobContext } from './datasetJobs.ts';
import { PREVIEW_COUNT, previewTile, type DatasetStore } from './datasetStore.ts';
import { IMPORT_CONCURRENCY } from './curationImport.ts';
import { decodeWorking, renderSquare } from './squareRender.ts';

/** dataset.json lists at most this many skipped files (the full list is in its `curation` section). */
const SKIPPED_LISTED = 1000;
export const UNLABELLED = 'unlabelled';

export interface BuildTarget {
  store: DatasetStore;
  /** The dataset id: the curation's own, or a folder name for `npm run import -- --out <dir>`. */
  id: string;
}

export async function buildCuration(curations: CurationStore, c: Curation, target: BuildTarget, ctx: JobContext): Promise<DatasetInfo> {
  const d = curations.derivedOf(c);
  const version = c.edits.version;
  const settings = c.edits.settings;
  const { manifest } = c;
  const items = manifest.items;
  const included: number[] = [];
  for (let i = 0; i < items.length; i++) if (!d.excluded[i]) included.push(i);
  const shown = (i: number): string => displayPath(items[i] as ScanRecord, manifest.sources);
  if (included.length === 0) {
    const counts = Object.entries(d.summary.counts)
      .filter(([, n]) => n > 0)
      .map(([check, n]) => `${n} ${check}`)
      .join(', ');
    throw badRequest(`${c.edits.name}: nothing to build, all ${items.length} files are excluded${counts ? ` (${counts})` : ''}`);
  }

  // Class labels only mean something with two classes or more.
  const distinct = [...new Set(included.map((i) => d.labels[i]).filter((l): l is string => Boolean(l)))].sort();
  const labelled = distinct.length >= 2;
  const classNames = labelled && included.some((i) => !d.labels[i]) ? [...distinct, UNLABELLED] : distinct;
  const labelIndex = new Map(classNames.map((name, k) => [name, k]));
  const hasCaptions = included.some((i) => d.captions[i]);

  const R = settings.resolution;
  const frame = R * R * 3;
  const spec = { resolution: R, crop: settings.crop, background: settings.background };
  const cache = manifest.renders;
  const cacheUsable =
    manifest.rendersFile !== null && cache !== null && cache.resolution === R && cache.crop === settings.crop && cache.background.toLowerCase() === settings.background.toLowerCase();

  const decode = async (i: number): Promise<Buffer> => {
    const item = items[i] as ScanRecord;
    const source = manifest.sources[item.source];
    const file = path.join(source?.root ?? '', ...item.path.split('/'));
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw badRequest(`${shown(i)}: cannot be read any more (${(error as NodeJS.ErrnoException).code ?? messageOf(error)}); import the folder again`);
    }
    if (createHash('sha256').update(bytes).digest('hex') !== item.sha256) {
      throw badRequest(`${shown(i)}: changed since the import (its content is different); import the folder again`);
    }
    const working = await decodeWorking(bytes, settings.background, R);
    return (await renderSquare(working, spec)).rgb;
  };

  const info = await target.store.publish(target.id, async (tmp) => {
    let renders: FileHandle | null = null;
    const out = await open(path.join(tmp, 'images.u8'), 'w');
    const tiles: Buffer[] = [];
    try {
      if (cacheUsable) renders = await open(path.join(c.dir, manifest.rendersFile as string), 'r');
      const fetch = async (i: number): Promise<Buffer> => {
        const item = items[i] as ScanRecord;
        if (renders && item.render !== null) {
          const buffer = Buffer.alloc(frame);
          const { bytesRead } = await renders.read(buffer, 0, frame, item.render * frame);
          if (bytesRead === frame) return buffer;
        }
        return decode(i);
      };
      ctx.phase('Packing images', included.length);
      // A window of fetches in flight, written in order.
      const inFlight: Promise<Buffer>[] = [];
      let next = 0;
      const launch = (): void => {
        const i = included[next++];
        if (i !== undefined) inFlight.push(fetch(i));
      };
      try {
        while (inFlight.length < IMPORT_CONCURRENCY && next < included.length) launch();
        for (let k = 0; k < included.length; k++) {
          ctx.signal.throwIfAborted();
          const rgb = await (inFlight.shift() as Promise<Buffer>);
          launch();
          await out.write(rgb, 0, frame, k * frame);
          if (tiles.length < PREVIEW_COUNT) tiles.push(await previewTile(rgb, R));
          ctx.progress(k + 1, shown(included[k] as number));
        }
      } finally {
        await Promise.allSettled(inFlight);
      }
      await out.sync();
    } finally {
      await out.close();
      await renders?.close();
    }
    const excluded = items.flatMap((item, i) => {
      if (!d.excluded[i]) return [];
      const why = d.override[i] === 1 ? 'excluded by you' : (curations.itemView(c, i, null).notes[0] ?? checksOf(c.analysis.checks[i] as number).join(', '));
      return [{ file: shown(i), reason: why, sha256: item.sha256 }];
    });
    const skipped = excluded.slice(0, SKIPPED_LISTED).map(({ file, reason }) => ({ file, reason }));
    if (excluded.length > SKIPPED_LISTED) skipped.push({ file: '…', reason: `and ${excluded.length - SKIPPED_LISTED} more (see dataset.json)` });
    const datasetInfo: DatasetInfo = {
      id: target.id,
      name: c.edits.name,
      builtin: false,
      source: manifest.sources.map((s) => s.path).join(', '),
      resolution: R,
      count: included.length,
      createdAt: new Date().toISOString(),
      skipped,
      ...(labelled ? { labels: classNames } : {}),
      ...(hasCaptions ? { hasCaptions: true } : {}),
      xflip: settings.xflip,
      crop: settings.crop,
      curated: true,
    };
    return {
      info: datasetInfo,
      files: included.map(shown),
      previewTiles: tiles,
      extra: {
        ...(labelled ? { labelIndices: included.map((i) => labelIndex.get(d.labels[i] ?? UNLABELLED) ?? 0) } : {}),
        ...(hasCaptions ? { captions: included.map((i) => d.captions[i] ?? null) } : {}),
        curation: {
          id: c.id,
          version,
          settings,
          sources: manifest.sources.map(({ kind, path: p }) => ({ kind, path: p })),
          images: included.map((i) => ({ path: shown(i), sha256: (items[i] as ScanRecord).sha256 })),
          excluded,
        },
      },
    };
  });
  await curations.serialise(c.id, () => curations.markBuilt(c.id, version));
  return info;
}
