/**
 * `npm run import`: the studio's import, checks and build, from a terminal.
 *
 *   npm run import -- <folder|zip>... --resolution <N> [--out <dataset dir|library>] [--crop center|pad|attention|entropy]
 *                     [--background #rrggbb] [--name <text>] [--near-threshold N] [--xflip] [--no-labels]
 *                     [--keep-duplicates] [--export-stylegan <file.zip>] [--all] [--library <dir>]
 *
 * Without --out the dataset goes into the library and trains by its id; with --out <dir> it is written to
 * that folder (and linked into the library), and `npm run train -- --data <dir>` takes the folder itself.
 * Importing the same sources again reads only the files that changed. Exit codes (for scripts): 0 built,
 * 1 failed, 2 bad arguments or no usable images, 130 interrupted.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CheckId, CropMode, CurationSettings, Id, type CurationSettings as Settings, type DatasetJob } from '../../shared/contract.ts';
import { checkNote } from '../data/checks.ts';
import { displayPath, type ScanRecord } from '../data/curationManifest.ts';
import { selectItems } from '../data/curationQuery.ts';
import { Curator, summaryLine } from '../data/curator.ts';
import { DatasetStore } from '../data/datasetStore.ts';
import { StudioError, messageOf } from '../errors.ts';
import { libraryPaths } from '../library.ts';

const USAGE = `Usage:
  npm run import -- <folder|zip>... --resolution <N> [--out <dataset dir|library>]
                    [--crop center|pad|attention|entropy] [--background #rrggbb] [--name <text>]
                    [--near-threshold N] [--xflip] [--no-labels] [--keep-duplicates]
                    [--export-stylegan <file.zip>] [--all] [--library <dir>]`;

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** Files listed per check unless --all. */
const LISTED = 20;

class UsageError extends Error {}

interface ImportArgs {
  sources: string[];
  settings: Partial<Settings>;
  name: string | undefined;
  out: string | undefined;
  library: string | undefined;
  keepDuplicates: boolean;
  exportStylegan: string | undefined;
  all: boolean;
}

function parse(argv: string[]): ImportArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        resolution: { type: 'string' },
        out: { type: 'string' },
        crop: { type: 'string' },
        background: { type: 'string' },
        name: { type: 'string' },
        'near-threshold': { type: 'string' },
        xflip: { type: 'boolean' },
        'no-labels': { type: 'boolean' },
        'keep-duplicates': { type: 'boolean' },
        'export-stylegan': { type: 'string' },
        all: { type: 'boolean' },
        library: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(messageOf(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length === 0) throw new UsageError('name at least one folder or zip file to import');
  if (values.resolution === undefined) throw new UsageError('--resolution is required (a power of two from 16 to 1024)');
  const settings: Partial<Settings> = {};
  const check = <K extends keyof Settings>(key: K, flag: string, value: unknown): void => {
    const result = CurationSettings.shape[key].safeParse(value);
    if (!result.success) throw new UsageError(`--${flag} must be ${result.error.issues[0]?.message ?? 'valid'}, not "${String(value)}"`);
    settings[key] = result.data as Settings[K];
  };
  check('resolution', 'resolution', Number(values.resolution));
  if (values.crop !== undefined) {
    if (!CropMode.safeParse(values.crop).success) throw new UsageError(`--crop must be one of ${CropMode.options.join(', ')}, not "${values.crop}"`);
    check('crop', 'crop', values.crop);
  }
  if (values.background !== undefined) check('background', 'background', values.background);
  if (values['near-threshold'] !== undefined) check('nearThreshold', 'near-threshold', Number(values['near-threshold']));
  if (values.xflip) settings.xflip = true;
  if (values['no-labels']) settings.labelsFromFolders = false;
  return {
    sources: positionals,
    settings,
    name: values.name,
    out: values.out === undefined ? undefined : path.resolve(values.out),
    library: values.library === undefined ? undefined : path.resolve(values.library),
    keepDuplicates: values['keep-duplicates'] === true,
    exportStylegan: values['export-stylegan'],
    all: values.all === true,
  };
}

const tty = process.stdout.isTTY === true;

function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** One line of progress: a bar when the size is known, a counter when it is not. */
function progressLine(job: DatasetJob): string {
  const width = 24;
  if (job.total === 0) return `${job.phase} ... ${job.done || ''}`;
  const fraction = Math.min(1, job.done / job.total);
  const filled = Math.round(fraction * width);
  const rate = job.perSec === null ? '' : `  ${job.perSec.toFixed(0)}/s`;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${job.phase} ${job.done}/${job.total}${rate}  ETA ${formatDuration(job.etaSec)}  ${job.current ?? ''}`;
}

function progressPrinter(): (job: DatasetJob) => void {
  let lastPrint = 0;
  let phase = '';
  return (job) => {
    if (job.state !== 'running') {
      if (tty) process.stdout.write('\r\x1b[K');
      return;
    }
    if (tty) {
      process.stdout.write(`\r${progressLine(job).slice(0, (process.stdout.columns ?? 120) - 1)}\x1b[K`);
    } else if (job.phase !== phase || Date.now() - lastPrint > 2000) {
      phase = job.phase;
      lastPrint = Date.now();
      console.log(progressLine(job));
    }
  };
}

/** Where the dataset goes: the library (by id), or a folder of its own. */
async function resolveOut(out: string | undefined): Promise<{ library: string | undefined; folder: string | null }> {
  if (out === undefined) return { library: undefined, folder: null };
  const isDir = async (p: string): Promise<boolean> => stat(p).then((s) => s.isDirectory(), () => false);
  if (await isDir(path.join(out, 'datasets'))) return { library: out, folder: null };
  const id = path.basename(out);
  if (!Id.safeParse(id).success) throw new UsageError(`--out ${out}: the folder's name becomes the dataset id, so it must be letters, digits, ".", "_" or "-"`);
  if (await isDir(out)) {
    const entries = (await readdir(out)).filter((e) => !e.startsWith('.'));
    const isDataset = entries.includes('dataset.json');
    if (entries.length > 0 && !isDataset) throw new UsageError(`--out ${out} exists and is neither empty nor a GAN Studio dataset; choose a new folder`);
  }
  return { library: undefined, folder: out };
}

function printChecks(curator: Curator, curation: Awaited<ReturnType<Curator['curations']['load']>>, all: boolean): void {
  const info = curator.curations.derivedOf(curation).summary;
  console.log(`\nChecks: ${summaryLine(info)}`);
  for (const check of CheckId.options) {
    const count = info.counts[check];
    if (!count) continue;
    const order = selectItems(curator.curations, curation, { filter: check, sort: 'name' });
    const excluded = order.filter((i) => curator.curations.derivedOf(curation).excluded[i] === 1).length;
    const tag = excluded === count ? 'left out' : excluded === 0 ? 'kept' : `${excluded} left out`;
    console.log(`  ${check} (${count}, ${tag})`);
    const shown = all ? order : order.subarray(0, LISTED);
    for (const i of shown) {
      const item = curation.manifest.items[i] as ScanRecord;
      const note = checkNote(item, check, curation.edits.settings, curator.curations.group(curation, i));
      console.log(`    ${displayPath(item, curation.manifest.sources)}: ${note}`);
    }
    if (shown.length < order.length) console.log(`    ... and ${order.length - shown.length} more (--all lists every file)`);
  }
  if (curation.manifest.lastImport?.notes.length) {
    console.log('  notes');
    for (const note of curation.manifest.lastImport.notes) console.log(`    ${note}`);
  }
}

export async function runImportCli(argv: string[]): Promise<number> {
  let args: ImportArgs | 'help';
  let target: { library: string | undefined; folder: string | null };
  try {
    args = parse(argv);
    if (args === 'help') {
      console.log(USAGE);
      return EXIT.ok;
    }
    target = await resolveOut(args.out);
  } catch (error) {
    console.error(`error: ${messageOf(error)}\n${USAGE}`);
    return EXIT.usage;
  }
  const paths = libraryPaths(target.library ?? args.library);
  const datasets = new DatasetStore(paths.datasets);
  const curator = new Curator(datasets, progressPrinter());

  let jobId: string | null = null;
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(EXIT.interrupted);
    interrupted = true;
    if (tty) process.stdout.write('\n');
    console.log('Cancelling (Ctrl-C again to quit at once) ...');
    if (jobId) curator.jobs.cancel(jobId);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  /** Run a job to its end; a failure says why and maps to an exit code. */
  const run = async (start: Promise<{ jobId: string }>): Promise<DatasetJob> => {
    jobId = (await start).jobId;
    const job = (await curator.jobs.wait(jobId)) as DatasetJob;
    jobId = null;
    if (job.state === 'cancelled') throw new Interrupted();
    if (job.state === 'failed') throw new JobFailed(job.message ?? 'failed');
    return job;
  };

  try {
    // The same sources imported before (or the same --out folder): import again, reading only what changed.
    const sources = args.sources.map((s) => path.resolve(s));
    const standaloneId = target.folder ? path.basename(target.folder) : undefined;
    const known = (await curator.curations.list()).find((c) =>
      standaloneId ? c.id === standaloneId : c.sources.length === sources.length && c.sources.every((s, i) => s.path === sources[i]),
    );
    console.log(`${known ? 'Importing again' : 'Importing'} ${sources.join(', ')} at ${args.settings.resolution}×${args.settings.resolution} ...`);
    const imported = await run(curator.startImport({ sources, name: args.name, settings: args.settings, datasetId: known?.id, newId: known ? undefined : standaloneId }));
    const id = imported.datasetId;
    let curation = await curator.curations.load(id);
    if (args.keepDuplicates) {
      const dups = [...selectItems(curator.curations, curation, { filter: 'duplicate', sort: 'name' }), ...selectItems(curator.curations, curation, { filter: 'near-duplicate', sort: 'name' })];
      if (dups.length) await curator.curations.edit(curation, dups, { exclude: false });
      curation = await curator.curations.load(id);
    }
    const last = curation.manifest.lastImport;
    if (last) console.log(`${last.files} files in ${last.seconds.toFixed(1)} s: ${last.scanned} read, ${last.reused} unchanged since the last import`);
    printChecks(curator, curation, args.all);
    const summary = curator.curations.derivedOf(curation).summary;
    if (summary.included === 0) {
      console.error(`\nerror: no usable images to build (${summary.total} files, all left out); see the checks above`);
      return EXIT.usage;
    }

    const built = await run(curator.startBuild(id, target.folder ? { store: new DatasetStore(path.dirname(target.folder)), id } : undefined));
    const dataset = built.dataset;
    if (!dataset) throw new JobFailed('the build reported no dataset');
    if (target.folder) await datasets.adoptFolder(target.folder);
    const where = target.folder ?? path.join(paths.datasets, id);
    console.log(`\nDataset ${id}: ${dataset.count} images at ${dataset.resolution}×${dataset.resolution}${dataset.labels ? `, ${dataset.labels.length} classes` : ''}`);
    console.log(`  ${where}`);
    if (args.exportStylegan) {
      const exported = await run(curator.startExport(id, path.resolve(args.exportStylegan)));
      console.log(`  stylegan2-ada-pytorch zip: ${exported.file}`);
    }
    console.log(`Train it: npm run train -- --data ${target.folder ?? id} --preset quick-32`);
    return EXIT.ok;
  } catch (error) {
    if (tty) process.stdout.write('\n');
    if (error instanceof Interrupted) {
      console.error('interrupted: nothing was changed');
      return EXIT.interrupted;
    }
    console.error(`error: ${messageOf(error)}`);
    const badInput = (error instanceof StudioError && error.code === 'bad_request') || (error instanceof JobFailed && error.badInput);
    return badInput ? EXIT.usage : EXIT.failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

class Interrupted extends Error {}

/** A job that failed; "no images", a changed file or a bad zip are the user's data, not a crash. */
class JobFailed extends Error {
  readonly badInput: boolean;
  constructor(message: string) {
    super(message);
    this.badInput = /nothing to build|not a readable zip|the zip is damaged|changed since the import|cannot be read any more|no such/.test(message);
  }
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname);
if (isMain) {
  runImportCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`error: ${messageOf(error)}`);
      process.exit(EXIT.failed);
    },
  );
}
