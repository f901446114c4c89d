/**
 * The data layer against real files: fixtures are generated with sharp into a temp folder at test time
 * (no binary fixtures in the repo), and every test gets its own library folder.
 * Run: npx tsx --test tests/unit/data.test.ts
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { DatasetInfo, Id, type EventChannel, type EventPayload } from '../../shared/contract.ts';
import { DatasetStore, newDatasetId } from '../../main/data/datasetStore.ts';
import { StudioError } from '../../main/errors.ts';
import { datasetHandlers } from '../../main/handlers/datasets.ts';
import type { EventSink } from '../../main/handlers/types.ts';

const RES = 32;
const EXPECTED_FILES = ['alpha.png', 'photo.jpg', 'red-wide.png', 'rotated.jpg', 'sub/nested.webp'];

type Rgb = [number, number, number];
const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];

let scratch = '';
let fixtures = '';

/** A raw RGB image of w×h filled by `colour(x, y)`. */
function rawImage(w: number, h: number, colour: (x: number, y: number) => Rgb): { data: Buffer; raw: { width: number; height: number; channels: 3 } } {
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data.set(colour(x, y), (y * w + x) * 3);
  }
  return { data, raw: { width: w, height: h, channels: 3 } };
}

async function makeFixtures(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'sub'), { recursive: true });
  await mkdir(path.join(dir, '.hiddendir'), { recursive: true });

  // Fully transparent black: if alpha were dropped instead of composited on white, this would be black.
  await sharp({ create: { width: 40, height: 40, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .png()
    .toFile(path.join(dir, 'alpha.png'));

  const photo = rawImage(120, 80, (x, y) => [(x * 2) % 256, (y * 3) % 256, 128]);
  await sharp(photo.data, { raw: photo.raw }).jpeg({ quality: 90 }).toFile(path.join(dir, 'photo.jpg'));

  // 2:1 with green | red | blue thirds (50, 100, 50 px): a centre crop keeps only red.
  const wide = rawImage(200, 100, (x) => (x < 50 ? GREEN : x < 150 ? RED : BLUE));
  await sharp(wide.data, { raw: wide.raw }).png().toFile(path.join(dir, 'red-wide.png'));

  // Stored top half red, bottom half blue, tagged EXIF orientation 6 (display = stored rotated 90° CW),
  // so a viewer shows blue on the left and red on the right.
  const rot = rawImage(64, 64, (_x, y) => (y < 32 ? RED : BLUE));
  await sharp(rot.data, { raw: rot.raw }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(path.join(dir, 'rotated.jpg'));

  await sharp({ create: { width: 30, height: 90, channels: 3, background: { r: 255, g: 255, b: 0 } } })
    .webp({ lossless: true })
    .toFile(path.join(dir, 'sub', 'nested.webp'));

  // A link back up the tree: must neither loop nor import anything twice.
  await symlink('..', path.join(dir, 'sub', 'loop'));

  await writeFile(path.join(dir, 'bad.jpg'), 'this is text, not a JPEG\n');
  await writeFile(path.join(dir, 'notes.txt'), 'some notes\n');
  await writeFile(path.join(dir, 'empty.png'), Buffer.alloc(0));
  const noise = rawImage(128, 128, (x, y) => [(x * 37 + y * 91) % 256, (x * y) % 256, (x ^ y) % 256]);
  const fullJpeg = await sharp(noise.data, { raw: noise.raw }).jpeg().toBuffer();
  await writeFile(path.join(dir, 'truncated.jpg'), fullJpeg.subarray(0, Math.floor(fullJpeg.length * 0.4)));

  // Hidden files and folders are not part of the dataset.
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toFile(path.join(dir, '.hidden.png'));
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toFile(path.join(dir, '.hiddendir', 'x.png'));
}

before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'gan-studio-data-'));
  fixtures = path.join(scratch, 'fixtures');
  await makeFixtures(fixtures);
  assert.equal((await sharp(path.join(fixtures, 'rotated.jpg')).metadata()).orientation, 6, 'fixture carries EXIF orientation 6');
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A fresh, empty library for one test. */
async function newLibrary(): Promise<{ dir: string; store: DatasetStore }> {
  const root = await mkdtemp(path.join(scratch, 'lib-'));
  const dir = path.join(root, 'datasets');
  return { dir, store: new DatasetStore(dir) };
}

function pixel(pixels: Uint8Array, index: number, res: number, x: number, y: number): Rgb {
  const o = ((index * res + y) * res + x) * 3;
  return [pixels[o] ?? -1, pixels[o + 1] ?? -1, pixels[o + 2] ?? -1];
}

function assertClose(actual: Rgb, expected: Rgb, tolerance: number, what: string): void {
  const ok = actual.every((v, i) => Math.abs(v - (expected[i] ?? 0)) <= tolerance);
  assert.ok(ok, `${what}: expected ~${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

const isStudioError =
  (code: string, ...fragments: string[]) =>
  (error: unknown): boolean => {
    assert.ok(error instanceof StudioError, `expected a StudioError, got ${String(error)}`);
    assert.equal(error.code, code);
    for (const f of fragments) assert.ok(error.message.includes(f), `message ${JSON.stringify(error.message)} should mention ${JSON.stringify(f)}`);
    return true;
  };

test('importFolder packs every image, in order, with skipped files and reasons', async () => {
  const { dir, store } = await newLibrary();
  const info = await store.importFolder(fixtures, { name: 'My Fixtures!', resolution: RES });

  assert.ok(DatasetInfo.safeParse(info).success, 'result is a contract DatasetInfo');
  assert.match(info.id, /^my-fixtures-[0-9a-f]{6}$/);
  assert.equal(info.name, 'My Fixtures!');
  assert.equal(info.builtin, false);
  assert.equal(info.source, fixtures);
  assert.equal(info.resolution, RES);
  assert.equal(info.count, EXPECTED_FILES.length);
  assert.equal((await stat(store.imagesFile(info.id))).size, EXPECTED_FILES.length * RES * RES * 3);
  assert.equal(store.imagesFile(info.id), path.join(dir, info.id, 'images.u8'));

  const onDisk = JSON.parse(await readFile(path.join(dir, info.id, 'dataset.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(onDisk.format, 'gan-studio-dataset/1');
  assert.deepEqual(onDisk.files, EXPECTED_FILES);

  const reasons = Object.fromEntries(info.skipped.map((s) => [s.file, s.reason]));
  assert.deepEqual(Object.keys(reasons).sort(), ['bad.jpg', 'empty.png', 'notes.txt', 'truncated.jpg']);
  assert.equal(reasons['bad.jpg'], 'not an image');
  assert.equal(reasons['notes.txt'], 'not an image');
  assert.equal(reasons['empty.png'], 'empty file');
  // libvips words it differently from run to run ("premature end of JPEG image", "damaged or truncated").
  assert.match(reasons['truncated.jpg'] ?? '', /^corrupt: .*(premature end|corrupt|truncated)/i);
  assert.ok(!(reasons['truncated.jpg'] ?? '').includes('\n'), 'reason is one line');

  // The stored preview: one row of 5 tiles would be 5 wide; the grid is square-ish (3 columns, 2 rows).
  const preview = await sharp(path.join(dir, info.id, 'preview.png')).metadata();
  assert.equal(preview.format, 'png');
  assert.deepEqual([preview.width, preview.height], [3 * RES, 2 * RES]);

  // Nothing temporary is left next to the dataset.
  assert.deepEqual(await readdir(dir), [info.id]);
});

test('decoding composites alpha on white, applies EXIF rotation and centre-crops', async () => {
  const { store } = await newLibrary();
  const info = await store.importFolder(fixtures, { resolution: RES });
  assert.equal(info.name, 'fixtures', 'name defaults to the folder name');
  const { info: read, pixels } = await store.readImages(info.id);
  assert.deepEqual(read, info);
  assert.equal(pixels.length, info.count * RES * RES * 3);
  const at = (file: string): number => {
    const i = EXPECTED_FILES.indexOf(file);
    assert.ok(i >= 0);
    return i;
  };

  // Transparent black → white, everywhere.
  for (const [x, y] of [[0, 0], [16, 16], [31, 31]] as const) assertClose(pixel(pixels, at('alpha.png'), RES, x, y), [255, 255, 255], 2, `alpha.png (${x},${y})`);

  // Orientation 6: blue on the left, red on the right (unrotated it would be red on top, blue below).
  const rot = at('rotated.jpg');
  assertClose(pixel(pixels, rot, RES, 4, 4), BLUE, 40, 'rotated.jpg top-left');
  assertClose(pixel(pixels, rot, RES, 4, 27), BLUE, 40, 'rotated.jpg bottom-left');
  assertClose(pixel(pixels, rot, RES, 27, 4), RED, 40, 'rotated.jpg top-right');
  assertClose(pixel(pixels, rot, RES, 27, 27), RED, 40, 'rotated.jpg bottom-right');

  // Cover + centre: only the red middle third survives (a squash would put green at x=4, blue at x=27).
  const wide = at('red-wide.png');
  for (const x of [4, 16, 27]) assertClose(pixel(pixels, wide, RES, x, 16), RED, 12, `red-wide.png x=${x}`);

  // The nested, tall WebP is there and yellow.
  assertClose(pixel(pixels, at('sub/nested.webp'), RES, 16, 16), [255, 255, 0], 2, 'sub/nested.webp');
});

test('progress covers every candidate file and ends at the total', async () => {
  const { store } = await newLibrary();
  const seen: { done: number; total: number; current: string | null }[] = [];
  await store.importFolder(fixtures, { resolution: 16, onProgress: (p) => seen.push(p) });
  const total = EXPECTED_FILES.length + 4; // + bad.jpg, empty.png, notes.txt, truncated.jpg
  assert.deepEqual(seen[0], { done: 0, total, current: null });
  assert.deepEqual(seen.at(-1), { done: total, total, current: 'truncated.jpg' });
  assert.deepEqual(
    seen.map((p) => p.done),
    Array.from({ length: total + 1 }, (_, i) => i),
  );
});

test('list: fresh store re-lists from disk, newest first, skipping broken folders with a warning', async (t) => {
  const { dir, store } = await newLibrary();
  assert.deepEqual(await store.list(), [], 'a library without a datasets folder lists nothing');
  const first = await store.importFolder(path.join(fixtures, 'sub'), { name: 'first', resolution: 16 });
  await new Promise((r) => setTimeout(r, 5)); // distinct createdAt
  const second = await store.importFolder(fixtures, { name: 'second', resolution: 16 });

  await mkdir(path.join(dir, 'no-json'));
  await mkdir(path.join(dir, 'bad-json'));
  await writeFile(path.join(dir, 'bad-json', 'dataset.json'), '{ not json');
  await mkdir(path.join(dir, '.tmp-interrupted')); // a crashed import's leftovers never list...
  await mkdir(path.join(dir, '.tmp-crashed-long-ago'));
  const longAgo = new Date(Date.now() - 3 * 3600_000);
  await utimes(path.join(dir, '.tmp-crashed-long-ago'), longAgo, longAgo); // ...and old ones are swept
  await writeFile(path.join(dir, 'stray-file.txt'), 'x');

  const warn = t.mock.method(console, 'warn', () => undefined);
  const again = new DatasetStore(dir);
  const listed = await again.list();
  assert.deepEqual(
    listed.map((d) => d.id),
    [second.id, first.id],
  );
  assert.deepEqual(listed[0], second);
  assert.deepEqual(await again.get(first.id), first);
  const warnings = warn.mock.calls.map((c) => String(c.arguments[0]));
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes(path.join(dir, 'no-json'))), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes(path.join(dir, 'bad-json'))), warnings.join('\n'));
  const left = await readdir(dir);
  assert.ok(left.includes('.tmp-interrupted'), 'a fresh temp folder may belong to a live import: kept');
  assert.ok(!left.includes('.tmp-crashed-long-ago'), 'a stale temp folder is removed');
});

test('a missing folder, or a file given as the folder, is a bad_request naming the path', async () => {
  const { store } = await newLibrary();
  const missing = path.join(scratch, 'does-not-exist');
  await assert.rejects(store.importFolder(missing, { resolution: RES }), isStudioError('bad_request', missing, 'no such folder'));
  const file = path.join(fixtures, 'photo.jpg');
  await assert.rejects(store.importFolder(file, { resolution: RES }), isStudioError('bad_request', file));
  assert.deepEqual(await store.list(), []);
});

test('a folder without usable images fails naming it and the skipped count, leaving nothing behind', async () => {
  const { dir, store } = await newLibrary();
  const junk = await mkdtemp(path.join(scratch, 'junk-'));
  await writeFile(path.join(junk, 'a.png'), 'not a png');
  await writeFile(path.join(junk, 'b.txt'), 'text');
  await writeFile(path.join(junk, 'c.jpg'), Buffer.alloc(0));
  await assert.rejects(store.importFolder(junk, { resolution: RES }), isStudioError('bad_request', junk, '3 files skipped'));
  assert.deepEqual(await readdir(dir), [], 'no dataset and no .tmp folder remain');

  const emptyDir = await mkdtemp(path.join(scratch, 'empty-'));
  await assert.rejects(store.importFolder(emptyDir, { resolution: RES }), isStudioError('bad_request', emptyDir, '0 files skipped'));
});

test('an aborted import rejects and leaves no dataset and no temp folder', async () => {
  const { dir, store } = await newLibrary();
  const controller = new AbortController();
  await assert.rejects(
    store.importFolder(fixtures, {
      resolution: RES,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done === 2) controller.abort();
      },
    }),
    (error: unknown) => error instanceof Error && error.name === 'AbortError',
  );
  assert.deepEqual(await readdir(dir), []);
  assert.deepEqual(await store.list(), []);
});

test('get/readImages: unknown ids are not_found, a damaged images.u8 is named in the error', async () => {
  const { store } = await newLibrary();
  await assert.rejects(store.get('nope-123456'), isStudioError('not_found', 'nope-123456'));
  await assert.rejects(store.get('../etc'), isStudioError('not_found'));
  const info = await store.importFolder(fixtures, { resolution: 16 });
  const file = store.imagesFile(info.id);
  await truncate(file, 16 * 16 * 3 * 2 + 7);
  await assert.rejects(store.readImages(info.id), (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.ok(error.message.includes(file), error.message);
    assert.ok(error.message.includes(String(16 * 16 * 3 * 2 + 7)), error.message);
    assert.ok(error.message.includes(String(info.count * 16 * 16 * 3)), error.message);
    return true;
  });
});

test('preview: a square-ish PNG grid of the first images', async () => {
  const { store } = await newLibrary();
  const info = await store.importFolder(fixtures, { resolution: RES });
  const four = await sharp(await store.preview(info.id, 4)).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([four.info.width, four.info.height], [2 * RES, 2 * RES]);
  // Tile 0 is alpha.png (white), tile 2 (bottom-left) is red-wide.png (red).
  const at = (x: number, y: number): Rgb => {
    const o = (y * four.info.width + x) * four.info.channels;
    return [four.data[o] ?? -1, four.data[o + 1] ?? -1, four.data[o + 2] ?? -1];
  };
  assertClose(at(RES / 2, RES / 2), [255, 255, 255], 2, 'preview tile 0');
  assertClose(at(RES / 2, RES + RES / 2), RED, 12, 'preview tile 2');

  const one = await sharp(await store.preview(info.id, 1)).metadata();
  assert.deepEqual([one.width, one.height], [RES, RES]);
  // Asking for more than there are gives all of them (the stored preview).
  const all = await sharp(await store.preview(info.id, 64)).metadata();
  assert.deepEqual([all.width, all.height], [3 * RES, 2 * RES]);
});

test('unreadable files are skipped with their errno', { skip: process.getuid?.() === 0 ? 'running as root: permissions are not enforced' : false }, async (t) => {
  const { store } = await newLibrary();
  const src = await mkdtemp(path.join(scratch, 'perm-'));
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toFile(path.join(src, 'ok.png'));
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toFile(path.join(src, 'locked.png'));
  await chmod(path.join(src, 'locked.png'), 0o000);
  await mkdir(path.join(src, 'locked-dir'));
  await chmod(path.join(src, 'locked-dir'), 0o000);
  t.after(async () => {
    await chmod(path.join(src, 'locked.png'), 0o644);
    await chmod(path.join(src, 'locked-dir'), 0o755);
  });
  const info = await store.importFolder(src, { resolution: 16 });
  assert.equal(info.count, 1);
  assert.deepEqual(info.skipped, [
    { file: 'locked-dir/', reason: 'unreadable: EACCES' },
    { file: 'locked.png', reason: 'unreadable: EACCES' },
  ]);
});

test('dataset ids are valid contract ids for any name', () => {
  for (const name of ['Ünïcödé Fäces', '🎨🎨', '---', '', '  spaced  out  ', 'x'.repeat(300), '.hidden']) {
    const id = newDatasetId(name);
    assert.ok(Id.safeParse(id).success, `${JSON.stringify(name)} → ${id}`);
    assert.ok(!id.startsWith('.'), id);
  }
  assert.match(newDatasetId('Ünïcödé Fäces'), /^unicode-faces-[0-9a-f]{6}$/);
  assert.match(newDatasetId('🎨'), /^dataset-[0-9a-f]{6}$/);
});

test('the built-in Noto Emoji dataset: 3786 images at 64 px, built once, listed first', async () => {
  const { store, dir } = await newLibrary();
  // Concurrent first callers share one build; another process on the same library (a second store here)
  // builds in its own temp folder, and whichever lands second uses the one that landed first.
  const [info, same, otherProcess] = await Promise.all([store.ensureBuiltin(), store.ensureBuiltin(), new DatasetStore(dir).ensureBuiltin()]);
  assert.deepEqual(same, info);
  assert.deepEqual(otherProcess, info, 'both processes end up with the same dataset');
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('.tmp-')), [], 'no temp folder left behind');
  assert.equal(info.id, 'noto-emoji');
  assert.equal(info.name, 'Noto Emoji');
  assert.equal(info.builtin, true);
  assert.equal(info.resolution, 64);
  assert.equal(info.count, 3786);
  assert.deepEqual(info.skipped, []);
  assert.equal((await stat(store.imagesFile('noto-emoji'))).size, 3786 * 64 * 64 * 3);
  const { pixels } = await store.readImages('noto-emoji');
  // Emoji are transparent around the glyph: composited on white, the corners are white.
  assertClose(pixel(pixels, 0, 64, 0, 0), [255, 255, 255], 0, 'emoji 0 corner');
  assertClose(pixel(pixels, 3785, 64, 63, 63), [255, 255, 255], 0, 'last emoji corner');

  // The second call (even from a new store) reads the cached dataset instead of rebuilding.
  const again = await new DatasetStore(dir).ensureBuiltin();
  assert.deepEqual(again, info, 'same info, including createdAt: not rebuilt');
  assert.deepEqual(await store.ensureBuiltin(), info);

  const other = await store.importFolder(fixtures, { resolution: 16 });
  assert.deepEqual(
    (await store.list()).map((d) => d.id),
    ['noto-emoji', other.id],
  );
  const preview = await sharp(await store.preview('noto-emoji', 64)).metadata();
  assert.deepEqual([preview.width, preview.height], [8 * 64, 8 * 64]);
});

/** An EventSink that records and lets a test wait for a matching event. */
type ImportEvent = EventPayload<'datasets.importProgress'>;
type Recorded = { channel: EventChannel; payload: unknown };

function recordingSink(): EventSink & { events: Recorded[]; waitFor: (pred: (p: ImportEvent) => boolean) => Promise<ImportEvent> } {
  const events: Recorded[] = [];
  const waiters: { pred: (p: ImportEvent) => boolean; resolve: (p: ImportEvent) => void }[] = [];
  return {
    events,
    emit(channel, payload) {
      events.push({ channel, payload });
      if (channel !== 'datasets.importProgress') return;
      const p = payload as ImportEvent;
      for (const w of waiters.splice(0)) {
        if (w.pred(p)) w.resolve(p);
        else waiters.push(w);
      }
    },
    waitFor(pred) {
      const hit = events.find((e) => e.channel === 'datasets.importProgress' && pred(e.payload as ImportEvent));
      if (hit) return Promise.resolve(hit.payload as ImportEvent);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

test('handlers: import reports progress then done; bad paths are bad_request; list and preview', async () => {
  const { store } = await newLibrary();
  const sink = recordingSink();
  const h = datasetHandlers({ datasets: store, events: sink });

  const missing = path.join(scratch, 'nowhere');
  await assert.rejects(h['datasets.import']({ path: missing, resolution: 32 }), isStudioError('bad_request', missing));

  const started = Date.now();
  const { importId } = await h['datasets.import']({ path: fixtures, name: 'via handler', resolution: 32 });
  assert.ok(Id.safeParse(importId).success);
  const done = await sink.waitFor((p) => p.importId === importId && p.state !== 'running');
  const elapsedMs = Date.now() - started;
  assert.equal(done.state, 'done', done.message ?? '');
  assert.ok(done.dataset);
  assert.equal(done.dataset.name, 'via handler');
  assert.equal(done.dataset.count, EXPECTED_FILES.length);
  assert.equal(done.done, done.total);
  const running = sink.events.filter((e) => (e.payload as ImportEvent).state === 'running');
  assert.ok(running.length >= 1, 'at least the first progress event is sent');
  // 9 files give 10 progress callbacks; throttled to one per 100 ms, far fewer reach the UI.
  assert.ok(running.length <= 1 + Math.floor(elapsedMs / 100), `progress is throttled (${running.length} running events in ${elapsedMs} ms)`);

  const failing = await mkdtemp(path.join(scratch, 'only-junk-'));
  await writeFile(path.join(failing, 'x.png'), 'nope');
  const second = await h['datasets.import']({ path: failing, resolution: 32 });
  const failed = await sink.waitFor((p) => p.importId === second.importId && p.state !== 'running');
  assert.equal(failed.state, 'failed');
  assert.ok(failed.message?.includes(failing), failed.message ?? '');
  assert.equal(failed.dataset, null);

  const listed = await h['datasets.list']({});
  assert.deepEqual(
    listed.map((d) => d.id),
    ['noto-emoji', done.dataset.id],
  );

  const { image } = await h['datasets.preview']({ datasetId: done.dataset.id, count: 4 });
  assert.ok(image.startsWith('data:image/png;base64,'));
  const meta = await sharp(Buffer.from(image.slice('data:image/png;base64,'.length), 'base64')).metadata();
  assert.deepEqual([meta.width, meta.height], [64, 64]);
  await assert.rejects(h['datasets.preview']({ datasetId: 'missing-000000', count: 4 }), isStudioError('not_found'));
});
