/**
 * `npm run train`: the same engine and run directories as the studio, from a terminal.
 *
 *   npm run train -- --data <folder|builtin:emoji|dataset-id> --preset <id> [--out <runs dir>] [--kimg N]
 *                    [--name <text>] [--seed N] [--batch N] [--set <key>=<value> ...] [--library <dir>]
 *   npm run train -- --resume <run dir>          continue a run from its newest valid checkpoint
 *   npm run train -- --list-presets
 *
 * Exit codes (for scripts): 0 finished, 1 training or engine failed, 2 bad arguments or data,
 * 130 interrupted (Ctrl-C stops the run after a final snapshot).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { IpcRequestError, createClient, type StudioClient } from '../../shared/client.ts';
import type { EventPayload } from '../../shared/contract.ts';
import { TrainingOverrides, listPresets, resolveConfig } from '../../shared/presets.ts';
import { BUILTIN_ID } from '../data/builtinEmoji.ts';
import { messageOf } from '../errors.ts';
import { createStudio, localBridge, type Studio } from '../studio.ts';

const USAGE = `Usage:
  npm run train -- --data <folder|builtin:emoji|dataset-id> --preset <id> [--out <runs dir>] [--kimg N]
                   [--name <text>] [--seed N] [--batch N] [--set <key>=<value> ...] [--library <dir>]
  npm run train -- --resume <run dir>
  npm run train -- --list-presets

  --set overrides any hyperparameter of the preset, e.g. --set gradClip=true --set nCritic=2
  (the keys are those --list-presets prints; the Train view edits the same values).`;

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

class UsageError extends Error {}

interface ResumeArgs {
  resume: string;
  library: string | undefined;
}

interface TrainArgs {
  data: string;
  preset: string;
  out: string | undefined;
  library: string | undefined;
  name: string | undefined;
  overrides: TrainingOverrides;
}

function positiveNumber(flag: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`--${flag} must be a positive ${integer ? 'integer' : 'number'}, not "${value}"`);
  return n;
}

/** The value as typed: true/false and numbers as such, anything else a string (e.g. optimizer=rmsprop). */
function typedValue(text: string): unknown {
  if (text === 'true' || text === 'false') return text === 'true';
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

/**
 * `--set key=value ...` as overrides, validated by the same schema as the studio's Train view and the
 * `training.start` channel, so a wrong key or value is a usage error naming it before anything starts.
 */
function parseSets(sets: string[], fromFlags: TrainingOverrides): TrainingOverrides {
  const raw: Record<string, unknown> = {};
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set wants <key>=<value>, not "${set}"`);
    const key = set.slice(0, eq).trim();
    if (key in raw) throw new UsageError(`--set ${key} is given twice`);
    if (key in fromFlags) throw new UsageError(`--set ${key} repeats a value its own flag already sets (--kimg, --batch or --seed)`);
    raw[key] = typedValue(set.slice(eq + 1).trim());
  }
  const parsed = TrainingOverrides.safeParse(raw);
  if (parsed.success) return parsed.data;
  const keys = Object.keys(TrainingOverrides.shape);
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') return `--set ${issue.keys.join(', ')}: no such setting (the settings: ${keys.join(', ')})`;
    const key = String(issue.path[0] ?? '');
    return `--set ${key}=${String(raw[key])}: ${issue.message}`;
  });
  throw new UsageError(problems.join('\n'));
}

function parse(argv: string[]): TrainArgs | ResumeArgs | 'list' | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        data: { type: 'string' },
        preset: { type: 'string' },
        out: { type: 'string' },
        library: { type: 'string' },
        name: { type: 'string' },
        kimg: { type: 'string' },
        seed: { type: 'string' },
        batch: { type: 'string' },
        set: { type: 'string', multiple: true },
        resume: { type: 'string' },
        'list-presets': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(messageOf(error));
  }
  if (values.help) return 'help';
  if (values['list-presets']) return 'list';
  if (values.resume !== undefined) {
    const others = ['data', 'preset', 'out', 'name', 'kimg', 'seed', 'batch', 'set'].filter((k) => values[k as keyof typeof values] !== undefined);
    if (others.length) throw new UsageError(`--resume continues a run with its own settings; drop ${others.map((k) => `--${k}`).join(', ')} (fork it in the studio to change settings)`);
    return { resume: path.resolve(values.resume), library: values.library === undefined ? undefined : path.resolve(values.library) };
  }
  if (!values.data) throw new UsageError('--data is required');
  if (!values.preset) throw new UsageError('--preset is required (see --list-presets)');
  const overrides: TrainingOverrides = {};
  const kimg = positiveNumber('kimg', values.kimg, false);
  if (kimg !== undefined) overrides.totalKimg = kimg;
  const batch = positiveNumber('batch', values.batch, true);
  if (batch !== undefined) overrides.batchSize = batch;
  if (values.seed !== undefined) {
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, not "${values.seed}"`);
    overrides.seed = seed;
  }
  Object.assign(overrides, parseSets(values.set ?? [], overrides));
  return {
    data: values.data,
    preset: values.preset,
    out: values.out === undefined ? undefined : path.resolve(values.out),
    library: values.library === undefined ? undefined : path.resolve(values.library),
    name: values.name,
    overrides,
  };
}

function printPresets(): void {
  for (const preset of listPresets()) {
    console.log(`${preset.id}  (${preset.family}) ${preset.label}: ${preset.description}`);
    for (const [key, value] of Object.entries(preset.config)) {
      if (key === 'presetId' || key === 'family') continue;
      console.log(`    ${key.padEnd(18)} ${String(value)}`);
    }
  }
}

/** What a failed request says, with the contract's details (which field, what is wrong) below it. */
function describeFailure(error: unknown): string {
  if (error instanceof IpcRequestError && error.error.details?.length) return `${error.message}\n  ${error.error.details.join('\n  ')}`;
  return messageOf(error);
}

/** bad_request / not_found are the user's input (exit 2); anything else is a failure (exit 1). */
function exitCodeFor(error: unknown): number {
  const code = error instanceof IpcRequestError ? error.error.code : null;
  return code === 'bad_request' || code === 'not_found' ? EXIT.usage : EXIT.failed;
}

const tty = process.stdout.isTTY === true;

function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function progressLine(p: EventPayload<'training.progress'>): string {
  const fraction = Math.min(1, p.kimg / p.totalKimg);
  const width = 24;
  const filled = Math.round(fraction * width);
  const losses = Object.entries(p.losses)
    .filter(([k]) => k.startsWith('loss/'))
    .map(([k, v]) => `${k.slice(5)} ${v.toFixed(3)}`)
    .join('  ');
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(1).padStart(5)}%  step ${p.step}  kimg ${p.kimg.toFixed(2)}/${p.totalKimg}  ${p.imgPerSec.toFixed(1)} img/s  elapsed ${formatDuration(p.elapsedSec)}  ETA ${formatDuration(p.etaSec)}  ${losses}`;
}

/** Resolve --data to a dataset id: the built-in set, an existing id, or a folder to import first. */
async function resolveDataset(studio: Studio, client: StudioClient, data: string, resolution: number): Promise<string> {
  if (data === 'builtin:emoji' || data === BUILTIN_ID) return (await studio.datasets.ensureBuiltin()).id;
  const known = (await client.request('datasets.list', {})).find((d) => d.id === data);
  if (known) return known.id;
  // A dataset folder written by `npm run import -- --out <dir>`.
  if (existsSync(path.join(path.resolve(data), 'dataset.json'))) return (await studio.datasets.adoptFolder(path.resolve(data))).id;
  console.log(`Importing ${path.resolve(data)} at ${resolution}×${resolution} ...`);
  const dataset = await studio.datasets.importFolder(path.resolve(data), {
    resolution,
    onProgress: ({ done, total }) => {
      if (tty) process.stdout.write(`\r  ${done}/${total} images`);
    },
  });
  if (tty) process.stdout.write('\n');
  console.log(`  ${dataset.count} images imported as dataset ${dataset.id}${dataset.skipped.length ? `, ${dataset.skipped.length} skipped:` : ''}`);
  for (const s of dataset.skipped.slice(0, 20)) console.log(`    ${s.file}: ${s.reason}`);
  if (dataset.skipped.length > 20) console.log(`    ... and ${dataset.skipped.length - 20} more`);
  return dataset.id;
}

export async function runTrain(argv: string[]): Promise<number> {
  let args: TrainArgs | ResumeArgs | 'list' | 'help';
  try {
    args = parse(argv);
  } catch (error) {
    console.error(`error: ${messageOf(error)}\n${USAGE}`);
    return EXIT.usage;
  }
  if (args === 'help') {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (args === 'list') {
    printPresets();
    return EXIT.ok;
  }
  return 'resume' in args ? resumeRun(args) : startRun(args);
}

/** Start a run (or resume one) and follow it to its end with a progress bar; returns the exit code. */
async function follow(studio: Studio, client: StudioClient, begin: () => Promise<string>): Promise<number> {
  const backend = await studio.engine.start();
  console.log(`Backend: ${backend.detail}${backend.skipped.length ? `  (not used: ${backend.skipped.join('; ')})` : ''}`);

  let runId: string | null = null;
  let lastPrint = 0;
  client.on('training.progress', (p) => {
    if (tty) process.stdout.write(`\r${progressLine(p)}\x1b[K`);
    else if (Date.now() - lastPrint > 5000) {
      lastPrint = Date.now();
      console.log(progressLine(p));
    }
  });
  client.on('training.snapshot', (s) => {
    if (!tty) console.log(`snapshot ${s.snapshot.id} (kimg ${s.snapshot.kimg.toFixed(2)})`);
  });
  client.on('training.alert', (a) => {
    if (tty) process.stdout.write('\n');
    console.log(`${a.level} at step ${a.step}: ${a.message}`);
  });
  const finished = new Promise<EventPayload<'training.state'>>((resolve) => {
    client.on('training.state', (s) => {
      if (s.runId === runId && ['finished', 'stopped', 'failed'].includes(s.state)) resolve(s);
    });
  });

  try {
    runId = await begin();
  } catch (error) {
    console.error(`error: ${describeFailure(error)}`);
    return exitCodeFor(error);
  }
  const id = runId;
  const runDir = studio.runs.dir(id);
  console.log(`Run ${id}\n  ${runDir}`);

  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    if (tty) process.stdout.write('\n');
    console.log('Stopping after a final snapshot (Ctrl-C again to abandon it) ...');
    process.once('SIGINT', () => process.exit(EXIT.interrupted));
    void client.request('training.stop', { runId: id }).catch(() => undefined);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const outcome = await finished;
  if (tty) process.stdout.write('\n');
  const snapshots = await studio.runs.listSnapshots(id);
  const last = snapshots[snapshots.length - 1];
  console.log(`${outcome.state}${outcome.message ? `: ${outcome.message}` : ''}`);
  if (last) console.log(`  newest snapshot: ${path.join(runDir, 'snapshots', last.id)}`);
  if (outcome.state === 'failed') return EXIT.failed;
  return interrupted ? EXIT.interrupted : EXIT.ok;
}

async function startRun(args: TrainArgs): Promise<number> {
  const studio = await createStudio({ host: 'web', libraryDir: args.library, runsDir: args.out });
  const client = createClient(localBridge(studio));
  try {
    const preset = (await client.request('presets.list', {})).find((p) => p.id === args.preset);
    if (!preset) {
      console.error(`error: unknown preset "${args.preset}"; run with --list-presets to see them`);
      return EXIT.usage;
    }
    // The settings as a whole (e.g. a value the family locks) are checked before a dataset is imported.
    try {
      resolveConfig(args.preset, args.overrides);
    } catch (error) {
      console.error(`error: ${messageOf(error)}`);
      return EXIT.usage;
    }
    let datasetId: string;
    try {
      datasetId = await resolveDataset(studio, client, args.data, args.overrides.resolution ?? preset.config.resolution);
    } catch (error) {
      console.error(`error: ${messageOf(error)}`);
      return EXIT.usage;
    }
    return await follow(studio, client, async () => (await client.request('training.start', { datasetId, presetId: preset.id, name: args.name, overrides: args.overrides })).runId);
  } finally {
    await studio.close();
  }
}

/** A run directory is <runs dir>/<run id>: the studio is opened on its parent, the run resumed by id. */
async function resumeRun(args: ResumeArgs): Promise<number> {
  const runId = path.basename(args.resume);
  const studio = await createStudio({ host: 'web', libraryDir: args.library, runsDir: path.dirname(args.resume) });
  const client = createClient(localBridge(studio));
  try {
    return await follow(studio, client, async () => {
      const resumed = await client.request('training.resumeRun', { runId });
      for (const note of resumed.notes) console.log(`  ${note}`);
      return resumed.runId;
    });
  } finally {
    await studio.close();
  }
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  runTrain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`error: ${messageOf(error)}`);
      process.exit(EXIT.failed);
    },
  );
}
