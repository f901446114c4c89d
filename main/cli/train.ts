/**
 * `npm run train`: the same engine and run directories as the studio, from a terminal.
 *
 *   npm run train -- --data <folder|builtin:emoji|dataset-id> --preset <id> [--out <runs dir>] [--kimg N]
 *                    [--name <text>] [--seed N] [--batch N] [--library <dir>]
 *   npm run train -- --resume <run dir>          continue a run from its newest valid checkpoint
 *   npm run train -- --list-presets
 *
 * Exit codes (for scripts): 0 finished, 1 training or engine failed, 2 bad arguments or data,
 * 130 interrupted (Ctrl-C stops the run after a final snapshot).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { EventPayload, RequestChannel, Params, Result } from '../../shared/contract.ts';
import { listPresets, type TrainingOverrides } from '../../shared/presets.ts';
import { BUILTIN_ID } from '../data/builtinEmoji.ts';
import { messageOf } from '../errors.ts';
import { createStudio, type Studio } from '../studio.ts';

const USAGE = `Usage:
  npm run train -- --data <folder|builtin:emoji|dataset-id> --preset <id> [--out <runs dir>] [--kimg N]
                   [--name <text>] [--seed N] [--batch N] [--library <dir>]
  npm run train -- --resume <run dir>
  npm run train -- --list-presets`;

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
    const others = ['data', 'preset', 'out', 'name', 'kimg', 'seed', 'batch'].filter((k) => values[k as keyof typeof values] !== undefined);
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

/** Call a channel of the studio; a typed error becomes an exception with the contract's message. */
async function call<C extends RequestChannel>(studio: Studio, channel: C, params: Params<C>): Promise<Result<C>> {
  const body = await studio.dispatch(channel, params);
  if (!body.ok) {
    const details = body.error.details?.length ? `\n  ${body.error.details.join('\n  ')}` : '';
    const error = new Error(`${body.error.message}${details}`);
    (error as Error & { code?: string }).code = body.error.code;
    throw error;
  }
  return body.result as Result<C>;
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
async function resolveDataset(studio: Studio, data: string, resolution: number): Promise<string> {
  if (data === 'builtin:emoji' || data === BUILTIN_ID) return (await studio.datasets.ensureBuiltin()).id;
  const known = (await call(studio, 'datasets.list', {})).find((d) => d.id === data);
  if (known) return known.id;
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
async function follow(studio: Studio, begin: () => Promise<string>): Promise<number> {
  const backend = await studio.engine.start();
  console.log(`Backend: ${backend.detail}${backend.skipped.length ? `  (not used: ${backend.skipped.join('; ')})` : ''}`);

  let runId: string | null = null;
  const finished = new Promise<EventPayload<'training.state'>>((resolve) => {
    let lastPrint = 0;
    studio.events.subscribe((channel, payload) => {
      if (channel === 'training.progress') {
        const p = payload as EventPayload<'training.progress'>;
        if (tty) process.stdout.write(`\r${progressLine(p)}\x1b[K`);
        else if (Date.now() - lastPrint > 5000) {
          lastPrint = Date.now();
          console.log(progressLine(p));
        }
      } else if (channel === 'training.snapshot' && !tty) {
        const s = payload as EventPayload<'training.snapshot'>;
        console.log(`snapshot ${s.snapshot.id} (kimg ${s.snapshot.kimg.toFixed(2)})`);
      } else if (channel === 'training.alert') {
        const a = payload as EventPayload<'training.alert'>;
        if (tty) process.stdout.write('\n');
        console.log(`${a.level} at step ${a.step}: ${a.message}`);
      } else if (channel === 'training.state') {
        const s = payload as EventPayload<'training.state'>;
        if (s.runId === runId && ['finished', 'stopped', 'failed'].includes(s.state)) resolve(s);
      }
    });
  });

  try {
    runId = await begin();
  } catch (error) {
    console.error(`error: ${messageOf(error)}`);
    return (error as { code?: string }).code === 'bad_request' || (error as { code?: string }).code === 'not_found' ? EXIT.usage : EXIT.failed;
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
    void call(studio, 'training.stop', { runId: id }).catch(() => undefined);
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
  try {
    const preset = (await call(studio, 'presets.list', {})).find((p) => p.id === args.preset);
    if (!preset) {
      console.error(`error: unknown preset "${args.preset}"; run with --list-presets to see them`);
      return EXIT.usage;
    }
    let datasetId: string;
    try {
      datasetId = await resolveDataset(studio, args.data, args.overrides.resolution ?? preset.config.resolution);
    } catch (error) {
      console.error(`error: ${messageOf(error)}`);
      return EXIT.usage;
    }
    return await follow(studio, async () => (await call(studio, 'training.start', { datasetId, presetId: preset.id, name: args.name, overrides: args.overrides })).runId);
  } finally {
    await studio.close();
  }
}

/** A run directory is <runs dir>/<run id>: the studio is opened on its parent, the run resumed by id. */
async function resumeRun(args: ResumeArgs): Promise<number> {
  const runId = path.basename(args.resume);
  const studio = await createStudio({ host: 'web', libraryDir: args.library, runsDir: path.dirname(args.resume) });
  try {
    return await follow(studio, async () => {
      const resumed = await call(studio, 'training.resumeRun', { runId });
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
