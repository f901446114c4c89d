/**
 * What the Runs, Compare and checkpoint views do to runs: rename, tag, archive, delete, resume and fork.
 * Each action calls its channel and puts the answer into the shared state, so every view shows it at once;
 * other windows learn of renames and deletions from the `runs.changed` event (sync.ts).
 */
import type { Params, Result, RunSummary } from '../../../shared/contract.ts';
import { client } from './api.ts';
import { studio } from './stores.svelte.ts';
import { forgetRun, refreshRuns, watchRun } from './sync.ts';

function replaceRun(summary: RunSummary): void {
  studio.runs = studio.runs.map((r) => (r.id === summary.id ? summary : r));
}

export type RunPatch = Omit<Params<'runs.update'>, 'runId'>;

export async function updateRun(runId: string, patch: RunPatch): Promise<RunSummary> {
  const summary = await client.request('runs.update', { runId, ...patch });
  replaceRun(summary);
  if (studio.live?.runId === runId) studio.live.summary = summary;
  return summary;
}

/** Tags are kept trimmed, unique and in the order they were added. */
export function withTag(tags: readonly string[], tag: string): string[] {
  const t = tag.trim();
  return t === '' || tags.includes(t) ? [...tags] : [...tags, t];
}

export async function deleteRun(runId: string): Promise<void> {
  await client.request('runs.delete', { runId });
  forgetRun(runId);
}

/** Continue a stopped or failed run from its newest valid checkpoint; the Train view follows it. */
export async function resumeRun(runId: string): Promise<Result<'training.resumeRun'>> {
  const result = await client.request('training.resumeRun', { runId });
  watchRun(result.runId);
  return result;
}

export async function forkRun(params: Params<'training.fork'>): Promise<Result<'training.fork'>> {
  const result = await client.request('training.fork', params);
  // The training.state event of the new run usually brings it into the list first; this covers a miss.
  if (!studio.runs.some((r) => r.id === result.runId)) await refreshRuns().catch(() => undefined);
  watchRun(result.runId);
  return result;
}
