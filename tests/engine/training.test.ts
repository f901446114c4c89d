/**
 * Training end to end on tiny DCGANs (16×16, batch 8, ≤32 feature maps) over a synthetic dataset of
 * coloured squares generated here: parameter updates, finite and consistent scalars, a flat tensor count
 * (no leak), determinism, exact resume from packed state, and the TrainingLoop writing a real run folder
 * through RunStore (stats, images, snapshots, checksummed checkpoints, exact resume from a snapshot).
 *
 * Runs on every backend present (gradcheck.ts → engineBackends); cpu is ~10–30× slower than wasm, so it
 * runs fewer steps where the step count does not change what is checked.
 *
 * Run: npx tsx --test tests/engine/training.test.ts
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { StatsRecord, type SnapshotInfo, type TrainingProgress } from '../../shared/contract.ts';
import { resolveConfig, type ResolvedConfig, type TrainingOverrides } from '../../shared/presets.ts';
import { packTensors, unpackTensors } from '../../main/engine/training/checkpoint.ts';
import { DataFeed, type PackedImages } from '../../main/engine/training/dataFeed.ts';
import { createFamily, type GanFamily } from '../../main/engine/training/family.ts';
import { TrainingLoop, generatePixels, gridLatents } from '../../main/engine/training/trainingLoop.ts';
import { RunStore, snapshotId } from '../../main/runs/runStore.ts';
import { colouredSquares, generated, sameBits, stateValues, trainSteps } from './trainingFixtures.ts';
import { engineBackends, maxAbsDiff } from './gradcheck.ts';

const RES = 16;
const BATCH = 8;

/** The tiny config every test trains: G 4→8→16, D 16→8→4, ≤32 channels. */
function tinyConfig(overrides: TrainingOverrides = {}): ResolvedConfig {
  return resolveConfig('quick-32', { resolution: RES, batchSize: BATCH, channelsAtOutput: 8, maxChannels: 32, latentDim: 16, seed: 7, gridSide: 2, ...overrides });
}

const DATA = colouredSquares(24, RES, 99);
const train = (family: GanFamily, feed: DataFeed, from: number, count: number): Promise<number[][]> => trainSteps(family, feed, BATCH, from, count);

const isPng = (bytes: Uint8Array): boolean => Buffer.from(bytes.subarray(0, 8)).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

const { run: backends, skipped } = await engineBackends();
const scratch = await mkdtemp(path.join(os.tmpdir(), 'gan-studio-training-test-'));
after(() => rm(scratch, { recursive: true, force: true }));

for (const s of skipped) {
  test(`training on the ${s.name} backend`, { skip: `${s.name} skipped: ${s.reason}` }, () => undefined);
}

async function use(backend: string): Promise<void> {
  assert.ok(await tf.setBackend(backend), `tf.setBackend('${backend}') failed`);
  assert.equal(tf.getBackend(), backend);
}

for (const backend of backends) {
  const slow = backend === 'cpu';

  test(`one step moves every trainable parameter of G and D by Adam's first step (max |Δ| = lr) [${backend}]`, async () => {
    await use(backend);
    const config = tinyConfig();
    const family = createFamily(config);
    const before = stateValues(family);
    await train(family, new DataFeed(DATA, config.seed, config.xflip), 0, 1);
    const afterStep = stateValues(family);
    const trainable = [...before.keys()].filter((name) => before.has(`optG.m.${name}`) || before.has(`optD.m.${name}`));
    assert.ok(trainable.some((n) => n.startsWith('g.')) && trainable.some((n) => n.startsWith('d.')), `trainable: ${trainable.join(', ')}`);
    for (const name of ['g.fc.weight', 'g.up0.weight', 'g.rgb.weight', 'g.rgb.bias', 'g.fc.bn.gamma', 'd.down0.weight', 'd.down1.weight', 'd.down1.gamma', 'd.fc.weight', 'd.fc.bias']) {
      assert.ok(trainable.includes(name), `${name} is not a trainable parameter with Adam state`);
    }
    for (const name of trainable) {
      const lr = name.startsWith('g.') ? config.gLearningRate : config.dLearningRate;
      // Adam's first step is lr·g/(|g| + 1e-8): exactly lr for every element whose gradient is not tiny.
      const { diff } = maxAbsDiff(afterStep.get(name) as Float32Array, before.get(name) as Float32Array);
      assert.ok(diff > 0.99 * lr && diff < 1.01 * lr, `${name}: max |Δ| = ${diff} after one step, expected ≈ lr = ${lr}`);
    }
    // BatchNorm running statistics of G moved (momentum 0.1), optimizer step counters are 1.
    for (const name of ['g.fc.bn.runningMean', 'g.fc.bn.runningVar', 'g.up0.bn.runningMean', 'g.up0.bn.runningVar']) {
      assert.ok(maxAbsDiff(afterStep.get(name) as Float32Array, before.get(name) as Float32Array).diff > 1e-6, `${name} did not change`);
    }
    assert.deepEqual([afterStep.get('optG.t')?.[0], afterStep.get('optD.t')?.[0]], [1, 1]);
    family.dispose();
  });

  const longSteps = slow ? 10 : 40;
  const earlyStep = slow ? 3 : 5;
  test(`${longSteps} steps: every scalar finite, L_D = L_D_real + L_D_fake, tensor count flat from step ${earlyStep} to ${longSteps}, across generatePixels and pack/unpack [${backend}]`, async () => {
    await use(backend);
    const config = tinyConfig();
    const baseline = tf.memory().numTensors;
    const family = createFamily(config);
    const feed = new DataFeed(DATA, config.seed, config.xflip);
    const names = family.scalarNames;
    assert.deepEqual([...names], ['loss/G', 'loss/D', 'loss/D_real', 'loss/D_fake', 'score/real', 'score/fake']);
    const at = (name: string): number => names.indexOf(name);
    let tensorsEarly = -1;
    let bytesEarly = -1;
    for (let step = 0; step < longSteps; step++) {
      const [values] = await train(family, feed, step, 1);
      const v = values as number[];
      assert.equal(v.length, names.length, `step ${step}: ${v.length} scalars for ${names.length} names`);
      v.forEach((x, i) => assert.ok(Number.isFinite(x), `step ${step}: ${names[i]} = ${x}`));
      const dParts = (v[at('loss/D_real')] as number) + (v[at('loss/D_fake')] as number);
      assert.ok(Math.abs((v[at('loss/D')] as number) - dParts) <= 1e-5, `step ${step}: loss/D ${v[at('loss/D')]} ≠ D_real + D_fake ${dParts}`);
      for (const name of ['loss/G', 'loss/D_real', 'loss/D_fake']) assert.ok((v[at(name)] as number) > 0, `step ${step}: ${name} = ${v[at(name)]} (a softplus mean is > 0)`);
      if (step + 1 === earlyStep) {
        tensorsEarly = tf.memory().numTensors;
        bytesEarly = tf.memory().numBytes;
      }
    }
    assert.equal(tf.memory().numTensors, tensorsEarly, `tensor count grew from step ${earlyStep} to ${longSteps} (a leak per step)`);
    assert.equal(tf.memory().numBytes, bytesEarly, `tensor bytes grew from step ${earlyStep} to ${longSteps}`);

    const grid = gridLatents(config);
    const pixels = await generatePixels(family, grid, 3); // chunks of 3 over 4 latents: a full and a partial chunk
    const whole = await generatePixels(family, grid);
    grid.dispose();
    assert.equal(pixels.length, config.gridSide ** 2 * RES * RES * 3);
    // Eval-mode BatchNorm (running statistics) makes an image depend on its latent only, not on the chunk.
    const chunking = maxAbsDiff(pixels, whole);
    assert.ok(chunking.diff <= 1, `generatePixels in chunks of 3 and of 32 differ by up to ${chunking.diff}/255`);
    assert.ok(new Set(pixels).size > 1, 'the sample grid is one flat colour');
    assert.equal(tf.memory().numTensors, tensorsEarly, 'generatePixels leaked tensors');

    const { entries, bytes } = await packTensors(family.stateTensors());
    const unpacked = unpackTensors(entries, bytes);
    assert.equal(unpacked.size, family.stateTensors().length);
    tf.dispose([...unpacked.values()]);
    assert.equal(tf.memory().numTensors, tensorsEarly, 'pack/unpack leaked tensors');

    family.dispose();
    assert.equal(tf.memory().numTensors, baseline, 'dispose() did not free every tensor of the family');
  });

  const detSteps = slow ? 3 : 5;
  test(`determinism: same seed → identical first ${detSteps} scalar vectors; another seed → different [${backend}]`, async () => {
    await use(backend);
    const runOnce = async (seed: number): Promise<number[][]> => {
      const config = tinyConfig({ seed });
      const family = createFamily(config);
      const scalars = await train(family, new DataFeed(DATA, config.seed, config.xflip), 0, detSteps);
      family.dispose();
      return scalars;
    };
    const a = await runOnce(7);
    const b = await runOnce(7);
    assert.deepEqual(b, a, 'two fresh families with the same seed and data diverged');
    const c = await runOnce(8);
    assert.notDeepEqual(c[0], a[0], 'another seed gave the same first step');
  });

  test(`checkpoint round trip at the family level: identical images and identical continued training [${backend}]`, async () => {
    await use(backend);
    const config = tinyConfig();
    const first = slow ? 2 : 5;
    const more = slow ? 2 : 3;
    const original = createFamily(config);
    const feed = new DataFeed(DATA, config.seed, config.xflip);
    await train(original, feed, 0, first);
    const z = gridLatents(config);

    const { entries, bytes } = await packTensors(original.stateTensors());
    const restored = createFamily(config);
    assert.ok(!sameBits(await generated(restored, z), await generated(original, z)), 'a fresh family already generates what the trained one does');
    const tensors = unpackTensors(entries, bytes);
    restored.loadState(tensors, { generatorOnly: false });
    tf.dispose([...tensors.values()]);
    assert.ok(sameBits(await generated(restored, z), await generated(original, z)), 'restored generator differs from the original');
    const restoredState = stateValues(restored);
    for (const [name, values] of stateValues(original)) assert.ok(sameBits(restoredState.get(name) as Float32Array, values), `${name} differs after loadState`);

    // Continue both on the same batches: the restored family must follow the original bit for bit.
    const position = feed.state;
    const continued = await train(original, feed, first, more);
    const resumed = await train(restored, new DataFeed(DATA, config.seed, config.xflip, position), first, more);
    assert.deepEqual(resumed, continued, 'training after loadState diverged from the original');
    const finalRestored = stateValues(restored);
    for (const [name, values] of stateValues(original)) assert.ok(sameBits(finalRestored.get(name) as Float32Array, values), `${name} diverged after ${more} more steps`);
    z.dispose();
    original.dispose();
    restored.dispose();
  });

  test(`loadState: generatorOnly loads G and leaves D; a missing or mis-shaped tensor is named [${backend}]`, async () => {
    await use(backend);
    const config = tinyConfig();
    const source = createFamily(config);
    await train(source, new DataFeed(DATA, config.seed, config.xflip), 0, 1);
    const { entries, bytes } = await packTensors(source.stateTensors());
    const z = gridLatents(config);

    const target = createFamily(config);
    const dBefore = stateValues(target).get('d.fc.weight') as Float32Array;
    const tensors = unpackTensors(entries, bytes);
    target.loadState(tensors, { generatorOnly: true });
    assert.ok(sameBits(await generated(target, z), await generated(source, z)), 'generatorOnly did not load the generator');
    assert.ok(sameBits(stateValues(target).get('d.fc.weight') as Float32Array, dBefore), 'generatorOnly changed the discriminator');

    const missing = new Map(tensors);
    missing.delete('d.down1.gamma');
    assert.throws(() => target.loadState(missing, { generatorOnly: false }), /d\.down1\.gamma/);
    const noOptimizer = new Map(tensors);
    noOptimizer.delete('optD.t');
    assert.throws(() => target.loadState(noOptimizer, { generatorOnly: false }), /optD\.t/);
    const wrongShape = tf.zeros([4]);
    const misShaped = new Map(tensors).set('g.rgb.bias', wrongShape);
    assert.throws(() => target.loadState(misShaped, { generatorOnly: true }), /g\.rgb\.bias has shape \[4\] in the checkpoint but \[3\] in the model/);
    tf.dispose([...tensors.values(), wrongShape, z]);
    source.dispose();
    target.dispose();
  });

  test(`TrainingLoop + RunStore: run folder, stats, snapshots, checksummed checkpoints, exact resume from a snapshot [${backend}]`, async (t: TestContext) => {
    await use(backend);
    // 5 steps (0.04 kimg at batch 8), a stats line and a snapshot every 2 steps, plus the final one at 5.
    const config = tinyConfig({ totalKimg: 0.04, tickSteps: 2, sampleSteps: 2, snapshotSteps: 2, gridSide: 2 });
    const runs = new RunStore(path.join(scratch, `runs-${backend}`));
    const summary = await runs.create({ name: `loop test ${backend}`, config, datasetId: 'squares', datasetName: 'Coloured squares', backend });
    const runId = summary.id;
    const dir = runs.dir(runId);
    assert.deepEqual(await runs.config(runId), config, 'config.json does not hold the config');

    const progress: TrainingProgress[] = [];
    const samples: Array<{ step: number; png: Buffer }> = [];
    const snapshots: SnapshotInfo[] = [];
    const events = {
      progress: (p: TrainingProgress) => void progress.push(p),
      sample: (s: { step: number; kimg: number; png: Buffer }) => void samples.push({ step: s.step, png: s.png }),
      snapshot: (s: SnapshotInfo) => void snapshots.push(s),
      alert: (_level: string, message: string) => assert.fail(`unexpected alert: ${message}`),
    };
    const control = { waitWhilePaused: () => Promise.resolve(), stopRequested: () => false, pause: () => assert.fail('the loop paused itself') };

    const baseline = tf.memory().numTensors;
    const loop = new TrainingLoop(runId, config, DATA, runs, backend, { kind: 'fresh' });
    assert.deepEqual(await loop.run(control, events), { outcome: 'finished', message: null });
    assert.equal(loop.step, 5);
    loop.dispose();
    assert.equal(tf.memory().numTensors, baseline, 'the loop left tensors behind after dispose()');

    await t.test('events', () => {
      assert.deepEqual(progress.map((p) => p.step), [2, 4, 5]);
      assert.deepEqual(samples.map((s) => s.step), [0, 2, 4, 5]);
      assert.deepEqual(snapshots.map((s) => s.id), [2, 4, 5].map(snapshotId));
      assert.ok(snapshots.every((s) => s.hasCheckpoint));
      assert.ok(samples.every((s) => isPng(s.png)));
    });

    await t.test('stats.jsonl: one parseable line per tick, finite losses by name', async () => {
      const lines = (await readFile(path.join(dir, 'stats.jsonl'), 'utf8')).split('\n').filter((l) => l.trim());
      const records = lines.map((l) => StatsRecord.parse(JSON.parse(l)));
      assert.deepEqual(records.map((r) => r.step), [2, 4, 5]);
      for (const r of records) {
        assert.equal(r.kimg, (r.step * BATCH) / 1000);
        assert.deepEqual(Object.keys(r.losses).sort(), ['loss/D', 'loss/D_fake', 'loss/D_real', 'loss/G', 'score/fake', 'score/real']);
        for (const [name, value] of Object.entries(r.losses)) assert.ok(Number.isFinite(value), `step ${r.step}: ${name} = ${value}`);
      }
      assert.deepEqual(await runs.readStats(runId), records);
    });

    await t.test('reals.png and snapshot folders', async () => {
      const reals = await readFile(path.join(dir, 'reals.png'));
      assert.ok(isPng(reals));
      const meta = await sharp(reals).metadata();
      assert.deepEqual([meta.width, meta.height], [2 * RES, 2 * RES], 'reals.png is not a 2×2 grid of 16×16 images');
      const folders = (await readdir(path.join(dir, 'snapshots'))).sort();
      assert.deepEqual(folders, [2, 4, 5].map(snapshotId), 'unexpected snapshot folders (a leftover temp folder?)');
      for (const id of folders) {
        const files = (await readdir(path.join(dir, 'snapshots', id))).sort();
        assert.deepEqual(files, ['checkpoint.json', 'grid.png', 'weights.bin'], `${id}: ${files.join(', ')}`);
        assert.ok(isPng(await readFile(path.join(dir, 'snapshots', id, 'grid.png'))), `${id}/grid.png is not a PNG`);
        assert.ok((await stat(path.join(dir, 'snapshots', id, 'weights.bin'))).size > 0);
      }
      assert.deepEqual((await runs.listSnapshots(runId)).map((s) => [s.id, s.hasCheckpoint]), folders.map((id) => [id, true]));
    });

    const last = snapshotId(5);
    const lastWeights = await readFile(path.join(dir, 'snapshots', last, 'weights.bin'));

    await t.test('readCheckpoint verifies; the checkpoint reproduces the snapshot grid exactly', async () => {
      const checkpoint = await runs.readCheckpoint(runId, last);
      const { manifest } = checkpoint;
      assert.equal(manifest.step, 5);
      assert.equal(manifest.backend, backend);
      assert.deepEqual(manifest.config, config);
      assert.equal(manifest.trainerState.step, 5);
      assert.equal(manifest.weightsByteLength, checkpoint.weights.byteLength);
      const family = createFamily(config);
      assert.deepEqual(manifest.tensors.map((e) => e.name), family.stateTensors().map(([name]) => name));
      const tensors = unpackTensors(manifest.tensors, checkpoint.weights);
      family.loadState(tensors, { generatorOnly: true });
      tf.dispose([...tensors.values()]);
      const z = gridLatents(config);
      const pixels = await generatePixels(family, z);
      z.dispose();
      family.dispose();
      const grid = await sharp(await readFile(path.join(dir, 'snapshots', last, 'grid.png'))).raw().toBuffer({ resolveWithObject: true });
      assert.equal(grid.info.channels, 3);
      // Re-tile the generated images into the grid layout (2×2) and compare pixel for pixel.
      const tiled = new Uint8Array(grid.data.length);
      for (let i = 0; i < 4; i++) {
        for (let y = 0; y < RES; y++) {
          const src = (i * RES * RES + y * RES) * 3;
          const dst = ((Math.floor(i / 2) * RES + y) * 2 * RES + (i % 2) * RES) * 3;
          tiled.set(pixels.subarray(src, src + RES * 3), dst);
        }
      }
      assert.ok(sameBits(tiled, new Uint8Array(grid.data)), 'images from the loaded checkpoint differ from the snapshot grid');
    });

    await t.test('resume from step 4 in the same run: the step-5 checkpoint comes out byte-identical', async () => {
      const checkpoint = await runs.readCheckpoint(runId, snapshotId(4));
      const resumed = new TrainingLoop(runId, config, DATA, runs, backend, { kind: 'resume', snapshotId: snapshotId(4), checkpoint });
      assert.equal(resumed.step, 4);
      const resumedSnapshots: SnapshotInfo[] = [];
      assert.deepEqual(await resumed.run(control, { ...events, snapshot: (s) => void resumedSnapshots.push(s) }), { outcome: 'finished', message: null });
      resumed.dispose();
      assert.deepEqual(resumedSnapshots.map((s) => s.id), [last]);
      const again = await readFile(path.join(dir, 'snapshots', last, 'weights.bin'));
      assert.ok(again.equals(lastWeights), 'the resumed run wrote different step-5 weights than the uninterrupted run');
      const manifest = (await runs.readCheckpoint(runId, last)).manifest;
      assert.deepEqual(manifest.trainerState.feed, { epoch: 1, index: 16 }, '5 batches of 8 from 24 images end at epoch 1, index 16');
      assert.equal(tf.memory().numTensors, baseline, 'the resumed loop left tensors behind');
    });

    await t.test('a resume says when the images changed since the snapshot: same count and other content, or another count', async () => {
      const checkpoint = await runs.readCheckpoint(runId, snapshotId(4));
      assert.equal(checkpoint.manifest.trainerState.datasetCount, DATA.count);
      assert.match(String(checkpoint.manifest.trainerState.datasetSha256), /^[0-9a-f]{64}$/);
      const notesWith = (images: PackedImages): string[] => {
        const loop = new TrainingLoop(runId, config, images, runs, backend, { kind: 'resume', snapshotId: snapshotId(4), checkpoint });
        const notes = [...loop.notes];
        loop.dispose();
        return notes;
      };
      const changed = (notes: string[]): string[] => notes.filter((n) => /continuation is not exact/.test(n));
      assert.deepEqual(changed(notesWith(DATA)), [], 'the same images: nothing to say');
      // One pixel of one image differs: a rebuilt dataset with the same count.
      const edited = { ...DATA, pixels: DATA.pixels.slice() };
      edited.pixels[5] = (edited.pixels[5] as number) ^ 0x80;
      assert.match(changed(notesWith(edited)).join('\n'), new RegExp(`images changed since this snapshot \\(${DATA.count} images then and now, different content\\)`));
      const fewer = { ...DATA, count: DATA.count - 8, pixels: DATA.pixels.slice(0, (DATA.count - 8) * RES * RES * 3) };
      assert.match(changed(notesWith(fewer)).join('\n'), new RegExp(`\\(${DATA.count} images then, ${DATA.count - 8} now\\)`));
      // A snapshot from before the hash was recorded: the count alone decides.
      const older = { ...checkpoint, manifest: { ...checkpoint.manifest, trainerState: { ...checkpoint.manifest.trainerState, datasetSha256: undefined } } };
      const loop = new TrainingLoop(runId, config, edited, runs, backend, { kind: 'resume', snapshotId: snapshotId(4), checkpoint: older });
      assert.deepEqual(changed(loop.notes), []);
      loop.dispose();
      assert.equal(tf.memory().numTensors, baseline, 'the loops left tensors behind');
    });

    await t.test("a flipped byte in weights.bin is refused, naming the file and 'checksum'", async () => {
      const file = path.join(dir, 'snapshots', last, 'weights.bin');
      const bytes = new Uint8Array(await readFile(file));
      const at = Math.floor(bytes.length / 2);
      bytes[at] = (bytes[at] as number) ^ 0x01;
      await writeFile(file, bytes);
      await assert.rejects(runs.readCheckpoint(runId, last), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.ok(error.message.includes(file), `message does not name ${file}: ${error.message}`);
        assert.match(error.message, /checksum/);
        return true;
      });
      // The other snapshots are untouched and still verify.
      await runs.readCheckpoint(runId, snapshotId(4));
    });
  });

  test(`TrainingLoop stop: stops between steps and keeps the work as a final snapshot [${backend}]`, async () => {
    await use(backend);
    const config = tinyConfig({ totalKimg: 1, tickSteps: 2, sampleSteps: 100, snapshotSteps: 100 });
    const runs = new RunStore(path.join(scratch, `runs-stop-${backend}`));
    const { id } = await runs.create({ name: 'stop test', config, datasetId: 'squares', datasetName: 'Coloured squares', backend });
    const loop = new TrainingLoop(id, config, DATA, runs, backend, { kind: 'fresh' });
    const snapshots: SnapshotInfo[] = [];
    let checks = 0;
    const outcome = await loop.run(
      { waitWhilePaused: () => Promise.resolve(), stopRequested: () => ++checks > 3, pause: () => assert.fail('the loop paused itself') },
      { progress: () => undefined, sample: () => undefined, snapshot: (s) => void snapshots.push(s), alert: (_l, m) => assert.fail(m) },
    );
    assert.deepEqual(outcome, { outcome: 'stopped', message: null });
    assert.equal(loop.step, 3);
    loop.dispose();
    assert.deepEqual(snapshots.map((s) => s.id), [snapshotId(3)]);
    const checkpoint = await runs.readCheckpoint(id, snapshotId(3));
    assert.equal(checkpoint.manifest.step, 3);
  });
}

const crossSkip = backends.includes('wasm') && backends.includes('cpu') ? false : 'needs both the wasm and cpu backends';
test('wasm and cpu agree on the first 3 training steps (same seed, same data)', { skip: crossSkip }, async () => {
  const results: number[][][] = [];
  for (const backend of ['wasm', 'cpu']) {
    await use(backend);
    const config = tinyConfig();
    const family = createFamily(config);
    results.push(await train(family, new DataFeed(DATA, config.seed, config.xflip), 0, 3));
    family.dispose();
  }
  const [wasm, cpu] = results as [number[][], number[][]];
  wasm.forEach((step, i) => {
    const { diff, scale } = maxAbsDiff(step, cpu[i] as number[]);
    if (process.env.GRADCHECK_VERBOSE) console.log(`[cross-backend] step ${i}: max |wasm − cpu| = ${diff.toExponential(2)}`);
    // Only float32 rounding differs between the backends; it grows through a few steps but stays ≪ 1e-3.
    assert.ok(diff <= 1e-3 * Math.max(1, scale), `step ${i}: wasm ${step.join(', ')} vs cpu ${(cpu[i] as number[]).join(', ')}`);
  });
});
