/**
 * The curation side of a library in one object, shared by the `datasets.*` handlers and `npm run import`:
 * the curation store, the running jobs, browser uploads, and the operations that start jobs (import,
 * build, export) after checking their inputs, so a wrong path or a busy dataset is answered at once.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { CurationInfo, CurationSettings, CurationSummary, DatasetJob } from '../../shared/contract.ts';
import { conflict } from '../errors.ts';
import { buildCuration, type BuildTarget } from './curationBuild.ts';
import { initialSettings, resolveSources, runImport, type ImportOptions } from './curationImport.ts';
import { CurationStore } from './curationStore.ts';
import { DatasetJobs } from './datasetJobs.ts';
import { newDatasetId, type DatasetStore } from './datasetStore.ts';
import { exportStylegan } from './styleganExport.ts';
import { UploadStore } from './uploadStore.ts';

export interface ImportRequest {
  sources: string[];
  name?: string;
  /** Import again into this curation (only changed files are read). */
  datasetId?: string;
  /** The id for a new curation (default: made from the name). */
  newId?: string;
  settings?: Partial<CurationSettings>;
}

/** "120 files: 97 included, 23 excluded (3 corrupt, 12 duplicate, ...)" */
export function summaryLine(s: CurationSummary): string {
  const counts = Object.entries(s.counts)
    .filter(([, n]) => n > 0)
    .map(([check, n]) => `${n} ${check}`)
    .join(', ');
  return `${s.total} files: ${s.included} included, ${s.excluded} excluded${counts ? ` (${counts})` : ''}`;
}

export class Curator {
  readonly curations: CurationStore;
  readonly jobs: DatasetJobs;
  readonly uploads: UploadStore;
  readonly libraryDir: string;
  private readonly kinds = new Map<string, DatasetJob['kind']>();

  constructor(
    readonly datasets: DatasetStore,
    onJob: (job: DatasetJob) => void = () => undefined,
    private readonly importOptions: ImportOptions = {},
  ) {
    this.libraryDir = path.dirname(datasets.dir);
    this.jobs = new DatasetJobs((job) => {
      if (job.state !== 'running') this.kinds.delete(job.jobId);
      onJob(job);
    });
    const datasetExists = (id: string): Promise<boolean> =>
      stat(path.join(datasets.dir, id, 'dataset.json')).then(
        () => true,
        () => false,
      );
    this.curations = new CurationStore(path.join(this.libraryDir, 'curation'), datasetExists, (id) => this.jobs.runningFor(id));
    this.uploads = new UploadStore(path.join(this.libraryDir, 'uploads'));
  }

  /** Edits would be overwritten by an import that is committing: refused while one runs. */
  assertNotImporting(datasetId: string): void {
    const jobId = this.jobs.runningFor(datasetId);
    if (jobId && this.kinds.get(jobId) === 'import') throw conflict(`dataset ${datasetId} is being imported (job ${jobId}); wait for it or cancel it`);
  }

  private async freshId(name: string): Promise<string> {
    for (;;) {
      const id = newDatasetId(name);
      const taken = await Promise.all([this.curations.exists(id), stat(path.join(this.datasets.dir, id)).then(() => true, () => false)]);
      if (!taken.some(Boolean)) return id;
    }
  }

  async startImport(request: ImportRequest): Promise<{ jobId: string; datasetId: string }> {
    const sources = await resolveSources(request.sources, this.uploads.dir);
    const existing = request.datasetId ? await this.curations.load(request.datasetId) : null;
    const first = sources[0]?.path ?? 'dataset';
    const name = request.name?.trim() || existing?.edits.name || path.basename(first).replace(/\.zip$/i, '') || 'dataset';
    if (!existing && request.newId && (await this.curations.exists(request.newId))) throw conflict(`a curation ${request.newId} exists already`);
    const datasetId = existing?.id ?? request.newId ?? (await this.freshId(name));
    const settings = existing ? { ...existing.edits.settings, ...(request.settings ?? {}) } : initialSettings(request.settings);
    const jobId = this.jobs.start('import', datasetId, async (ctx) => {
      const curation = await runImport(this.curations, { id: datasetId, name, sources, settings, existing }, ctx, this.importOptions);
      const info = await this.curations.info(curation);
      const reused = curation.manifest.lastImport?.reused ? `, ${curation.manifest.lastImport.reused} unchanged files reused` : '';
      return { message: `${summaryLine(info.summary)}${reused}`, curation: { ...info, jobId: null } };
    });
    this.kinds.set(jobId, 'import');
    return { jobId, datasetId };
  }

  async startBuild(datasetId: string, target?: BuildTarget): Promise<{ jobId: string }> {
    const curation = await this.curations.load(datasetId);
    this.assertNotImporting(datasetId);
    const jobId = this.jobs.start('build', datasetId, async (ctx) => {
      const dataset = await buildCuration(this.curations, curation, target ?? { store: this.datasets, id: datasetId }, ctx);
      return { message: `built ${dataset.count} images at ${dataset.resolution}×${dataset.resolution}`, dataset };
    });
    this.kinds.set(jobId, 'build');
    return { jobId };
  }

  async startExport(datasetId: string, outFile?: string): Promise<{ jobId: string; file: string }> {
    await this.datasets.get(datasetId); // not_found now, not in a failed job
    const file = path.resolve(outFile ?? path.join(this.libraryDir, 'exports', `${datasetId}-stylegan2-ada.zip`));
    const jobId = this.jobs.start('export', datasetId, async (ctx) => {
      const result = await exportStylegan(this.datasets, datasetId, file, ctx);
      return { message: `wrote ${result.count} images to ${result.file}`, file: result.file };
    });
    this.kinds.set(jobId, 'export');
    return { jobId, file };
  }

  async info(datasetId: string): Promise<CurationInfo> {
    return this.curations.info(await this.curations.load(datasetId));
  }
}
