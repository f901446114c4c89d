/**
 * The `datasets.*` channels. Imports can take minutes, so `datasets.import` only checks the folder, answers
 * with an importId and reports the rest as `datasets.importProgress` events. The curation channels
 * (`datasets.scan` … `datasets.discard`) work the same way for imports, builds and exports: a jobId at once,
 * `datasets.job` events after, `datasets.cancelImport` to stop one.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { DatasetInfo, EventPayload } from '../../shared/contract.ts';
import { selectItems } from '../data/curationQuery.ts';
import { Curator } from '../data/curator.ts';
import type { DatasetStore } from '../data/datasetStore.ts';
import { assertFolder } from '../data/importFolder.ts';
import { decodeWorking, renderSquare } from '../data/squareRender.ts';
import { badRequest, conflict, messageOf } from '../errors.ts';
import { toDataUrl } from '../imaging/grid.ts';
import type { EventSink, Handlers } from './types.ts';

/** 'running' events at most this often: enough for a smooth bar, little enough not to flood the IPC. */
const PROGRESS_INTERVAL_MS = 100;

type DatasetChannel = Extract<keyof Handlers, `datasets.${string}`>;

export function datasetHandlers(ctx: { datasets: DatasetStore; events: EventSink; curator?: Curator }): Pick<Handlers, DatasetChannel> {
  const { datasets, events } = ctx;
  const curator = ctx.curator ?? new Curator(datasets, (job) => events.emit('datasets.job', job));
  const { curations } = curator;

  /** Writes to a curation wait for each other, and for nothing else. */
  const change = async (datasetId: string, fn: (c: Awaited<ReturnType<typeof curations.load>>) => Promise<void>) => {
    curator.assertNotImporting(datasetId);
    return curations.serialise(datasetId, async () => {
      const c = await curations.load(datasetId);
      await fn(c);
      return curations.info(c);
    });
  };

  const runImport = async (importId: string, root: string, name: string | undefined, resolution: number): Promise<void> => {
    let last = { done: 0, total: 0, current: null as string | null };
    let lastEmit = 0;
    const emit = (payload: Omit<EventPayload<'datasets.importProgress'>, 'importId'>): void =>
      events.emit('datasets.importProgress', { importId, ...payload });
    try {
      const info: DatasetInfo = await datasets.importFolder(root, {
        name,
        resolution,
        onProgress: (p) => {
          last = p;
          const now = Date.now();
          if (now - lastEmit < PROGRESS_INTERVAL_MS) return;
          lastEmit = now;
          emit({ state: 'running', ...p, message: null, dataset: null });
        },
      });
      const skipped = info.skipped.length ? `, ${info.skipped.length} skipped` : '';
      emit({ state: 'done', done: last.total, total: last.total, current: null, message: `imported ${info.count} images${skipped}`, dataset: info });
    } catch (error) {
      emit({ state: 'failed', ...last, message: messageOf(error), dataset: null });
    }
  };

  return {
    'datasets.list': async () => {
      // A broken built-in build must not hide the user's own datasets; it is logged and retried next time.
      await datasets.ensureBuiltin().catch((error: unknown) => console.error(`[datasets] the built-in dataset is unavailable: ${messageOf(error)}`));
      return datasets.list();
    },

    'datasets.preview': async ({ datasetId, count }) => ({ image: toDataUrl(await datasets.preview(datasetId, count)) }),

    'datasets.import': async ({ path: folder, name, resolution }) => {
      const root = await assertFolder(folder); // a typo'd path is answered now, as bad_request
      const importId = `import-${randomBytes(6).toString('hex')}`;
      // Start after this reply is on its way, so the UI knows the importId before the first event.
      setImmediate(() => void runImport(importId, root, name, resolution));
      return { importId };
    },

    'datasets.curations': () => curations.list(),

    'datasets.curation': ({ datasetId }) => curator.info(datasetId),

    'datasets.scan': ({ sources, name, datasetId, settings }) => curator.startImport({ sources, name, datasetId, settings }),

    'datasets.upload': (chunk) => curator.uploads.write(chunk),

    'datasets.cancelImport': async ({ jobId }) => ({ cancelled: curator.jobs.cancel(jobId) }),

    'datasets.items': async ({ datasetId, offset, limit, filter, sort, label, thumbs }) => {
      const c = await curations.load(datasetId);
      const order = selectItems(curations, c, { filter, sort, label });
      const page = Array.from(order.subarray(offset, offset + limit));
      const images = thumbs ? await curations.thumbs(c, page) : page.map(() => null);
      return { total: order.length, items: page.map((i, k) => curations.itemView(c, i, images[k] ?? null)) };
    },

    'datasets.groups': async ({ datasetId, kind, offset, limit }) => {
      const c = await curations.load(datasetId);
      const groups = c.analysis.groups.filter((g) => g.kind === kind);
      const page = groups.slice(offset, offset + limit);
      const members = page.flatMap((g) => g.members);
      const images = await curations.thumbs(c, members);
      const thumbOf = new Map(members.map((m, k) => [m, images[k] ?? null]));
      return {
        total: groups.length,
        groups: page.map((g) => ({ id: g.id, items: g.members.map((m) => curations.itemView(c, m, thumbOf.get(m) ?? null)) })),
      };
    },

    'datasets.edit': ({ datasetId, target, exclude, label, caption }) =>
      change(datasetId, async (c) => {
        const indices = 'indices' in target ? target.indices : Array.from(selectItems(curations, c, { filter: target.filter, sort: 'name', label: target.label }));
        await curations.edit(c, indices, { exclude, label, caption });
      }),

    'datasets.settings': ({ datasetId, name, settings }) => change(datasetId, (c) => curations.updateSettings(c, settings, name)),

    'datasets.cropPreview': async ({ datasetId, index, crop, background, resolution }) => {
      const c = await curations.load(datasetId);
      const item = c.manifest.items[index];
      if (!item) throw badRequest(`item ${index} does not exist (the curation has ${c.manifest.items.length})`);
      if (item.error) throw badRequest(`${item.path} cannot be used: ${item.error.reason}`);
      const settings = c.edits.settings;
      const spec = { resolution: resolution ?? settings.resolution, crop: crop ?? settings.crop, background: background ?? settings.background };
      const root = c.manifest.sources[item.source]?.root ?? '';
      let bytes: Buffer;
      try {
        bytes = await readFile(path.join(root, ...item.path.split('/')));
      } catch (error) {
        throw badRequest(`${item.path}: cannot be read any more (${(error as NodeJS.ErrnoException).code ?? messageOf(error)})`);
      }
      const square = await renderSquare(await decodeWorking(bytes, spec.background, spec.resolution), spec);
      const png = await sharp(square.rgb, { raw: { width: spec.resolution, height: spec.resolution, channels: 3 } }).png().toBuffer();
      return { image: toDataUrl(png), crop: square.crop };
    },

    'datasets.build': ({ datasetId }) => curator.startBuild(datasetId),

    'datasets.exportStylegan': async ({ datasetId, outFile }) => ({ jobId: (await curator.startExport(datasetId, outFile)).jobId }),

    'datasets.discard': async ({ datasetId }) => {
      const busy = curator.jobs.runningFor(datasetId);
      if (busy) throw conflict(`dataset ${datasetId} is busy with job ${busy}; cancel it first`);
      await curations.serialise(datasetId, () => curations.discard(datasetId));
      return { datasetId };
    },
  };
}
