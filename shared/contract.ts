/**
 * The IPC contract between the studio's UI and its main side. Every request channel and event stream is
 * declared here once, with its payload schemas; both hosts (Electron IPC, the WebSocket `serve` host) carry
 * exactly these messages, the main side validates them at the boundary, and the renderer's client is typed
 * from them. Adding a channel means adding one entry here and one handler in `main/handlers/`.
 */
import { z } from 'zod';
import { TrainingOverrides, ResolvedConfig, PresetInfo } from './presets.ts';

// ---------- shared payload types ----------

export const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'an id of letters, digits, ".", "_" or "-"');

/** A PNG image carried inline, as a data URL (works over both transports, no file serving needed). */
export const PngDataUrl = z.string().startsWith('data:image/png;base64,');

export const BackendInfo = z.object({
  /** tfjs backend name: 'tensorflow' (tfjs-node / tfjs-node-gpu), 'wasm' or 'cpu'. */
  name: z.enum(['tensorflow', 'wasm', 'cpu']),
  /** Which package provides it, e.g. '@tensorflow/tfjs-node-gpu'. */
  package: z.string(),
  /** One human line: 'GPU: NVIDIA RTX 4090 (CUDA)', 'WebAssembly, SIMD on, 1 thread', ... */
  detail: z.string(),
  gpu: z.string().nullable(),
  /** Why better backends were not used (one line each), so users can fix their install. */
  skipped: z.array(z.string()),
});
export type BackendInfo = z.infer<typeof BackendInfo>;

/** How a picture becomes a square: cut around its centre, padded with a colour, or cut where libvips finds the most detail. */
export const CropMode = z.enum(['center', 'pad', 'attention', 'entropy']);
export type CropMode = z.infer<typeof CropMode>;

export const DatasetInfo = z.object({
  id: Id,
  name: z.string(),
  builtin: z.boolean(),
  source: z.string(),
  resolution: z.number().int(),
  count: z.number().int(),
  createdAt: z.string(),
  /** Files the import skipped, each with the reason (corrupt, not an image, ...). */
  skipped: z.array(z.object({ file: z.string(), reason: z.string() })),
  /** Class names, in label-index order, when the images are labelled (from subfolder names). */
  labels: z.array(z.string()).optional(),
  /** Some images carry a caption (from sidecar .txt files or typed in the studio). */
  hasCaptions: z.boolean().optional(),
  /** The curation asked for x-flip augmentation. */
  xflip: z.boolean().optional(),
  crop: CropMode.optional(),
  /** Built from a curation of the same id, which can be reopened, changed and rebuilt. */
  curated: z.boolean().optional(),
});
export type DatasetInfo = z.infer<typeof DatasetInfo>;

export const RunState = z.enum(['starting', 'running', 'paused', 'stopping', 'stopped', 'finished', 'failed']);
export type RunState = z.infer<typeof RunState>;

export const RunSummary = z.object({
  id: Id,
  name: z.string(),
  state: RunState,
  datasetId: Id,
  datasetName: z.string(),
  presetId: z.string(),
  family: z.string(),
  resolution: z.number().int(),
  step: z.number().int(),
  kimg: z.number(),
  totalKimg: z.number(),
  backend: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  message: z.string().nullable(),
  tags: z.array(z.string()).default([]),
  archived: z.boolean().default(false),
  /** Seconds spent training (paused time excluded). */
  trainingSec: z.number().default(0),
  /** Where a forked or transfer-learned run started from. */
  parent: z.object({ runId: Id, snapshotId: Id }).nullable().default(null),
});
export type RunSummary = z.infer<typeof RunSummary>;

/** One line of a run's stats.jsonl: the mean of each logged scalar over one tick. */
export const StatsRecord = z.object({
  step: z.number().int(),
  kimg: z.number(),
  elapsedSec: z.number(),
  imgPerSec: z.number(),
  losses: z.record(z.string(), z.number()),
  timestamp: z.string(),
  /** Engine memory (tf.memory().numBytes) at the end of the tick. */
  memoryBytes: z.number().optional(),
});
export type StatsRecord = z.infer<typeof StatsRecord>;

export const SnapshotInfo = z.object({
  /** Directory name under the run's snapshots/, e.g. 'step-00000400'. */
  id: Id,
  step: z.number().int(),
  kimg: z.number(),
  createdAt: z.string(),
  hasCheckpoint: z.boolean(),
});
export type SnapshotInfo = z.infer<typeof SnapshotInfo>;

export const TrainingProgress = z.object({
  runId: Id,
  step: z.number().int(),
  kimg: z.number(),
  totalKimg: z.number(),
  imgPerSec: z.number(),
  elapsedSec: z.number(),
  etaSec: z.number().nullable(),
  losses: z.record(z.string(), z.number()),
});
export type TrainingProgress = z.infer<typeof TrainingProgress>;

export const ErrorCode = z.enum([
  'bad_request', // the message or its params do not match the contract
  'unknown_channel',
  'unauthorized',
  'not_found',
  'conflict', // e.g. a run is already training
  'engine_failed',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const IpcError = z.object({
  code: ErrorCode,
  message: z.string(),
  /** For bad_request: where the payload is wrong, e.g. ['params.seeds.2: expected number']. */
  details: z.array(z.string()).optional(),
});
export type IpcError = z.infer<typeof IpcError>;

// ---------- request channels ----------

const Empty = z.object({}).strict();

// ---------- dataset curation: import (scan + checks) → curate → build ----------

export const Resolution = z
  .number()
  .int()
  .refine((r) => r >= 16 && r <= 1024 && (r & (r - 1)) === 0, 'a power of two from 16 to 1024');
export const HexColour = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour as #rrggbb');
/** A small image inline: thumbnails are JPEG, previews PNG. */
export const ImageDataUrl = z.string().regex(/^data:image\/(png|jpeg|webp);base64,/, 'an image data URL');

/** Everything that decides what a build produces, besides which images are in it. */
export const CurationSettings = z.object({
  resolution: Resolution,
  crop: CropMode,
  /** Fill for 'pad' and behind transparent pixels. */
  background: HexColour,
  /** Ask training to mirror images left-right (recorded on the dataset). */
  xflip: z.boolean(),
  /** Largest Hamming distance between two 64-bit perceptual hashes that still counts as a near-duplicate. */
  nearThreshold: z.number().int().min(0).max(12),
  /** Label each image with the name of its top-level subfolder (class-conditional training). */
  labelsFromFolders: z.boolean(),
});
export type CurationSettings = z.infer<typeof CurationSettings>;

/** What the import found about one file. The first five make a file unusable; the others are warnings. */
export const CheckId = z.enum([
  'unreadable',
  'corrupt',
  'not-image',
  'empty',
  'unsupported',
  'small',
  'non-square',
  'extreme-aspect',
  'duplicate',
  'near-duplicate',
  'grayscale',
  'colour',
]);
export type CheckId = z.infer<typeof CheckId>;
export const ERROR_CHECKS: readonly CheckId[] = ['unreadable', 'corrupt', 'not-image', 'empty', 'unsupported'];

export const ItemFilter = z.union([z.enum(['all', 'included', 'excluded', 'problems']), CheckId]);
export type ItemFilter = z.infer<typeof ItemFilter>;
export const ItemSort = z.enum(['name', 'size', 'similarity']);
export type ItemSort = z.infer<typeof ItemSort>;

export const CurationSummary = z.object({
  /** Files found. */
  total: z.number().int(),
  /** Files that decode as images. */
  usable: z.number().int(),
  /** Images the next build will pack. */
  included: z.number().int(),
  excluded: z.number().int(),
  /** Files per check (a file can have several). */
  counts: z.record(CheckId, z.number().int()),
  duplicateGroups: z.number().int(),
  nearDuplicateGroups: z.number().int(),
  captions: z.number().int(),
});
export type CurationSummary = z.infer<typeof CurationSummary>;

export const CurationSource = z.object({ kind: z.enum(['folder', 'zip', 'upload']), path: z.string() });
export type CurationSource = z.infer<typeof CurationSource>;

/** A dataset being curated. It shares its id with the dataset its build produces. */
export const CurationInfo = z.object({
  id: Id,
  name: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  sources: z.array(CurationSource),
  settings: CurationSettings,
  summary: CurationSummary,
  labels: z.array(z.object({ name: z.string(), count: z.number().int() })),
  /** draft: never built; built: the dataset matches the curation; stale: changed since its last build. */
  state: z.enum(['draft', 'built', 'stale']),
  builtAt: z.string().nullable(),
  /** The last import: files found, files read and analysed, files reused unchanged from before. */
  lastImport: z
    .object({ files: z.number().int(), scanned: z.number().int(), reused: z.number().int(), seconds: z.number(), notes: z.array(z.string()) })
    .nullable(),
  /** The import or build of this curation that is running now. */
  jobId: Id.nullable(),
});
export type CurationInfo = z.infer<typeof CurationInfo>;

/** The square a build cuts out, as fractions of the upright image (x, y, width, height). */
export const CropRect = z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number() });
export type CropRect = z.infer<typeof CropRect>;

export const CurationItem = z.object({
  index: z.number().int(),
  path: z.string(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  bytes: z.number().int(),
  format: z.string().nullable(),
  checks: z.array(CheckId),
  /** One line per check, e.g. 'corrupt: VipsJpeg: premature end of JPEG image'. */
  notes: z.array(z.string()),
  excluded: z.boolean(),
  /** Why it is excluded: it cannot be used, a check excludes it by default, or the user did. */
  excludedBy: z.enum(['error', 'default', 'user']).nullable(),
  /** The user's choice: true excluded, false included, null the checks' default. */
  override: z.boolean().nullable(),
  group: z
    .object({ kind: z.enum(['duplicate', 'near-duplicate']), id: z.number().int(), size: z.number().int(), kept: z.boolean() })
    .nullable(),
  label: z.string().nullable(),
  caption: z.string().nullable(),
  crop: CropRect.nullable(),
  thumb: ImageDataUrl.nullable(),
});
export type CurationItem = z.infer<typeof CurationItem>;

/** Progress of a long dataset job: an import, a build or an export. */
export const DatasetJob = z.object({
  jobId: Id,
  kind: z.enum(['import', 'build', 'export']),
  datasetId: Id,
  state: z.enum(['running', 'done', 'failed', 'cancelled']),
  phase: z.string(),
  done: z.number().int(),
  total: z.number().int(),
  etaSec: z.number().nullable(),
  perSec: z.number().nullable(),
  current: z.string().nullable(),
  message: z.string().nullable(),
  /** Set when an import is done. */
  curation: CurationInfo.nullable(),
  /** Set when a build is done. */
  dataset: DatasetInfo.nullable(),
  /** Set when an export is done: the zip written. */
  file: z.string().nullable(),
});
export type DatasetJob = z.infer<typeof DatasetJob>;

/** Browser uploads arrive in chunks of at most this many bytes (base64 makes them 4/3 larger on the wire). */
export const UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024;
export const UPLOAD_FILE_MAX_BYTES = 512 * 1024 * 1024;

const ItemTarget = z.union([
  z.object({ indices: z.array(z.number().int().min(0)).min(1).max(1_000_000) }).strict(),
  /** Every item the grid shows for this filter (and label). */
  z.object({ filter: ItemFilter, label: z.string().nullable().optional() }).strict(),
]);

const curationRequests = {
  'datasets.curations': { params: Empty, result: z.array(CurationInfo) },
  'datasets.curation': { params: z.object({ datasetId: Id }).strict(), result: CurationInfo },
  /**
   * Import folders, zip files or uploads (`upload:<uploadId>`) into a new curation, or again into an existing
   * one (`datasetId`: only changed files are read). Progress arrives as `datasets.job` events.
   */
  'datasets.scan': {
    params: z
      .object({
        sources: z.array(z.string().min(1).max(4096)).min(1).max(64),
        name: z.string().min(1).max(100).optional(),
        datasetId: Id.optional(),
        settings: CurationSettings.partial().optional(),
      })
      .strict(),
    result: z.object({ jobId: Id, datasetId: Id }),
  },
  /** One chunk of a file uploaded from a browser; the first call (no uploadId) opens an upload. */
  'datasets.upload': {
    params: z
      .object({
        uploadId: Id.optional(),
        path: z.string().min(1).max(1024),
        offset: z.number().int().min(0),
        size: z.number().int().min(0).max(UPLOAD_FILE_MAX_BYTES),
        data: z.string().max(Math.ceil(UPLOAD_CHUNK_BYTES / 3) * 4),
      })
      .strict(),
    result: z.object({ uploadId: Id, received: z.number().int() }),
  },
  /** Cancel an import, build or export by its jobId; nothing half-done is kept. */
  'datasets.cancelImport': { params: z.object({ jobId: Id }).strict(), result: z.object({ cancelled: z.boolean() }) },
  /** A page of the curation grid, filtered and sorted, with small thumbnails. */
  'datasets.items': {
    params: z
      .object({
        datasetId: Id,
        offset: z.number().int().min(0),
        limit: z.number().int().min(1).max(500).default(100),
        filter: ItemFilter.default('all'),
        sort: ItemSort.default('name'),
        label: z.string().nullable().optional(),
        thumbs: z.boolean().default(true),
      })
      .strict(),
    result: z.object({ total: z.number().int(), items: z.array(CurationItem) }),
  },
  /** Duplicate or near-duplicate groups, one kept in each. */
  'datasets.groups': {
    params: z
      .object({
        datasetId: Id,
        kind: z.enum(['duplicate', 'near-duplicate']),
        offset: z.number().int().min(0),
        limit: z.number().int().min(1).max(200).default(50),
      })
      .strict(),
    result: z.object({ total: z.number().int(), groups: z.array(z.object({ id: z.number().int(), items: z.array(CurationItem) })) }),
  },
  /** Exclude or include items (null: back to the checks' default), or set their label or caption (null: back to the file's). */
  'datasets.edit': {
    params: z
      .object({
        datasetId: Id,
        target: ItemTarget,
        exclude: z.boolean().nullable().optional(),
        label: z.string().max(100).nullable().optional(),
        caption: z.string().max(2000).nullable().optional(),
      })
      .strict(),
    result: CurationInfo,
  },
  'datasets.settings': {
    params: z.object({ datasetId: Id, name: z.string().min(1).max(100).optional(), settings: CurationSettings.partial() }).strict(),
    result: CurationInfo,
  },
  /** The final square of one image under a crop policy (default: the curation's), for a live preview. */
  'datasets.cropPreview': {
    params: z
      .object({ datasetId: Id, index: z.number().int().min(0), crop: CropMode.optional(), background: HexColour.optional(), resolution: Resolution.optional() })
      .strict(),
    result: z.object({ image: PngDataUrl, crop: CropRect.nullable() }),
  },
  /** Pack the included images into the dataset that trains. Progress as `datasets.job` events. */
  'datasets.build': { params: z.object({ datasetId: Id }).strict(), result: z.object({ jobId: Id }) },
  /** A zip in the layout of NVIDIA's stylegan2-ada-pytorch dataset_tool.py (PNGs + dataset.json labels). */
  'datasets.exportStylegan': {
    params: z.object({ datasetId: Id, outFile: z.string().min(1).optional() }).strict(),
    result: z.object({ jobId: Id }),
  },
  /** Forget a curation (its thumbnails and edits). The built dataset and the source files stay. */
  'datasets.discard': { params: z.object({ datasetId: Id }).strict(), result: z.object({ datasetId: Id }) },
} as const;

export const requests = {
  'app.info': {
    params: Empty,
    result: z.object({
      version: z.string(),
      host: z.enum(['electron', 'web']),
      libraryDir: z.string(),
      /** null until the engine process has started and chosen its backend. */
      backend: BackendInfo.nullable(),
    }),
  },
  'presets.list': {
    params: Empty,
    result: z.array(PresetInfo),
  },
  'datasets.list': {
    params: Empty,
    result: z.array(DatasetInfo),
  },
  'datasets.preview': {
    params: z.object({ datasetId: Id, count: z.number().int().min(1).max(256).default(64) }).strict(),
    result: z.object({ image: PngDataUrl }),
  },
  /** Import a folder the host can read. Progress arrives as `datasets.importProgress` events. */
  'datasets.import': {
    params: z
      .object({
        path: z.string().min(1),
        name: z.string().min(1).max(100).optional(),
        resolution: z.number().int().refine((r) => r >= 16 && r <= 1024 && (r & (r - 1)) === 0, 'a power of two from 16 to 1024'),
      })
      .strict(),
    result: z.object({ importId: Id }),
  },
  'runs.list': {
    params: Empty,
    result: z.array(RunSummary),
  },
  'runs.get': {
    params: z.object({ runId: Id }).strict(),
    result: z.object({ summary: RunSummary, config: ResolvedConfig, stats: z.array(StatsRecord) }),
  },
  /** A PNG from a run directory: 'reals' or a snapshot's sample grid. */
  'runs.image': {
    params: z.object({ runId: Id, image: z.union([z.literal('reals'), z.object({ snapshot: Id })]) }).strict(),
    result: z.object({ image: PngDataUrl }),
  },
  /** Rename, tag or archive a run (run.json only; the files of a run are never rewritten). */
  'runs.update': {
    params: z
      .object({
        runId: Id,
        name: z.string().min(1).max(100).optional(),
        tags: z.array(z.string().min(1).max(40)).max(20).optional(),
        archived: z.boolean().optional(),
      })
      .strict(),
    result: RunSummary,
  },
  /** Delete a run directory (refused while it trains). The UI asks for confirmation first. */
  'runs.delete': {
    params: z.object({ runId: Id }).strict(),
    result: z.object({ runId: Id }),
  },
  'runs.snapshots': {
    params: z.object({ runId: Id }).strict(),
    result: z.array(SnapshotInfo),
  },
  'training.start': {
    params: z
      .object({
        datasetId: Id,
        presetId: z.string(),
        name: z.string().min(1).max(100).optional(),
        overrides: TrainingOverrides.optional(),
      })
      .strict(),
    result: z.object({ runId: Id }),
  },
  /** Continue a stopped or failed run from its newest valid checkpoint, in the same run directory. */
  'training.resumeRun': {
    params: z.object({ runId: Id }).strict(),
    result: z.object({ runId: Id, fromSnapshot: Id, notes: z.array(z.string()) }),
  },
  /**
   * A new run that starts from a snapshot of another: with changed settings (fork) or on another dataset
   * (transfer learning). `notes` says what was carried over and what was reinitialised, and why.
   */
  'training.fork': {
    params: z
      .object({
        runId: Id,
        snapshotId: Id,
        name: z.string().min(1).max(100).optional(),
        datasetId: Id.optional(),
        presetId: z.string().optional(),
        overrides: TrainingOverrides.optional(),
      })
      .strict(),
    result: z.object({ runId: Id, notes: z.array(z.string()) }),
  },
  'training.pause': { params: z.object({ runId: Id }).strict(), result: z.object({ state: RunState }) },
  'training.resume': { params: z.object({ runId: Id }).strict(), result: z.object({ state: RunState }) },
  'training.stop': { params: z.object({ runId: Id }).strict(), result: z.object({ state: RunState }) },
  /** The run that is training now, if any. */
  'training.current': {
    params: Empty,
    result: z.object({ run: RunSummary.nullable(), progress: TrainingProgress.nullable() }),
  },
  /** Generate images from a snapshot: one PNG per seed and, optionally, a grid of them all. */
  'export.samples': {
    params: z
      .object({
        runId: Id,
        snapshotId: Id,
        seeds: z.array(z.number().int().min(0).max(2 ** 32 - 1)).min(1).max(1024),
        grid: z.boolean().default(true),
        /** Target folder; default: <run>/exports/<snapshot>-<time>/. */
        outDir: z.string().min(1).optional(),
      })
      .strict(),
    result: z.object({ outDir: z.string(), files: z.array(z.string()), gridFile: z.string().nullable(), grid: PngDataUrl.nullable() }),
  },
  ...curationRequests,
} as const;

// ---------- event streams (main -> renderer) ----------

export const events = {
  'training.progress': TrainingProgress,
  /** The live sample grid from fixed latents, refreshed every `sampleEvery` steps. */
  'training.sample': z.object({ runId: Id, step: z.number().int(), kimg: z.number(), image: PngDataUrl }),
  'training.state': z.object({ runId: Id, state: RunState, message: z.string().nullable() }),
  'training.snapshot': z.object({ runId: Id, snapshot: SnapshotInfo }),
  /** A run renamed, tagged, archived (its new summary) or deleted (null), so every window shows it at once. */
  'runs.changed': z.object({ runId: Id, summary: RunSummary.nullable() }),
  /** Something the user must know about a live run: a NaN rollback, a full disk, a skipped checkpoint. */
  'training.alert': z.object({
    runId: Id,
    step: z.number().int(),
    level: z.enum(['info', 'warning', 'error']),
    message: z.string(),
  }),
  'engine.status': z.object({
    state: z.enum(['starting', 'ready', 'crashed']),
    backend: BackendInfo.nullable(),
    message: z.string().nullable(),
  }),
  'datasets.importProgress': z.object({
    importId: Id,
    state: z.enum(['running', 'done', 'failed']),
    done: z.number().int(),
    total: z.number().int(),
    current: z.string().nullable(),
    message: z.string().nullable(),
    dataset: DatasetInfo.nullable(),
  }),
  /** Progress of an import, build or export started through the curation channels. */
  'datasets.job': DatasetJob,
} as const;

export type RequestChannel = keyof typeof requests;
export type EventChannel = keyof typeof events;
/** What a caller passes (defaults may be omitted). */
export type Params<C extends RequestChannel> = z.input<(typeof requests)[C]['params']>;
/** What a handler receives (defaults filled in, validated). */
export type ParsedParams<C extends RequestChannel> = z.output<(typeof requests)[C]['params']>;
export type Result<C extends RequestChannel> = z.output<(typeof requests)[C]['result']>;
export type EventPayload<E extends EventChannel> = z.output<(typeof events)[E]>;

export function isRequestChannel(channel: string): channel is RequestChannel {
  return Object.prototype.hasOwnProperty.call(requests, channel);
}
export function isEventChannel(channel: string): channel is EventChannel {
  return Object.prototype.hasOwnProperty.call(events, channel);
}

// ---------- wire envelopes (the same on both transports) ----------

export const RequestEnvelope = z.object({
  kind: z.literal('request'),
  id: z.number().int().nonnegative(),
  channel: z.string(),
  params: z.unknown(),
});
export type RequestEnvelope = z.infer<typeof RequestEnvelope>;

export const ResponseEnvelope = z.union([
  z.object({ kind: z.literal('response'), id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ kind: z.literal('response'), id: z.number().int(), ok: z.literal(false), error: IpcError }),
]);
export type ResponseEnvelope = z.infer<typeof ResponseEnvelope>;

export const EventEnvelope = z.object({ kind: z.literal('event'), channel: z.string(), payload: z.unknown() });
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** Turn a zod failure into short lines a person can act on. */
export function describeIssues(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((issue) => {
    const where = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${where}: ${issue.message}`;
  });
}
