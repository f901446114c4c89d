/**
 * The `training.*` and `export.*` channels: resolve the config, create (or reopen) the run, hand it to
 * the engine. Starting, resuming and forking differ only in how the networks start (TrainInit).
 */
import path from 'node:path';
import type { DatasetInfo, RunSummary } from '../../shared/contract.ts';
import { ConfigError, resolveConfig, resolveFork, type ResolvedConfig, type TrainingOverrides } from '../../shared/presets.ts';
import type { DatasetStore } from '../data/datasetStore.ts';
import { badRequest, conflict } from '../errors.ts';
import type { DatasetRef, TrainInit } from '../engine/protocol.ts';
import type { EngineSupervisor } from '../engine/supervisor.ts';
import type { RunStore } from '../runs/runStore.ts';
import type { Handlers } from './types.ts';

/** A config the user asked for; one that does not resolve is their bad_request, with zod's reasons. */
function configOrBadRequest(resolveIt: () => ResolvedConfig): ResolvedConfig {
  try {
    return resolveIt();
  } catch (error) {
    if (error instanceof ConfigError) throw badRequest(error.message);
    throw error;
  }
}

function resolve(presetId: string, overrides: TrainingOverrides | undefined): ResolvedConfig {
  return configOrBadRequest(() => resolveConfig(presetId, overrides));
}

function datasetRef(datasets: DatasetStore, dataset: DatasetInfo, config: ResolvedConfig): DatasetRef {
  if (config.resolution > dataset.resolution) {
    throw badRequest(
      `dataset "${dataset.name}" is ${dataset.resolution}×${dataset.resolution}; it cannot train at ${config.resolution}×${config.resolution}. Re-import it at ${config.resolution} or choose a smaller resolution.`,
    );
  }
  return { file: datasets.imagesFile(dataset.id), resolution: dataset.resolution, count: dataset.count };
}

export function trainingHandlers(ctx: {
  datasets: DatasetStore;
  runs: RunStore;
  engine: EngineSupervisor;
}): Pick<
  Handlers,
  'training.start' | 'training.resumeRun' | 'training.fork' | 'training.pause' | 'training.resume' | 'training.stop' | 'training.current' | 'export.samples'
> {
  const { datasets, runs, engine } = ctx;

  const refuseIfBusy = (): void => {
    const current = engine.current().run;
    if (current) throw conflict(`run "${current.name}" is training; stop it before starting another`);
  };

  const createAndTrain = async (
    name: string,
    config: ResolvedConfig,
    dataset: DatasetInfo,
    init: TrainInit,
    parent: RunSummary['parent'] = null,
  ): Promise<{ run: RunSummary; notes: string[] }> => {
    const ref = datasetRef(datasets, dataset, config);
    const backend = await engine.start();
    const run = await runs.create({ name, config, datasetId: dataset.id, datasetName: dataset.name, backend: backend.name, parent });
    return { run, notes: await engine.train(run, config, ref, init) };
  };

  return {
    'training.start': async ({ datasetId, presetId, name, overrides }) => {
      refuseIfBusy();
      const dataset = await datasets.get(datasetId);
      // A curated dataset's x-flip choice is the default for runs on it; the user's override wins.
      const config = resolve(presetId, { ...(dataset.xflip !== undefined ? { xflip: dataset.xflip } : {}), ...overrides });
      const { run } = await createAndTrain(name ?? `${presetId} on ${dataset.name}`, config, dataset, { kind: 'fresh' });
      return { runId: run.id };
    },

    'training.resumeRun': async ({ runId }) => {
      refuseIfBusy();
      const summary = await runs.summary(runId);
      const config = await runs.config(runId);
      if (summary.state === 'finished') {
        throw badRequest(`run "${summary.name}" finished its ${config.totalKimg} kimg; fork it with a larger totalKimg to train further`);
      }
      const dataset = await datasets.get(summary.datasetId).catch(() => {
        throw badRequest(`the dataset of run "${summary.name}" (${summary.datasetId}) is no longer in the library; fork the run onto another dataset`);
      });
      const valid = await runs.newestValidCheckpoint(runId);
      if (!valid) {
        throw badRequest(`run "${summary.name}" has no valid checkpoint to resume from; fork another run or start a new one`);
      }
      const ref = datasetRef(datasets, dataset, config);
      await runs.setState(runId, 'starting', null);
      // The engine's notes say what was restored, and whether the dataset changed since the snapshot.
      const notes = await engine.train(await runs.summary(runId), config, ref, { kind: 'resume', snapshotId: valid.snapshotId });
      return { runId, fromSnapshot: valid.snapshotId, notes: [...valid.skipped.map((s) => `skipped ${s}`), ...notes] };
    },

    'training.fork': async ({ runId, snapshotId, name, datasetId, presetId, overrides }) => {
      refuseIfBusy();
      const source = await runs.summary(runId);
      await runs.readCheckpoint(runId, snapshotId); // a missing or corrupt checkpoint is reported now, by name
      const sourceConfig = await runs.config(runId);
      const config = configOrBadRequest(() => resolveFork(sourceConfig, presetId, overrides));
      const dataset = await datasets.get(datasetId ?? source.datasetId);
      const { run, notes } = await createAndTrain(name ?? `${source.name} (fork of ${snapshotId})`, config, dataset, { kind: 'transfer', runsRoot: runs.root, runId, snapshotId }, { runId, snapshotId });
      return { runId: run.id, notes };
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
