/**
 * The `datasets.*` channels. Imports can take minutes, so `datasets.import` only checks the folder, answers
 * with an importId and reports the rest as `datasets.importProgress` events.
 */
import { randomBytes } from 'node:crypto';
import type { DatasetInfo, EventPayload } from '../../shared/contract.ts';
import type { DatasetStore } from '../data/datasetStore.ts';
import { assertFolder } from '../data/importFolder.ts';
import { messageOf } from '../errors.ts';
import { toDataUrl } from '../imaging/grid.ts';
import type { EventSink, Handlers } from './types.ts';

/** 'running' events at most this often: enough for a smooth bar, little enough not to flood the IPC. */
const PROGRESS_INTERVAL_MS = 100;

export function datasetHandlers(ctx: {
  datasets: DatasetStore;
  events: EventSink;
}): Pick<Handlers, 'datasets.list' | 'datasets.preview' | 'datasets.import'> {
  const { datasets, events } = ctx;

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
  };
}
