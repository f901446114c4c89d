/** The `training.*` and `export.*` channels: resolve the config, create the run, hand it to the engine. */
import path from 'node:path';
import { ConfigError, findPreset, resolveConfig } from '../../shared/presets.ts';
import type { DatasetStore } from '../data/datasetStore.ts';
import { badRequest, conflict } from '../errors.ts';
import type { EngineSupervisor } from '../engine/supervisor.ts';
import type { RunStore } from '../runs/runStore.ts';
import type { Handlers } from './types.ts';

export function trainingHandlers(ctx: {
  datasets: DatasetStore;
  runs: RunStore;
  engine: EngineSupervisor;
}): Pick<Handlers, 'training.start' | 'training.pause' | 'training.resume' | 'training.stop' | 'training.current' | 'export.samples'> {
  const { datasets, runs, engine } = ctx;
  return {
    'training.start': async ({ datasetId, presetId, name, overrides }) => {
      if (engine.current().run) throw conflict(`run "${engine.current().run?.name}" is training; stop it before starting another`);
      let config;
      try {
        findPreset(presetId);
        config = resolveConfig(presetId, overrides);
      } catch (error) {
        if (error instanceof ConfigError) throw badRequest(error.message);
        throw error;
      }
      const dataset = await datasets.get(datasetId);
      if (config.resolution > dataset.resolution) {
        throw badRequest(`dataset "${dataset.name}" is ${dataset.resolution}×${dataset.resolution}; it cannot train at ${config.resolution}×${config.resolution}. Re-import it at ${config.resolution} or choose a smaller resolution.`);
      }
      const backend = await engine.start();
      const run = await runs.create({
        name: name ?? `${presetId} on ${dataset.name}`,
        config,
        datasetId: dataset.id,
        datasetName: dataset.name,
        backend: backend.name,
      });
      await engine.train(run, config, { file: datasets.imagesFile(dataset.id), resolution: dataset.resolution, count: dataset.count });
      return { runId: run.id };
    },
    'training.pause': async ({ runId }) => ({ state: await engine.pause(runId) }),
    'training.resume': async ({ runId }) => ({ state: await engine.resume(runId) }),
    'training.stop': async ({ runId }) => ({ state: await engine.stop(runId) }),
    'training.current': async () => engine.current(),
    'export.samples': async ({ runId, snapshotId, seeds, grid, outDir }) => {
      await runs.summary(runId); // not_found for an unknown run, before the engine is involved
      const target = outDir ? path.resolve(outDir) : runs.exportDir(runId, snapshotId);
      const result = await engine.exportSamples({ runsRoot: runs.root, runId, snapshotId, seeds, grid, outDir: target });
      return {
        outDir: result.outDir,
        files: result.files,
        gridFile: result.gridFile,
        grid: result.gridPng ? `data:image/png;base64,${result.gridPng}` : null,
      };
    },
  };
}
