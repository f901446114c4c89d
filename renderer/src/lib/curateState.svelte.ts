/**
 * Curation state shared by the Datasets view's parts: the library's curations, the dataset jobs of this
 * session (imports, builds, exports) as their events arrive, and which curation is open. Started once
 * from sync.ts, so a job's end is seen even while another view is showing.
 */
import type { CurationInfo, DatasetJob } from '../../../shared/contract.ts';
import { client, onReconnect } from './api.ts';
import { describeError } from './errors.ts';
import { refreshDatasets } from './sync.ts';

class CurateState {
  curations = $state.raw<CurationInfo[]>([]);
  loaded = $state(false);
  loadError = $state<string | null>(null);
  /** Latest state of every job of this session, by jobId (events may beat the request's answer). */
  jobs = $state.raw<Record<string, DatasetJob>>({});
  /** The curation open in the Datasets view, or null for the overview. */
  open = $state<string | null>(null);
  /** Bumped when a curation changed on the main side (an import or build finished): views refetch. */
  version = $state(0);
}

export const curate = new CurateState();

export async function refreshCurations(): Promise<void> {
  try {
    curate.curations = await client.request('datasets.curations', {});
    curate.loaded = true;
    curate.loadError = null;
  } catch (error) {
    curate.loadError = describeError(error).message;
  }
}

/** Replace one curation in the list (after an edit, settings change or a finished job). */
export function upsertCuration(info: CurationInfo): void {
  curate.curations = [info, ...curate.curations.filter((c) => c.id !== info.id)].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** The running or last job of a kind for a dataset, if this session saw one. */
export function jobFor(datasetId: string, kind?: DatasetJob['kind']): DatasetJob | null {
  let found: DatasetJob | null = null;
  for (const job of Object.values(curate.jobs)) {
    if (job.datasetId === datasetId && (!kind || job.kind === kind)) found = job;
  }
  return found;
}

export function startCurateSync(): () => void {
  const off = client.on('datasets.job', (job) => {
    curate.jobs = { ...curate.jobs, [job.jobId]: job };
    if (job.state === 'running') return;
    if (job.curation) upsertCuration(job.curation);
    curate.version++;
    if (job.kind === 'build' && job.state === 'done') void refreshDatasets().catch(() => undefined);
    void refreshCurations();
  });
  const offReconnect = onReconnect(() => void refreshCurations());
  void refreshCurations();
  return () => {
    off();
    offReconnect();
  };
}
