/** The `runs.*` channels: reading what runs left on disk, and the bookkeeping a person does on them. */
import { conflict } from '../errors.ts';
import type { EngineSupervisor } from '../engine/supervisor.ts';
import { toDataUrl } from '../imaging/grid.ts';
import type { RunStore } from '../runs/runStore.ts';
import type { EventSink, Handlers } from './types.ts';

export function runHandlers(ctx: { runs: RunStore; engine: EngineSupervisor; events: EventSink }): Pick<
  Handlers,
  'runs.list' | 'runs.get' | 'runs.image' | 'runs.snapshots' | 'runs.update' | 'runs.delete'
> {
  const { runs, engine, events } = ctx;
  return {
    'runs.list': async () => runs.list(),
    'runs.get': async ({ runId }) => {
      const [summary, config, stats] = await Promise.all([runs.summary(runId), runs.config(runId), runs.readStats(runId)]);
      return { summary, config, stats };
    },
    'runs.image': async ({ runId, image }) => ({ image: toDataUrl(await runs.readImage(runId, image)) }),
    'runs.snapshots': async ({ runId }) => runs.listSnapshots(runId),
    'runs.update': async ({ runId, name, tags, archived }) => {
      const uniqueTags = tags ? [...new Set(tags.map((t) => t.trim()).filter(Boolean))] : undefined;
      const summary = await runs.update(runId, {
        ...(name !== undefined ? { name } : {}),
        ...(uniqueTags !== undefined ? { tags: uniqueTags } : {}),
        ...(archived !== undefined ? { archived } : {}),
      });
      events.emit('runs.changed', { runId, summary });
      return summary;
    },
    'runs.delete': async ({ runId }) => {
      if (engine.isTraining(runId) || (await runs.ownedElsewhere(runId))) throw conflict('this run is training; stop it before deleting it');
      await runs.delete(runId);
      events.emit('runs.changed', { runId, summary: null });
      return { runId };
    },
  };
}
