/**
 * The composition root of the main side: the library folders, the dataset and run stores, the one engine
 * supervisor, the handlers and the event bus. Both hosts (Electron and `serve`) and the CLI create a
 * studio and only talk to it through `dispatch` and `events`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Bridge } from '../shared/client.ts';
import path from 'node:path';
import { DatasetStore } from './data/datasetStore.ts';
import { EngineSupervisor, forkEngine } from './engine/supervisor.ts';
import type { EngineSpawner } from './engine/spawner.ts';
import { appHandlers } from './handlers/app.ts';
import { datasetHandlers } from './handlers/datasets.ts';
import { createDispatcher, type Dispatch } from './handlers/dispatch.ts';
import { EventBus } from './handlers/eventBus.ts';
import { runHandlers } from './handlers/runs.ts';
import { trainingHandlers } from './handlers/training.ts';
import type { Handlers } from './handlers/types.ts';
import { libraryPaths, type LibraryPaths } from './library.ts';
import { RunStore } from './runs/runStore.ts';

export interface StudioOptions {
  libraryDir?: string;
  /** Runs somewhere other than <library>/runs (the CLI's --out). */
  runsDir?: string;
  host: 'electron' | 'web';
  spawnEngine?: EngineSpawner;
}

export interface Studio {
  dispatch: Dispatch;
  events: EventBus;
  paths: LibraryPaths;
  datasets: DatasetStore;
  runs: RunStore;
  engine: EngineSupervisor;
  close(): Promise<void>;
}

export function appVersion(): string {
  const pkg = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

export async function createStudio(options: StudioOptions): Promise<Studio> {
  const paths = libraryPaths(options.libraryDir, options.runsDir);
  const events = new EventBus();
  const datasets = new DatasetStore(paths.datasets);
  const runs = new RunStore(paths.runs);
  const engine = new EngineSupervisor(options.spawnEngine ?? forkEngine, runs, events);
  await markInterruptedRuns(runs);

  const handlers: Handlers = {
    ...appHandlers({ version: appVersion(), host: options.host, paths, engine }),
    ...datasetHandlers({ datasets, events }),
    ...runHandlers({ runs, engine, events }),
    ...trainingHandlers({ datasets, runs, engine }),
  };
  // Start the engine early, so the backend is known (and warm) by the time the user presses Start.
  engine.start().catch((error: unknown) => console.error(`[studio] ${String(error)}`));
  return {
    dispatch: createDispatcher(handlers),
    events,
    paths,
    datasets,
    runs,
    engine,
    close: () => engine.close(),
  };
}

/** The studio as a Bridge for in-process callers (the CLI, tests): they use the same typed client as the UI. */
export function localBridge(studio: Pick<Studio, 'dispatch' | 'events'>): Bridge {
  return {
    request: (channel, params) => studio.dispatch(channel, params),
    subscribe: (listener) => studio.events.subscribe(listener),
  };
}

/**
 * Runs that were live when their studio went away did not finish; say so instead of showing "running".
 * A run another live process is training (a CLI beside the studio) is left alone.
 */
async function markInterruptedRuns(runs: RunStore): Promise<void> {
  for (const run of await runs.list()) {
    if (['starting', 'running', 'paused', 'stopping'].includes(run.state) && !(await runs.ownedElsewhere(run.id))) {
      await runs.setState(run.id, 'stopped', `interrupted when the studio closed at step ${run.step}; its snapshots are kept`);
    }
  }
}
