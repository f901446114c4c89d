/**
 * Long dataset jobs (imports, builds, exports): each gets an id at once, runs in the background, reports
 * throttled progress with a rate and an ETA per phase, and can be cancelled. One job per dataset at a
 * time, so an import and a build never write the same curation at once.
 */
import { randomBytes } from 'node:crypto';
import type { CurationInfo, DatasetInfo, DatasetJob } from '../../shared/contract.ts';
import { conflict, messageOf } from '../errors.ts';

export type JobKind = DatasetJob['kind'];

export interface JobContext {
  signal: AbortSignal;
  /** A new phase of `total` steps (0 when unknown yet); rate and ETA restart with it. */
  phase(name: string, total: number): void;
  progress(done: number, current?: string | null): void;
}

export interface JobOutcome {
  message: string;
  curation?: CurationInfo;
  dataset?: DatasetInfo;
  file?: string;
}

/** 'running' events at most this often: a smooth bar without flooding the IPC. */
const EMIT_INTERVAL_MS = 100;
/** No ETA before this much of a phase has run: the first files are not representative. */
const ETA_WARMUP_MS = 500;

interface Running {
  controller: AbortController;
  datasetId: string;
  finished: Promise<DatasetJob>;
}

export class DatasetJobs {
  private readonly running = new Map<string, Running>();

  constructor(private readonly emit: (job: DatasetJob) => void) {}

  /** The job running on `datasetId`, if any. */
  runningFor(datasetId: string): string | null {
    for (const [jobId, job] of this.running) if (job.datasetId === datasetId) return jobId;
    return null;
  }

  start(kind: JobKind, datasetId: string, work: (ctx: JobContext) => Promise<JobOutcome>): string {
    const busy = this.runningFor(datasetId);
    if (busy) throw conflict(`dataset ${datasetId} is busy with job ${busy}; wait for it or cancel it first`);
    const jobId = `${kind}-${randomBytes(6).toString('hex')}`;
    const controller = new AbortController();
    let state: DatasetJob = {
      jobId,
      kind,
      datasetId,
      state: 'running',
      phase: 'Starting',
      done: 0,
      total: 0,
      etaSec: null,
      perSec: null,
      current: null,
      message: null,
      curation: null,
      dataset: null,
      file: null,
    };
    let phaseStart = Date.now();
    let lastEmit = 0;
    const send = (force: boolean): void => {
      const now = Date.now();
      if (!force && now - lastEmit < EMIT_INTERVAL_MS) return;
      lastEmit = now;
      this.emit(state);
    };
    const ctx: JobContext = {
      signal: controller.signal,
      phase: (name, total) => {
        phaseStart = Date.now();
        state = { ...state, phase: name, done: 0, total, etaSec: null, perSec: null, current: null };
        send(true);
      },
      progress: (done, current = null) => {
        const elapsed = Date.now() - phaseStart;
        const perSec = elapsed > 0 && done > 0 ? (done * 1000) / elapsed : null;
        const etaSec = perSec && elapsed >= ETA_WARMUP_MS && state.total > 0 ? Math.max(0, (state.total - done) / perSec) : null;
        state = { ...state, done, current, perSec, etaSec };
        send(false);
      },
    };
    const finished = new Promise<DatasetJob>((resolve) => {
      // After this call has returned the jobId, so a UI knows it before the first event.
      setImmediate(() => {
        work(ctx).then(
          (outcome) => {
            state = {
              ...state,
              state: 'done',
              done: state.total,
              etaSec: 0,
              current: null,
              message: outcome.message,
              curation: outcome.curation ?? null,
              dataset: outcome.dataset ?? null,
              file: outcome.file ?? null,
            };
          },
          (error: unknown) => {
            const cancelled = controller.signal.aborted;
            state = { ...state, state: cancelled ? 'cancelled' : 'failed', etaSec: null, message: cancelled ? 'cancelled; nothing was changed' : messageOf(error) };
            if (!cancelled && !(error instanceof Error && error.name === 'StudioError')) console.error(`[datasets] ${kind} ${datasetId} failed:`, error);
          },
        ).finally(() => {
          this.running.delete(jobId);
          send(true);
          resolve(state);
        });
      });
    });
    this.running.set(jobId, { controller, datasetId, finished });
    return jobId;
  }

  cancel(jobId: string): boolean {
    const job = this.running.get(jobId);
    if (!job) return false;
    job.controller.abort();
    return true;
  }

  /** The final state of a job that is still running (for the CLI and tests); null if unknown. */
  wait(jobId: string): Promise<DatasetJob> | null {
    return this.running.get(jobId)?.finished ?? null;
  }
}
