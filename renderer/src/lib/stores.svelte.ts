/**
 * Shared UI state, as Svelte 5 runes. Lists are `$state.raw` and replaced on change: they come whole from
 * the main side, and a deep proxy over hundreds of records would only cost time. Event handling that
 * changes this state lives in sync.ts; components read it and call the actions there.
 */
import type {
  BackendInfo,
  DatasetInfo,
  EventPayload,
  Result,
  RunState,
  RunSummary,
  StatsRecord,
  TrainingProgress,
} from '../../../shared/contract.ts';
import type { PresetInfo, ResolvedConfig } from '../../../shared/presets.ts';
import { Downsampler } from './downsample.ts';

export type View = 'datasets' | 'train' | 'runs' | 'compare';
export type AppInfo = Result<'app.info'>;
export type EngineStatus = EventPayload<'engine.status'>;
export type ImportProgress = EventPayload<'datasets.importProgress'>;
/** A `training.alert` as the Train view lists it, until the user dismisses it. */
export type RunAlert = EventPayload<'training.alert'> & { id: number; receivedAt: string };

export interface LiveSample {
  step: number;
  kimg: number;
  image: string;
  /** True when it is the last snapshot's grid, shown until the first live sample of this session arrives. */
  fromSnapshot: boolean;
}

const ACTIVE: readonly RunState[] = ['starting', 'running', 'paused', 'stopping'];
export const isActive = (state: RunState): boolean => ACTIVE.includes(state);

/** Most charts never get near it; past it, neighbouring points are averaged (see downsample.ts). */
const MAX_CHART_POINTS = 2000;

interface LossRecord {
  step: number;
  kimg: number;
  losses: Record<string, number>;
}

/** The run the Train view is watching: its numbers, loss history and latest sample. */
export class LiveRun {
  summary = $state.raw<RunSummary | null>(null);
  config = $state.raw<ResolvedConfig | null>(null);
  state = $state<RunState>('starting');
  message = $state<string | null>(null);
  progress = $state.raw<TrainingProgress | null>(null);
  sample = $state.raw<LiveSample | null>(null);
  /** Bumped whenever `series` changes; the chart redraws on it (the series itself is not reactive). */
  chartVersion = $state(0);
  /** Replaced whole on a reload of the history; appended to in place on each tick (see chartVersion). */
  series = $state.raw(new Downsampler(MAX_CHART_POINTS));
  /** Counts training.state events, so an older answer (runs.get, a pause request) cannot overwrite them. */
  stateSeq = 0;
  private records: LossRecord[] = [];

  constructor(readonly runId: string) {}

  get active(): boolean {
    return isActive(this.state);
  }

  /** One tick from a `training.progress` event. Ticks already known (from runs.get) are skipped. */
  addTick(record: LossRecord): void {
    const last = this.records.at(-1);
    if (last && record.step <= last.step) {
      // The run went back in time (a NaN rollback, a resume): its log was cut there, so is the chart.
      this.records = this.records.filter((r) => r.step < record.step);
      this.series = new Downsampler(MAX_CHART_POINTS);
      for (const r of this.records) this.series.push(r.kimg, r.losses);
    }
    this.records.push(record);
    this.series.push(record.kimg, record.losses);
    this.chartVersion++;
  }

  /** The run's recorded history (runs.get), merged with whatever live ticks arrived meanwhile. */
  loadStats(stats: readonly StatsRecord[]): void {
    const lastRecorded = stats.at(-1)?.step ?? -1;
    const newer = this.records.filter((r) => r.step > lastRecorded);
    this.records = [...stats.map((s) => ({ step: s.step, kimg: s.kimg, losses: s.losses })), ...newer];
    this.series = new Downsampler(MAX_CHART_POINTS);
    for (const r of this.records) this.series.push(r.kimg, r.losses);
    this.chartVersion++;
  }
}

class Studio {
  view = $state<View>('datasets');
  info = $state.raw<AppInfo | null>(null);
  backend = $state.raw<BackendInfo | null>(null);
  engine = $state.raw<EngineStatus | null>(null);
  datasets = $state.raw<DatasetInfo[]>([]);
  datasetsLoaded = $state(false);
  presets = $state.raw<PresetInfo[]>([]);
  runs = $state.raw<RunSummary[]>([]);
  runsLoaded = $state(false);
  /** Latest progress of every import this session, by importId (events may beat the request's answer). */
  imports = $state.raw<Record<string, ImportProgress>>({});
  /** The dataset chosen in the Train view (also set by a dataset card's "Train on this"). */
  trainDatasetId = $state<string | null>(null);
  selectedRunId = $state<string | null>(null);
  live = $state.raw<LiveRun | null>(null);
  /** Runs ticked in the Runs table, in the order they were ticked: what the Compare view shows. */
  compareIds = $state.raw<string[]>([]);
  /** Alerts of this session (NaN rollback, disk full, skipped checkpoint), newest last, until dismissed. */
  alerts = $state.raw<RunAlert[]>([]);
  /** A failed initial load, shown in place of the view that needed it. */
  loadError = $state<string | null>(null);
}

export const studio = new Studio();
