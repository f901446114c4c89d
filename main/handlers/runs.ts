/** The `runs.*` channels: reading what runs left on disk (the run store is the only reader). */
import type { RunStore } from '../runs/runStore.ts';
import { toDataUrl } from '../imaging/grid.ts';
import type { Handlers } from './types.ts';

export function runHandlers(ctx: { runs: RunStore }): Pick<Handlers, 'runs.list' | 'runs.get' | 'runs.image' | 'runs.snapshots'> {
  const { runs } = ctx;
  return {
    'runs.list': async () => runs.list(),
    'runs.get': async ({ runId }) => {
      const [summary, config, stats] = await Promise.all([runs.summary(runId), runs.config(runId), runs.readStats(runId)]);
      return { summary, config, stats };
    },
    'runs.image': async ({ runId, image }) => ({ image: toDataUrl(await runs.readImage(runId, image)) }),
    'runs.snapshots': async ({ runId }) => runs.listSnapshots(runId),
  };
}
