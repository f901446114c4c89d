/**
 * Keeps the shared state in step with the main side: the initial load, every event stream, a reload after
 * a reconnect (events sent while the link was down are gone), and the actions views call.
 */
import type { DatasetInfo, RunSummary, TrainingProgress } from '../../../shared/contract.ts';
import { client, onReconnect } from './api.ts';
import { describeError } from './errors.ts';
import { LiveRun, studio } from './stores.svelte.ts';
import { startCurateSync } from './curateState.svelte.ts';

export async function refreshInfo(): Promise<void> {
  const info = await client.request('app.info', {});
  studio.info = info;
  if (info.backend) studio.backend = info.backend;
}

export async function refreshDatasets(): Promise<void> {
  studio.datasets = await client.request('datasets.list', {});
  studio.datasetsLoaded = true;
  if (!studio.trainDatasetId || !studio.datasets.some((d) => d.id === studio.trainDatasetId)) {
    studio.trainDatasetId = studio.datasets[0]?.id ?? null;
  }
}

/** A deleted run leaves every view: the list, the comparison, the open detail, the live panel, its alerts. */
export function forgetRun(runId: string): void {
  studio.runs = studio.runs.filter((r) => r.id !== runId);
  studio.compareIds = studio.compareIds.filter((id) => id !== runId);
  if (studio.selectedRunId === runId) studio.selectedRunId = null;
  if (studio.live?.runId === runId) studio.live = null;
  studio.alerts = studio.alerts.filter((a) => a.runId !== runId);
}

export async function refreshRuns(): Promise<void> {
  studio.runs = await client.request('runs.list', {});
  studio.runsLoaded = true;
}

function upsertDataset(dataset: DatasetInfo): void {
  const others = studio.datasets.filter((d) => d.id !== dataset.id);
  studio.datasets = [...others, dataset];
  studio.trainDatasetId ??= dataset.id;
}

function patchRun(runId: string, patch: Partial<RunSummary>): boolean {
  let found = false;
  studio.runs = studio.runs.map((r) => {
    if (r.id !== runId) return r;
    found = true;
    return { ...r, ...patch };
  });
  return found;
}

/**
 * The LiveRun an event for `runId` belongs to. A run nobody is watching is adopted unless the Train view is
 * following another active run (only one trains at a time, so that is rare: e.g. a second window).
 */
function liveFor(runId: string): LiveRun | null {
  const live = studio.live;
  if (live?.runId === runId) return live;
  if (live?.active) return null;
  return watchRun(runId);
}

/** Follow `runId` in the Train view, loading its history so the chart is complete. */
export function watchRun(runId: string): LiveRun {
  if (studio.live?.runId === runId) return studio.live;
  const live = new LiveRun(runId);
  studio.live = live;
  void loadRunHistory(live);
  return live;
}

/** `trustSummary`: the stored state wins over earlier events (after a reconnect, when some were missed). */
async function loadRunHistory(live: LiveRun, trustSummary = false): Promise<void> {
  try {
    const { summary, config, stats } = await client.request('runs.get', { runId: live.runId });
    live.summary = summary;
    live.config = config;
    if (trustSummary || live.stateSeq === 0) {
      live.state = summary.state;
      live.message = summary.message;
    }
    live.loadStats(stats);
    const last = stats.at(-1);
    // Numbers to show before the next tick (or for good, on a finished run).
    live.progress ??= {
      runId: live.runId,
      step: summary.step,
      kimg: summary.kimg,
      totalKimg: summary.totalKimg,
      imgPerSec: last?.imgPerSec ?? 0,
      elapsedSec: last?.elapsedSec ?? 0,
      etaSec: null,
      losses: last?.losses ?? {},
    };
    if (!live.sample) await showLatestSnapshot(live);
  } catch (error) {
    live.message ??= `Could not load the run's history: ${describeError(error).message}`;
  }
}

/** After a reload there is no live sample yet; the newest snapshot's grid is the best stand-in. */
async function showLatestSnapshot(live: LiveRun): Promise<void> {
  const snapshots = await client.request('runs.snapshots', { runId: live.runId });
  const latest = snapshots.at(-1);
  if (!latest) return;
  const { image } = await client.request('runs.image', { runId: live.runId, image: { snapshot: latest.id } });
  live.sample ??= { step: latest.step, kimg: latest.kimg, image, fromSnapshot: true };
}

/** Open a run (any state) in the Train view. */
export function openInTrain(runId: string): void {
  watchRun(runId);
  studio.view = 'train';
}

async function refreshCurrent(): Promise<void> {
  const { run, progress } = await client.request('training.current', {});
  if (!run) {
    // The watched run may have ended while the link was down.
    if (studio.live?.active) void loadRunHistory(studio.live, true);
    return;
  }
  const live = liveFor(run.id) ?? watchRun(run.id);
  live.summary = run;
  live.state = run.state;
  live.message = run.message;
  if (progress) applyProgress(live, progress);
}

function applyProgress(live: LiveRun, p: TrainingProgress): void {
  live.progress = p;
  live.addTick({ step: p.step, kimg: p.kimg, losses: p.losses });
  if (live.state === 'starting') live.state = 'running';
}

/** Everything one page load needs; also run after a reconnect. */
async function loadAll(): Promise<void> {
  try {
    await refreshInfo();
    const [presets] = await Promise.all([client.request('presets.list', {}), refreshDatasets(), refreshRuns()]);
    studio.presets = presets;
    await refreshCurrent();
    studio.loadError = null;
  } catch (error) {
    // The connection notice covers transport failures; this is for the main side refusing a request.
    studio.loadError = describeError(error).message;
  }
}

const MAX_ALERTS = 50;
let alertSeq = 0;

/** Subscribe to every event stream and load the initial state. Returns a function that undoes it. */
export function startSync(): () => void {
  const offs = [
    client.on('engine.status', (status) => {
      studio.engine = status;
      if (status.backend) studio.backend = status.backend;
    }),
    client.on('datasets.importProgress', (p) => {
      studio.imports = { ...studio.imports, [p.importId]: p };
      if (p.state === 'done' && p.dataset) upsertDataset(p.dataset);
    }),
    client.on('training.progress', (p) => {
      patchRun(p.runId, { step: p.step, kimg: p.kimg, totalKimg: p.totalKimg, trainingSec: p.elapsedSec });
      const live = liveFor(p.runId);
      if (live) applyProgress(live, p);
    }),
    client.on('training.sample', (s) => {
      const live = liveFor(s.runId);
      if (live) live.sample = { step: s.step, kimg: s.kimg, image: s.image, fromSnapshot: false };
    }),
    client.on('training.state', (s) => {
      // A run we have not listed yet (just started): fetch the list to get its summary.
      if (!patchRun(s.runId, { state: s.state, message: s.message })) void refreshRuns().catch(() => undefined);
      const live = liveFor(s.runId);
      if (live) {
        live.state = s.state;
        live.message = s.message;
        live.stateSeq++;
      }
    }),
    client.on('runs.changed', ({ runId, summary }) => {
      // Renamed, tagged, archived or deleted, perhaps in another window.
      if (summary === null) forgetRun(runId);
      else if (!patchRun(runId, summary)) void refreshRuns().catch(() => undefined);
    }),
    client.on('training.alert', (a) => {
      // Kept until dismissed; a run stuck in a loop of alerts must not grow the list without bound.
      studio.alerts = [...studio.alerts, { ...a, id: ++alertSeq, receivedAt: new Date().toISOString() }].slice(-MAX_ALERTS);
    }),
  ];
  offs.push(onReconnect(() => void loadAll()));
  offs.push(startCurateSync());
  void loadAll();
  return () => offs.forEach((off) => off());
}
