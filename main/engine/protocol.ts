/**
 * Messages between the engine supervisor (main process) and the engine process. Both sides validate what
 * they receive, so a version skew or a bug shows up as a named error instead of undefined behaviour.
 */
import { z } from 'zod';
import { BackendInfo, Id, RunState, SnapshotInfo, TrainingProgress } from '../../shared/contract.ts';
import { ResolvedConfig } from '../../shared/presets.ts';

export const DatasetRef = z.object({
  file: z.string(),
  resolution: z.number().int(),
  count: z.number().int(),
});
export type DatasetRef = z.infer<typeof DatasetRef>;

export const ExportRequest = z.object({
  runsRoot: z.string(),
  runId: Id,
  snapshotId: Id,
  seeds: z.array(z.number().int()),
  grid: z.boolean(),
  outDir: z.string(),
});
export type ExportRequest = z.infer<typeof ExportRequest>;

export const ExportResult = z.object({
  outDir: z.string(),
  files: z.array(z.string()),
  gridFile: z.string().nullable(),
  /** base64 PNG of the grid, so the UI can show it without reading the file. */
  gridPng: z.string().nullable(),
});
export type ExportResult = z.infer<typeof ExportResult>;

/**
 * How a run's networks start: fresh; resumed exactly from one of its own snapshots (weights, optimizer
 * state, data position, RNG streams); or transferred from another run's snapshot (weights whose name and
 * shape match are copied, the rest are initialised, optimizers and counters start fresh).
 */
export const TrainInit = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fresh') }),
  z.object({ kind: z.literal('resume'), snapshotId: Id }),
  z.object({ kind: z.literal('transfer'), runsRoot: z.string(), runId: Id, snapshotId: Id }),
]);
export type TrainInit = z.infer<typeof TrainInit>;

export const ToEngine = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('train'),
    runId: Id,
    runsRoot: z.string(),
    config: ResolvedConfig,
    dataset: DatasetRef,
    init: TrainInit,
  }),
  z.object({ type: z.literal('pause') }),
  z.object({ type: z.literal('resume') }),
  z.object({ type: z.literal('stop') }),
  z.object({ type: z.literal('export'), jobId: z.number().int(), request: ExportRequest }),
  z.object({ type: z.literal('shutdown') }),
]);
export type ToEngine = z.infer<typeof ToEngine>;

export const FromEngine = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), backend: BackendInfo }),
  z.object({ type: z.literal('fatal'), message: z.string() }),
  /** The run's networks are built and loaded; `notes` says what was loaded from where. */
  z.object({ type: z.literal('started'), runId: Id, notes: z.array(z.string()) }),
  z.object({ type: z.literal('state'), runId: Id, state: RunState, message: z.string().nullable() }),
  z.object({ type: z.literal('alert'), runId: Id, step: z.number().int(), level: z.enum(['info', 'warning', 'error']), message: z.string() }),
  z.object({ type: z.literal('progress'), progress: TrainingProgress }),
  z.object({ type: z.literal('sample'), runId: Id, step: z.number().int(), kimg: z.number(), png: z.string() }),
  z.object({ type: z.literal('snapshot'), runId: Id, snapshot: SnapshotInfo }),
  z.object({ type: z.literal('exportDone'), jobId: z.number().int(), result: ExportResult }),
  z.object({ type: z.literal('exportFailed'), jobId: z.number().int(), message: z.string() }),
]);
export type FromEngine = z.infer<typeof FromEngine>;
