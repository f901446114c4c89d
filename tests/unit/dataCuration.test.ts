/**
 * Dataset curation against a generated corpus (tests/unit/dataCorpus.ts): every format and every planted
 * problem gets its verdict, pixels come out right (alpha, EXIF, CMYK, 16-bit, first GIF frame), duplicates
 * group, edits and crop policies change the build, re-imports read only what changed, builds are
 * reproducible, the StyleGAN export has dataset_tool's layout, jobs cancel cleanly, and nothing in the
 * source folder is ever touched.
 * Run: npx tsx --test tests/unit/dataCuration.test.ts
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, cp, lstat, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import yauzl from 'yauzl';
import { CurationInfo, CurationItem, DatasetJob, type EventChannel } from '../../shared/contract.ts';
import { analyse } from '../../main/data/checks.ts';
import { MANIFEST_FORMAT, DEFAULT_SETTINGS, type ScanRecord } from '../../main/data/curationManifest.ts';
import { selectItems } from '../../main/data/curationQuery.ts';
import { Curator } from '../../main/data/curator.ts';
import { DatasetStore } from '../../main/data/datasetStore.ts';
import { styleganName } from '../../main/data/styleganExport.ts';
import { StudioError } from '../../main/errors.ts';
import { datasetHandlers } from '../../main/handlers/datasets.ts';
import { makeCorpus, makeJpegs, makeLabelledZip, picture, type Expectation, type Rgb } from './dataCorpus.ts';

const projectDir = path.resolve(import.meta.dirname, '..', '..');
let scratch = '';
let corpus = '';
let expected: Record<string, Expectation> = {};

before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'gan-studio-curation-'));
  corpus = path.join(scratch, 'corpus');
  expected = await makeCorpus(corpus);
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function newCurator(): { curator: Curator; jobs: DatasetJob[]; library: string } {
  const library = path.join(scratch, `lib-${Math.random().toString(16).slice(2, 8)}`);
  const jobs: DatasetJob[] = [];
  const curator = new Curator(new DatasetStore(path.join(library, 'datasets')), (job) => jobs.push(job));
  return { curator, jobs, library };
}

async function finish(curator: Curator, start: Promise<{ jobId: string }>): Promise<DatasetJob> {
  const { jobId } = await start;
  const job = await curator.jobs.wait(jobId);
  assert.ok(job, `job ${jobId} is running`);
  assert.ok(DatasetJob.safeParse(job).success, 'a contract DatasetJob');
  return job;
}

async function importDone(curator: Curator, sources: string[], extra: Partial<Parameters<Curator['startImport']>[0]> = {}): Promise<string> {
  const start = curator.startImport({ sources, ...extra });
  const { datasetId } = await start;
  const job = await finish(curator, start);
  assert.equal(job.state, 'done', job.message ?? '');
  return datasetId;
}

function views(curator: Curator, c: Awaited<ReturnType<Curator['curations']['load']>>): Map<string, CurationItem> {
  return new Map(c.manifest.items.map((_, i) => {
    const v = curator.curations.itemView(c, i, null);
    return [v.path, v];
  }));
}

/** Name, size and modification time of every entry under `dir` (links not followed). */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const rel of (await readdir(dir, { recursive: true })).sort()) {
    const s = await lstat(path.join(dir, rel));
    out.push(`${rel} ${s.size} ${s.mtimeMs} ${s.mode}`);
  }
  return out;
}

function pixelAt(pixels: Uint8Array, index: number, res: number, x: number, y: number): Rgb {
  const o = ((index * res + y) * res + x) * 3;
  return [pixels[o] ?? -1, pixels[o + 1] ?? -1, pixels[o + 2] ?? -1];
}

function assertClose(actual: Rgb, want: Rgb, tolerance: number, what: string): void {
  assert.ok(
    actual.every((v, i) => Math.abs(v - (want[i] ?? 0)) <= tolerance),
    `${what}: expected ~${JSON.stringify(want)}, got ${JSON.stringify(actual)}`,
  );
}

describe('import and checks', () => {
  it('gives every file of the corpus its verdict, with a summary, and never crashes', async () => {
    const { curator } = newCurator();
    const before = await snapshot(corpus);
    const id = await importDone(curator, [corpus], { settings: { resolution: 64 } });
    const c = await curator.curations.load(id);
    const byPath = views(curator, c);
    assert.deepEqual([...byPath.keys()].sort(), Object.keys(expected).sort(), 'every file is listed once (the symlink loop is not followed)');
    for (const [file, want] of Object.entries(expected)) {
      const got = byPath.get(file);
      assert.ok(got && CurationItem.safeParse(got).success, file);
      if (want.error) {
        assert.deepEqual(got.checks, [want.error], `${file}: ${got.notes.join('; ')}`);
        assert.equal(got.excludedBy, 'error', file);
      }
      for (const check of want.checks ?? []) assert.ok(got.checks.includes(check), `${file} should be ${check}, got ${got.checks.join(',')}`);
      if (want.checks?.length === 0) assert.deepEqual(got.checks, [], `${file} has no problem, got ${got.notes.join('; ')}`);
      if (want.excluded !== undefined) assert.equal(got.excluded, want.excluded, `${file} excluded`);
      if (want.width !== undefined) assert.deepEqual([got.width, got.height], [want.width, want.height], `${file} upright size`);
      if (want.caption !== undefined) assert.equal(got.caption, want.caption, `${file} caption`);
      for (const note of got.notes) assert.ok(!note.includes('\n') && note.length < 300, `${file}: one short line: ${note}`);
    }
    // The decoders' own words, and the reasons people can act on.
    assert.match(byPath.get('problems/truncated.jpg')?.notes[0] ?? '', /^corrupt: .*(premature end|truncated|damaged)/i);
    assert.equal(byPath.get('problems/text.jpg')?.notes[0], 'not an image: text');
    assert.equal(byPath.get('problems/empty.png')?.notes[0], 'empty: zero bytes');
    assert.match(byPath.get('problems/self')?.notes[0] ?? '', /loops \(ELOOP\)/);
    assert.match(byPath.get('formats/phone.heic')?.notes[0] ?? '', /HEIC/);
    assert.match(byPath.get('formats/rotated.jpg')?.notes[0] ?? '', /far from square \(1\.33:1\): the centre crop keeps 75 %/);
    // One group per kind of duplicate, one kept in each.
    const dup = byPath.get('dups/a-copy.png')?.group;
    assert.deepEqual(dup && { kind: dup.kind, size: dup.size, kept: dup.kept }, { kind: 'duplicate', size: 2, kept: false });
    assert.equal(byPath.get('dups/a.png')?.group?.kept, true, 'the shorter name is kept');
    const near = byPath.get('dups/b-small.jpg')?.group;
    assert.deepEqual(near && { kind: near.kind, size: near.size, kept: near.kept }, { kind: 'near-duplicate', size: 2, kept: false });
    assert.equal(byPath.get('dups/b.png')?.group?.kept, true, 'the larger image is kept');

    const info = await curator.info(id);
    assert.ok(CurationInfo.safeParse(info).success);
    assert.equal(info.state, 'draft');
    assert.equal(info.summary.total, Object.keys(expected).length);
    assert.equal(info.summary.usable, Object.values(expected).filter((e) => !e.error).length);
    assert.equal(info.summary.counts.corrupt, 1);
    assert.equal(info.summary.counts['not-image'], 2);
    assert.equal(info.summary.counts.duplicate, 1);
    assert.equal(info.summary.counts['near-duplicate'], 1);
    assert.equal(info.summary.duplicateGroups, 1);
    assert.equal(info.summary.nearDuplicateGroups, 1);
    assert.equal(info.summary.included, Object.values(expected).filter((e) => !e.excluded).length);
    assert.deepEqual(info.lastImport?.notes, ['problems/loop/: links back to a folder already scanned; not followed']);
    assert.deepEqual(await snapshot(corpus), before, 'the source folder is untouched');
  });

  it('builds pixels right: alpha on the background, EXIF upright, first GIF frame, CMYK and 16-bit converted', async () => {
    const { curator, library } = newCurator();
    const id = await importDone(curator, [corpus], { settings: { resolution: 32, background: '#ff00ff' } });
    const before = await snapshot(corpus);
    const job = await finish(curator, curator.startBuild(id));
    assert.equal(job.state, 'done', job.message ?? '');
    const store = new DatasetStore(path.join(library, 'datasets'));
    const { info, pixels } = await store.readImages(id);
    assert.equal(info.count, (await curator.info(id)).summary.included);
    assert.equal(info.curated, true);
    const files = (JSON.parse(await readFile(path.join(library, 'datasets', id, 'dataset.json'), 'utf8')) as { files: string[] }).files;
    const at = (f: string): number => {
      const i = files.indexOf(f);
      assert.ok(i >= 0, `${f} is in the build`);
      return i;
    };
    assertClose(pixelAt(pixels, at('formats/alpha.png'), 32, 0, 0), [255, 0, 255], 2, 'transparent corner shows the background');
    assertClose(pixelAt(pixels, at('formats/alpha.png'), 32, 16, 16), [0, 0, 255], 8, 'the opaque disc');
    assertClose(pixelAt(pixels, at('formats/anim.gif'), 32, 16, 16), [255, 0, 0], 10, 'first GIF frame (red)');
    const rot = at('formats/rotated.jpg');
    assertClose(pixelAt(pixels, rot, 32, 3, 16), [0, 0, 255], 40, 'rotated.jpg left is blue');
    assertClose(pixelAt(pixels, rot, 32, 28, 16), [255, 0, 0], 40, 'rotated.jpg right is red');
    // CMYK and 16-bit come out like the sRGB picture they were made from.
    for (const [file, seed] of [['formats/cmyk.jpg', 5], ['formats/deep.png', 6]] as const) {
      const ref = picture(128, 128, seed);
      const want = await sharp(ref.data, { raw: ref.raw }).resize(32, 32).raw().toBuffer();
      const got = pixels.subarray(at(file) * 32 * 32 * 3, (at(file) + 1) * 32 * 32 * 3);
      let diff = 0;
      for (let k = 0; k < want.length; k++) diff += Math.abs((want[k] as number) - (got[k] as number));
      assert.ok(diff / want.length < (file.includes('cmyk') ? 40 : 3), `${file}: mean difference ${(diff / want.length).toFixed(1)} from its source picture`);
    }
    assert.deepEqual(await snapshot(corpus), before, 'building never writes to the source folder');
    assert.equal((await curator.info(id)).state, 'built');
  });

  it('reads a file as nobody: permission denied is "unreadable (EACCES)"', async (t) => {
    const runuser = ['/usr/sbin/runuser', '/sbin/runuser'].find((p) => spawnSync('test', ['-x', p]).status === 0);
    if (process.getuid?.() !== 0 || !runuser) {
      // As a normal user chmod 000 refuses us directly.
      if (process.getuid?.() === 0) return t.skip('running as root without runuser: EACCES cannot be produced for root');
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gan-studio-perm-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await chmod(dir, 0o755);
    await sharp({ create: { width: 80, height: 80, channels: 3, background: '#123456' } }).png().toFile(path.join(dir, 'ok.png'));
    await sharp({ create: { width: 80, height: 80, channels: 3, background: '#654321' } }).png().toFile(path.join(dir, 'locked.png'));
    await chmod(path.join(dir, 'locked.png'), 0o000);
    const script = path.join(dir, 'probe.mts');
    await writeFile(
      script,
      `import { probeFile } from ${JSON.stringify(path.join(projectDir, 'main/data/imageProbe.ts'))};\n` +
        `const spec = { resolution: 64, crop: 'center' as const, background: '#ffffff' };\n` +
        `const out = [];\nfor (const f of ['ok.png', 'locked.png']) { const p = await probeFile(${JSON.stringify(dir)} + '/' + f, 100, { spec, render: false }); out.push(p.ok ? 'ok' : p.check + ': ' + p.reason); }\n` +
        `console.log(JSON.stringify(out));\n`,
    );
    await chmod(script, 0o644);
    const command = process.getuid?.() === 0 && runuser ? [runuser, '-u', 'nobody', '--', process.execPath] : [process.execPath];
    const result = spawnSync(command[0] as string, [...command.slice(1), '--import', 'tsx', script], {
      cwd: projectDir,
      encoding: 'utf8',
      env: { ...process.env, HOME: dir, TSX_TSCONFIG_PATH: path.join(projectDir, 'tsconfig.json') },
      timeout: 60_000,
    });
    const line = result.stdout.trim().split('\n').pop() ?? '';
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.deepEqual(JSON.parse(line), ['ok', 'unreadable: permission denied (EACCES)']);
  });

  it('keeps the process responsive while it imports', async () => {
    const { curator } = newCurator();
    const dir = path.join(scratch, 'jpegs-lag');
    await makeJpegs(dir, 120, 512);
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    await importDone(curator, [dir], { settings: { resolution: 64 } });
    histogram.disable();
    const maxMs = histogram.max / 1e6;
    const p99Ms = histogram.percentile(99) / 1e6;
    assert.ok(maxMs < 1000, `the event loop was blocked for ${maxMs.toFixed(0)} ms (p99 ${p99Ms.toFixed(0)} ms)`);
  });
});

describe('curating', () => {
  it('edits exclusions, labels and captions; filters and sorts; the build follows them', async () => {
    const { curator, library } = newCurator();
    const id = await importDone(curator, [corpus], { settings: { resolution: 32 } });
    let c = await curator.curations.load(id);
    const index = (p: string): number => c.manifest.items.findIndex((item) => item.path === p);
    const baseline = (await curator.info(id)).summary.included;

    // The duplicate group, excluded whole, then one member put back.
    const group = c.analysis.groups.find((g) => g.kind === 'duplicate');
    assert.ok(group);
    await curator.curations.edit(c, group.members, { exclude: true });
    assert.equal((await curator.info(id)).summary.included, baseline - 1);
    await curator.curations.edit(c, [index('dups/a-copy.png')], { exclude: false });
    assert.equal(curator.curations.itemView(c, index('dups/a-copy.png'), null).excludedBy, null);
    assert.equal(curator.curations.itemView(c, index('dups/a.png'), null).excludedBy, 'user');
    await curator.curations.edit(c, group.members, { exclude: null });
    assert.equal((await curator.info(id)).summary.included, baseline, 'back to the default');
    // An unusable file stays out whatever the user says.
    await curator.curations.edit(c, [index('problems/truncated.jpg')], { exclude: false });
    assert.equal(curator.curations.itemView(c, index('problems/truncated.jpg'), null).excluded, true);

    await curator.curations.edit(c, [index('formats/pic.webp')], { label: 'special', caption: 'typed in the studio' });
    const webp = curator.curations.itemView(c, index('formats/pic.webp'), null);
    assert.deepEqual([webp.label, webp.caption], ['special', 'typed in the studio']);
    assert.equal(curator.curations.itemView(c, index('formats/photo.jpg'), null).label, 'formats', 'labels come from the subfolder');

    // Filters and sorts.
    const names = (filter: Parameters<typeof selectItems>[2]): string[] => Array.from(selectItems(curator.curations, c, filter)).map((i) => (c.manifest.items[i] as ScanRecord).path);
    assert.deepEqual(names({ filter: 'corrupt', sort: 'name' }), ['problems/truncated.jpg']);
    assert.deepEqual(names({ filter: 'all', sort: 'name', label: 'special' }), ['formats/pic.webp']);
    const bySize = names({ filter: 'included', sort: 'size' });
    assert.equal(bySize[0], 'problems/small.png', 'smallest first');
    const similar = names({ filter: 'all', sort: 'similarity' });
    assert.equal(Math.abs(similar.indexOf('dups/b.png') - similar.indexOf('dups/b-small.jpg')), 1, 'near-duplicates sit side by side');

    // Settings re-judge without reading files again.
    await curator.curations.updateSettings(c, { resolution: 256 });
    assert.ok(curator.curations.itemView(c, index('formats/pic.webp'), null).checks.includes('small'), '128 px is small for 256');
    await curator.curations.updateSettings(c, { resolution: 32, nearThreshold: 0, crop: 'pad' });
    assert.equal((await curator.info(id)).summary.counts['extreme-aspect'], 1);
    assert.equal(curator.curations.itemView(c, index('problems/panorama.jpg'), null).excluded, false, 'padding keeps a panorama whole: not left out');

    const job = await finish(curator, curator.startBuild(id));
    assert.equal(job.state, 'done', job.message ?? '');
    c = await curator.curations.load(id);
    const built = job.dataset;
    assert.ok(built);
    assert.equal(built.count, (await curator.info(id)).summary.included);
    assert.equal(built.crop, 'pad');
    assert.ok(built.labels?.includes('special'));
    assert.equal(built.hasCaptions, true);
    const onDisk = JSON.parse(await readFile(path.join(library, 'datasets', id, 'dataset.json'), 'utf8')) as {
      files: string[];
      labelIndices: number[];
      captions: (string | null)[];
      curation: { images: { path: string; sha256: string }[]; excluded: { file: string; reason: string }[]; settings: { crop: string } };
    };
    const k = onDisk.files.indexOf('formats/pic.webp');
    assert.equal(built.labels?.[onDisk.labelIndices[k] as number], 'special');
    assert.equal(onDisk.captions[k], 'typed in the studio');
    assert.equal(onDisk.curation.images.length, built.count, 'the manifest names every packed image with its hash');
    assert.match(onDisk.curation.images[0]?.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.ok(onDisk.curation.excluded.some((e) => e.file === 'problems/truncated.jpg' && /corrupt/.test(e.reason)));
    // Padding: the panorama's top rows are the background colour (white by default).
    const { pixels } = await new DatasetStore(path.join(library, 'datasets')).readImages(id);
    assertClose(pixelAt(pixels, onDisk.files.indexOf('problems/panorama.jpg'), 32, 16, 1), [255, 255, 255], 2, 'padded panorama top');
    assert.equal((await curator.info(id)).state, 'built');
    await curator.curations.edit(c, [index('formats/pic.webp')], { exclude: true });
    assert.equal((await curator.info(id)).state, 'stale', 'changed after the build');
  });

  it('a rebuild without the import cache gives the same bytes (reproducible from the sources)', async () => {
    const { curator, library } = newCurator();
    const id = await importDone(curator, [corpus], { settings: { resolution: 32, crop: 'attention' } });
    assert.equal((await finish(curator, curator.startBuild(id))).state, 'done');
    const first = await readFile(path.join(library, 'datasets', id, 'images.u8'));
    const c = await curator.curations.load(id);
    c.manifest = { ...c.manifest, renders: null, rendersFile: null };
    const again = await finish(curator, curator.startBuild(id));
    assert.equal(again.state, 'done', again.message ?? '');
    assert.ok(first.equals(await readFile(path.join(library, 'datasets', id, 'images.u8'))), 'identical images.u8');
  });

  it('re-importing reads only files that changed, keeps the edits, and leaves no stale files', async () => {
    const { curator } = newCurator();
    const src = path.join(scratch, 'reimport');
    await cp(corpus, src, { recursive: true, verbatimSymlinks: true });
    const id = await importDone(curator, [src], { settings: { resolution: 32 } });
    let c = await curator.curations.load(id);
      await curator.curations.edit(c, [c.manifest.items.findIndex((i) => i.path === 'formats/pic.webp')], { exclude: true });
    const thumbOf = async (name: string): Promise<Buffer | null> => (await curator.curations.thumbs(c, [c.manifest.items.findIndex((i) => i.path === name)]))[0] ?? null;
    const webpThumb = await thumbOf('formats/pic.webp');
    assert.ok(webpThumb, 'a thumbnail before the re-import');

    // One file rewritten, one added, one touched without a content change.
    await sharp({ create: { width: 100, height: 100, channels: 3, background: '#00aa00' } }).jpeg().toFile(path.join(src, 'formats', 'photo.jpg'));
    await sharp({ create: { width: 100, height: 100, channels: 3, background: '#aa0000' } }).png().toFile(path.join(src, 'new.png'));
    const later = new Date(Date.now() + 5000);
    await utimes(path.join(src, 'formats', 'scan.tiff'), later, later);

    await importDone(curator, [src], { datasetId: id });
    c = await curator.curations.load(id);
    // photo.jpg (new content), scan.tiff (touched) and new.png are read; everything else is reused, except
    // the looping link, which the walk itself judges.
    assert.equal(c.manifest.lastImport?.scanned, 3);
    assert.equal(c.manifest.lastImport?.reused, c.manifest.items.length - 3 - 1);
    assert.equal(c.manifest.items.length, Object.keys(expected).length + 1);
    assert.equal(curator.curations.itemView(c, c.manifest.items.findIndex((i) => i.path === 'formats/pic.webp'), null).excludedBy, 'user', 'edits survive');
    const files = (await readdir(c.dir)).filter((f) => /^(thumbs|renders)-/.test(f));
    assert.deepEqual(files.sort(), [c.manifest.rendersFile, c.manifest.thumbsFile].sort(), 'one generation of cache files');
    // Reused files keep their thumbnails (their sheets are copied), changed ones get new ones.
    assert.ok((await thumbOf('formats/pic.webp'))?.equals(webpThumb), 'the same thumbnail after the re-import');
    const fresh = await thumbOf('new.png');
    assert.ok(fresh, 'a thumbnail for the new file');
    const { data } = await sharp(fresh).raw().toBuffer({ resolveWithObject: true });
    assert.ok((data[0] ?? 0) > 140 && (data[1] ?? 255) < 40, `new.png's thumbnail is red: ${[...data.subarray(0, 3)]}`);
    // The build uses the new content of photo.jpg.
    const built = await finish(curator, curator.startBuild(id));
    assert.equal(built.state, 'done', built.message ?? '');
  });

  it('imports zips (labels below the wrapping folder) and several sources at once', async () => {
    const { curator, library } = newCurator();
    const zip = path.join(scratch, 'pets.zip');
    await makeLabelledZip(zip, 3);
    const id = await importDone(curator, [zip, path.join(corpus, 'formats')], { name: 'pets and formats', settings: { resolution: 32 } });
    const c = await curator.curations.load(id);
    const byPath = views(curator, c);
    assert.equal(byPath.get('pets.zip/pets/cats/cats0.png')?.label, 'cats');
    assert.equal(byPath.get('pets.zip/pets/dogs/dogs2.png')?.label, 'dogs');
    assert.equal(byPath.get('formats/photo.jpg')?.label, null, 'files at a source root have no label');
    const info = await curator.info(id);
    assert.deepEqual(info.sources.map((s) => s.kind), ['zip', 'folder']);
    assert.deepEqual(info.labels, [
      { name: 'cats', count: 3 },
      { name: 'dogs', count: 3 },
    ]);
    const built = await finish(curator, curator.startBuild(id));
    assert.deepEqual(built.dataset?.labels, ['cats', 'dogs', 'unlabelled']);

    // Export: dataset_tool's names and labels; the PNGs hold the packed pixels.
    const out = path.join(scratch, 'export', 'pets.zip');
    const exported = await finish(curator, curator.startExport(id, out).then(({ jobId }) => ({ jobId })));
    assert.equal(exported.state, 'done', exported.message ?? '');
    const entries = await readZip(out);
    const count = built.dataset?.count ?? 0;
    assert.deepEqual(
      Object.keys(entries).sort(),
      [...Array.from({ length: count }, (_, i) => styleganName(i)), 'dataset.json'].sort(),
    );
    assert.equal(styleganName(1234), '00001/img00001234.png');
    const meta = JSON.parse((entries['dataset.json'] as Buffer).toString()) as { labels: [string, number][] };
    const onDisk = JSON.parse(await readFile(path.join(library, 'datasets', id, 'dataset.json'), 'utf8')) as { files: string[]; labelIndices: number[] };
    assert.equal(meta.labels.length, count);
    assert.deepEqual(meta.labels[onDisk.files.indexOf('pets.zip/pets/dogs/dogs0.png')], [styleganName(onDisk.files.indexOf('pets.zip/pets/dogs/dogs0.png')), 1]);
    const { pixels } = await new DatasetStore(path.join(library, 'datasets')).readImages(id);
    const png = await sharp(entries[styleganName(2)] as Buffer).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([png.info.width, png.info.height, png.info.channels], [32, 32, 3]);
    assert.ok(png.data.equals(Buffer.from(pixels.subarray(2 * 32 * 32 * 3, 3 * 32 * 32 * 3))), 'lossless PNG of the packed image');

    // Unlabelled datasets export `"labels": null`.
    const plain = await importDone(curator, [path.join(corpus, 'dups')], { settings: { resolution: 16 } });
    await finish(curator, curator.startBuild(plain));
    const plainZip = path.join(scratch, 'export', 'plain.zip');
    await finish(curator, curator.startExport(plain, plainZip));
    assert.deepEqual(JSON.parse(((await readZip(plainZip))['dataset.json'] as Buffer).toString()), { labels: null });
  });

  it('cancelling an import or build changes nothing', async () => {
    const { curator, library } = newCurator();
    const dir = path.join(scratch, 'jpegs-cancel');
    await makeJpegs(dir, 80, 256);
    const start = await curator.startImport({ sources: [dir], settings: { resolution: 32 } });
    setTimeout(() => curator.jobs.cancel(start.jobId), 50);
    const job = await curator.jobs.wait(start.jobId);
    assert.equal(job?.state, 'cancelled');
    assert.deepEqual(await readdir(path.join(library, 'curation')).catch(() => []), [], 'no half curation');

    const id = await importDone(curator, [dir], { settings: { resolution: 32 } });
    const c = await curator.curations.load(id);
    c.manifest = { ...c.manifest, renders: null, rendersFile: null }; // force decoding, so the build takes a while
    const build = await curator.startBuild(id);
    setTimeout(() => curator.jobs.cancel(build.jobId), 30);
    assert.equal((await curator.jobs.wait(build.jobId))?.state, 'cancelled');
    assert.deepEqual(await readdir(path.join(library, 'datasets')), [], 'no dataset, no temp folder');
    assert.equal((await curator.info(id)).state, 'draft');
  });
});

describe('datasets.* channels', () => {
  it('answer bad input with a clear message naming the file, and page through items and groups', async () => {
    const library = path.join(scratch, 'lib-handlers');
    const emitted: { channel: EventChannel; payload: unknown }[] = [];
    const h = datasetHandlers({ datasets: new DatasetStore(path.join(library, 'datasets')), events: { emit: (channel, payload) => emitted.push({ channel, payload }) } });
    const missing = path.join(scratch, 'nope');
    await assert.rejects(h['datasets.scan']({ sources: [missing] }), (e: unknown) => e instanceof StudioError && e.code === 'bad_request' && e.message.includes(missing));
    const notZip = path.join(corpus, 'formats', 'photo.jpg');
    await assert.rejects(h['datasets.scan']({ sources: [notZip] }), (e: unknown) => e instanceof StudioError && e.message.includes(`${notZip}: not a folder or a zip file`));
    const fakeZip = path.join(scratch, 'fake.zip');
    await writeFile(fakeZip, 'not a zip');
    const bad = await h['datasets.scan']({ sources: [fakeZip] });
    const failed = await waitJob(emitted, bad.jobId);
    assert.equal(failed.state, 'failed');
    assert.match(failed.message ?? '', new RegExp(`${fakeZip.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a readable zip file`));

    const { jobId, datasetId } = await h['datasets.scan']({ sources: [corpus], name: 'via channels', settings: { resolution: 32 } });
    const done = await waitJob(emitted, jobId);
    assert.equal(done.state, 'done', done.message ?? '');
    assert.equal(done.curation?.name, 'via channels');
    assert.ok(emitted.some((e) => (e.payload as DatasetJob).jobId === jobId && (e.payload as DatasetJob).phase === 'Checking images'));

    const page = await h['datasets.items']({ datasetId, offset: 2, limit: 5, filter: 'all', sort: 'name', thumbs: true });
    assert.equal(page.total, Object.keys(expected).length);
    assert.equal(page.items.length, 5);
    assert.equal(page.items[0]?.index, 2);
    for (const item of page.items) {
      if (item.checks.some((ch) => ['corrupt', 'not-image', 'empty', 'unsupported', 'unreadable'].includes(ch))) continue;
      assert.match(item.thumb ?? '', /^data:image\/jpeg;base64,/);
      const meta = await sharp(Buffer.from((item.thumb ?? '').split(',')[1] ?? '', 'base64')).metadata();
      assert.ok(Math.max(meta.width ?? 0, meta.height ?? 0) <= 96);
    }
    const groups = await h['datasets.groups']({ datasetId, kind: 'near-duplicate', offset: 0, limit: 10 });
    assert.equal(groups.total, 1);
    assert.deepEqual(groups.groups[0]?.items.map((i) => i.path), ['dups/b-small.jpg', 'dups/b.png']);

    // Exclude a whole group through a filter target, then build.
    const excluded = await h['datasets.edit']({ datasetId, target: { filter: 'near-duplicate' }, exclude: true });
    assert.equal(excluded.summary.included, done.curation ? done.curation.summary.included : -1);
    const preview = await h['datasets.cropPreview']({ datasetId, index: page.items.find((i) => !i.excludedBy)?.index ?? 0, crop: 'pad', resolution: 64 });
    const previewMeta = await sharp(Buffer.from(preview.image.split(',')[1] ?? '', 'base64')).metadata();
    assert.deepEqual([previewMeta.width, previewMeta.height], [64, 64]);
    const corruptIndex = (await h['datasets.items']({ datasetId, offset: 0, limit: 1, filter: 'corrupt', sort: 'name', thumbs: false })).items[0]?.index ?? -1;
    await assert.rejects(h['datasets.cropPreview']({ datasetId, index: corruptIndex }), /truncated\.jpg cannot be used/);
    await assert.rejects(h['datasets.items']({ datasetId: 'nope-000000', offset: 0, limit: 1, filter: 'all', sort: 'name', thumbs: false }), (e: unknown) => e instanceof StudioError && e.code === 'not_found');

    const build = await h['datasets.build']({ datasetId });
    const built = await waitJob(emitted, build.jobId);
    assert.equal(built.state, 'done', built.message ?? '');
    const listed = await h['datasets.list']({});
    assert.ok(listed.some((d) => d.id === datasetId && d.curated));
    assert.equal((await h['datasets.curations']({})).find((c) => c.id === datasetId)?.state, 'built');

    // Uploads: chunks in order, paths kept inside the upload folder.
    const bytes = await sharp({ create: { width: 70, height: 70, channels: 3, background: '#224466' } }).png().toBuffer();
    const first = await h['datasets.upload']({ path: 'up/one.png', offset: 0, size: bytes.length, data: bytes.subarray(0, 10).toString('base64') });
    await assert.rejects(h['datasets.upload']({ uploadId: first.uploadId, path: 'up/one.png', offset: 5, size: bytes.length, data: 'AAAA' }), /expected the chunk at offset 10/);
    await h['datasets.upload']({ uploadId: first.uploadId, path: 'up/one.png', offset: 10, size: bytes.length, data: bytes.subarray(10).toString('base64') });
    await assert.rejects(h['datasets.upload']({ uploadId: first.uploadId, path: '../escape.png', offset: 0, size: 4, data: 'AAAA' }), /may not contain/);
    const up = await h['datasets.scan']({ sources: [`upload:${first.uploadId}`], settings: { resolution: 32 } });
    const upDone = await waitJob(emitted, up.jobId);
    assert.equal(upDone.curation?.summary.usable, 1, upDone.message ?? '');

    assert.deepEqual(await h['datasets.discard']({ datasetId }), { datasetId });
    assert.ok(listed.some((d) => d.id === datasetId), 'the built dataset stays');
  });

  it('stays fast at 100,000 images: checks, a sorted view and a page far down', async () => {
    const n = 100_000;
    const items: ScanRecord[] = Array.from({ length: n }, (_, i) => ({
      source: 0,
      path: `img${String(i).padStart(6, '0')}.jpg`,
      bytes: 1000,
      mtimeMs: 0,
      sha256: (i % 1000 === 0 ? 'dup' : String(i)).padStart(64, '0'),
      error: null,
      format: 'jpeg',
      width: 64 + (i % 200),
      height: 64 + ((i * 7) % 150),
      space: 'srgb',
      alpha: false,
      frames: 1,
      orientation: null,
      dhash: ((i * 2654435761) >>> 0).toString(16).padStart(8, '0') + ((i * 40503) >>> 0).toString(16).padStart(8, '0'),
      gray: i % 50 === 0,
      mean: [i % 256, (i * 3) % 256, (i * 7) % 256],
      thumb: null,
      render: null,
      crop: null,
      label: `class${i % 10}`,
      caption: null,
    }));
    const t0 = performance.now();
    const analysis = await analyse(items, DEFAULT_SETTINGS);
    const analyseMs = performance.now() - t0;
    assert.ok(analysis.groups.some((g) => g.kind === 'duplicate' && g.members.length === 100));
    assert.ok(analyseMs < 10_000, `checks of 100,000 images took ${analyseMs.toFixed(0)} ms`);

    const { curator } = newCurator();
    const c = await curator.curations.commit('big-000000', {
      format: MANIFEST_FORMAT,
      id: 'big-000000',
      createdAt: new Date().toISOString(),
      importedAt: new Date().toISOString(),
      sources: [{ kind: 'folder', path: '/nowhere', root: '/nowhere', stamp: null }],
      items,
      thumbsFile: 'thumbs-0.bin',
      rendersFile: null,
      renders: null,
      lastImport: null,
    }, { name: 'big', settings: DEFAULT_SETTINGS, excluded: {}, labels: {}, captions: {}, version: 1, built: null, updatedAt: new Date().toISOString() });
    const t1 = performance.now();
    const order = selectItems(curator.curations, c, { filter: 'all', sort: 'similarity' });
    const sortMs = performance.now() - t1;
    assert.equal(order.length, n);
    const t2 = performance.now();
    const page = Array.from(order.subarray(n - 200, n)).map((i) => curator.curations.itemView(c, i, null));
    const pageMs = performance.now() - t2;
    assert.equal(page.length, 200);
    assert.ok(sortMs < 3000, `the similarity order of 100,000 took ${sortMs.toFixed(0)} ms`);
    assert.ok(pageMs < 200, `a page of 200 items far down took ${pageMs.toFixed(0)} ms`);
  });
});

async function waitJob(emitted: { channel: EventChannel; payload: unknown }[], jobId: string): Promise<DatasetJob> {
  for (let i = 0; i < 1200; i++) {
    const final = emitted.map((e) => e.payload as DatasetJob).find((p) => p.jobId === jobId && p.state !== 'running');
    if (final) return final;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${jobId} did not finish`);
}

async function readZip(file: string): Promise<Record<string, Buffer>> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true });
  const out: Record<string, Buffer> = {};
  for await (const entry of zip.eachEntry()) {
    const stream = await zip.openReadStreamPromise(entry);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    out[entry.fileName] = Buffer.concat(chunks);
  }
  zip.close();
  return out;
}

