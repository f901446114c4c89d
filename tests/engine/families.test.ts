/**
 * Every family through the same invariants, on every backend present, with tiny configs (16×16, batch 8,
 * ≤16 feature maps) on synthetic coloured squares:
 *
 *  - the schedule: phasesAt() names what trainStep runs (n_critic, ProGAN growth, lazy regularization);
 *  - finite scalars, one per name; every trainable parameter of G and D moves; the tensor count is flat
 *    once every phase kind has run, across sampling and pack/unpack, and dispose() frees everything;
 *  - determinism: same seed and backend → identical first scalars; another seed → different;
 *  - checkpoints by name: a restored family generates the same images and continues training bit for
 *    bit (optimizer moments, EMA, w_avg, path-length mean, ProGAN progress and logged scalars included);
 *    generatorOnly loads G alone; a missing tensor is named;
 *  - TrainingLoop: resume from a snapshot writes the same final weights as the uninterrupted run.
 *
 * The options every family understands run here too (spectral norm, gradient clipping, RMSProp, n_critic,
 * and the equalized learning rate of the DCGAN networks), so their state is checked for exact resume.
 *
 * Run: npx tsx --test tests/engine/families.test.ts
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { SnapshotInfo } from '../../shared/contract.ts';
import { resolveConfig, type Family, type ResolvedConfig, type TrainingOverrides } from '../../shared/presets.ts';
import { packTensors, unpackTensors } from '../../main/engine/training/checkpoint.ts';
import { DataFeed } from '../../main/engine/training/dataFeed.ts';
import { createFamily, type GanFamily } from '../../main/engine/training/family.ts';
import { proganStage } from '../../main/engine/training/proganFamily.ts';
import { TrainingLoop, generatePixels, gridLatents } from '../../main/engine/training/trainingLoop.ts';
import { RunStore, snapshotId } from '../../main/runs/runStore.ts';
import { colouredSquares, generated, sameBits, stateValues, trainSteps } from './trainingFixtures.ts';
import { engineBackends, maxAbsDiff } from './gradcheck.ts';

const RES = 16;
const BATCH = 8;
const tiny = { resolution: RES, batchSize: BATCH, channelsAtOutput: 4, maxChannels: 16, latentDim: 16, seed: 7, gridSide: 2 } as const;

/** Per family: a tiny config whose first `steps` steps run every phase kind the family has. */
const cases: Array<{ family: Family; preset: string; label?: string; overrides: TrainingOverrides; steps: number; expect: (step: number) => string[] }> = [
  { family: 'dcgan', preset: 'quick-dcgan', overrides: {}, steps: 4, expect: () => ['D', 'G'] },
  // The options every family understands, all at once: spectral norm in D and G (u, v buffers in the
  // checkpoint), per-layer gradient clipping, RMSProp, n_critic.
  {
    family: 'dcgan',
    preset: 'quick-dcgan-stable',
    overrides: { spectralNormG: true, optimizer: 'rmsprop', nCritic: 2 },
    steps: 4,
    expect: (s) => (s % 2 === 0 ? ['D', 'G'] : ['D']),
  },
  // The equalized learning rate (weights stored N(0, 1), scaled at run time) with spectral norm in D and G
  // and gradient clipping; with WGAN's weight clip; with WGAN-GP's penalty (differentiated through it).
  {
    family: 'dcgan',
    preset: 'quick-dcgan-stable',
    label: 'quick-dcgan-stable + equalized lr',
    overrides: { equalizedLr: true, spectralNormG: true },
    steps: 4,
    expect: () => ['D', 'G'],
  },
  { family: 'wgan', preset: 'quick-wgan', overrides: { nCritic: 2 }, steps: 4, expect: (s) => (s % 2 === 0 ? ['D', 'G'] : ['D']) },
  { family: 'wgan', preset: 'quick-wgan', label: 'quick-wgan + equalized lr', overrides: { nCritic: 2, equalizedLr: true }, steps: 4, expect: (s) => (s % 2 === 0 ? ['D', 'G'] : ['D']) },
  { family: 'wgan-gp', preset: 'quick-wgan-gp', overrides: { nCritic: 2 }, steps: 4, expect: (s) => (s % 2 === 0 ? ['D', 'G'] : ['D']) },
  { family: 'wgan-gp', preset: 'quick-wgan-gp', label: 'quick-wgan-gp + equalized lr', overrides: { nCritic: 2, equalizedLr: true }, steps: 4, expect: (s) => (s % 2 === 0 ? ['D', 'G'] : ['D']) },
  {
    family: 'progan',
    preset: 'quick-progan',
    // 2 steps per phase at batch 8: 4 px (0–1), fade 8 (2–3), 8 (4–5), fade 16 (6–7), 16 (8–).
    overrides: { fadeKimg: 0.016, stableKimg: 0.016, mbstdGroup: 4, emaKimg: 0.1 },
    steps: 10,
    expect: (s) => ['D', 'G', ['4px', '8px fade', '8px', '16px fade', '16px'][Math.min(4, Math.floor(s / 2))] as string],
  },
  {
    family: 'stylegan2',
    preset: 'quick-stylegan2',
    overrides: { mappingLayers: 2, mbstdGroup: 4, gRegInterval: 2, dRegInterval: 3, emaKimg: 0.05, emaRampup: 0.05 },
    steps: 6,
    expect: (s) => ['Gmain', ...(s % 2 === 0 ? ['Greg'] : []), 'Dmain', ...(s % 3 === 0 ? ['Dreg'] : [])],
  },
  // Spectral norm on the He-scaled weights of the equalized-lr families, through their second-order
  // penalties (ProGAN's GP while growing, StyleGAN2's R1 and path length).
  {
    family: 'progan',
    preset: 'quick-progan',
    label: 'quick-progan + spectral norm D and G',
    overrides: { fadeKimg: 0.016, stableKimg: 0.016, mbstdGroup: 4, emaKimg: 0.1, spectralNormD: true, spectralNormG: true },
    steps: 8,
    expect: (s) => ['D', 'G', ['4px', '8px fade', '8px', '16px fade', '16px'][Math.min(4, Math.floor(s / 2))] as string],
  },
  {
    family: 'stylegan2',
    preset: 'quick-stylegan2',
    label: 'quick-stylegan2 + spectral norm D',
    overrides: { mappingLayers: 2, mbstdGroup: 4, gRegInterval: 2, dRegInterval: 3, emaKimg: 0.05, emaRampup: 0.05, spectralNormD: true },
    steps: 4,
    expect: (s) => ['Gmain', ...(s % 2 === 0 ? ['Greg'] : []), 'Dmain', ...(s % 3 === 0 ? ['Dreg'] : [])],
  },
];

function configFor(c: (typeof cases)[number], overrides: TrainingOverrides = {}): ResolvedConfig {
  return resolveConfig(c.preset, { ...tiny, ...c.overrides, ...overrides });
}

const DATA = colouredSquares(24, RES, 99);
const train = (family: GanFamily, feed: DataFeed, from: number, count: number): Promise<number[][]> => trainSteps(family, feed, BATCH, from, count);

const { run: backends, skipped } = await engineBackends();
const scratch = await mkdtemp(path.join(os.tmpdir(), 'gan-studio-families-test-'));
after(() => rm(scratch, { recursive: true, force: true }));

for (const s of skipped) test(`families on the ${s.name} backend`, { skip: `${s.name} skipped: ${s.reason}` }, () => undefined);

async function use(backend: string): Promise<void> {
  assert.ok(await tf.setBackend(backend), `tf.setBackend('${backend}') failed`);
}

test('ProGAN schedule: stable 4 px, then fade-in and stabilization per resolution, α linear in kimg', () => {
  const config = resolveConfig('quick-progan', { resolution: 32, batchSize: 10, fadeKimg: 1, stableKimg: 2 });
  // 100 steps per kimg: 4 px for 200 steps, fade 8 for 100, 8 px for 200, fade 16, 16, fade 32, then 32 px.
  const at = (step: number): string => {
    const s = proganStage(config, step);
    return `${s.resolution}:${s.alpha.toFixed(2)}:${s.phase}`;
  };
  assert.deepEqual([0, 199, 200, 250, 299, 300, 499, 500, 800, 1100, 1200, 99999].map(at), [
    '4:1.00:0',
    '4:1.00:0',
    '8:0.00:1',
    '8:0.50:1',
    '8:0.99:1',
    '8:1.00:2',
    '8:1.00:2',
    '16:0.00:3',
    '32:0.00:5',
    '32:1.00:6',
    '32:1.00:6',
    '32:1.00:6',
  ]);
});

for (const backend of backends) {
  const slow = backend === 'cpu';
  for (const c of cases) {
    const label = `${c.label ?? c.preset} [${backend}]`;

    test(`${label}: schedule, finite scalars, every parameter trains, flat tensor count, dispose frees all`, async () => {
      await use(backend);
      const config = configFor(c);
      const baseline = tf.memory().numTensors;
      const family = createFamily(config);
      const before = stateValues(family);
      const feed = new DataFeed(DATA, config.seed, config.xflip);
      const steps = c.steps + (slow ? 0 : 2);
      let flatFrom = -1;
      for (let step = 0; step < steps; step++) {
        assert.deepEqual([...family.phasesAt(step)], c.expect(step), `phases at step ${step}`);
        const [values] = await train(family, feed, step, 1);
        assert.equal((values as number[]).length, family.scalarNames.length);
        (values as number[]).forEach((v, i) => assert.ok(Number.isFinite(v), `step ${step}: ${family.scalarNames[i]} = ${v}`));
        // Every phase kind has run by c.steps − 1 (the list above); from then on nothing may accumulate.
        if (step === c.steps - 2) flatFrom = tf.memory().numTensors;
      }
      assert.equal(tf.memory().numTensors, flatFrom, `tensor count grew after step ${c.steps - 2} (a leak per step)`);
      const afterTraining = stateValues(family);
      const trainable = [...before.keys()].filter((name) => before.has(`optG.m.${name}`) || before.has(`optD.m.${name}`) || before.has(`optG.sq.${name}`) || before.has(`optD.sq.${name}`));
      assert.ok(trainable.some((n) => n.startsWith('g.')) && trainable.some((n) => n.startsWith('d.')), `trainable: ${trainable.join(', ')}`);
      for (const name of trainable) {
        // The critic's output bias cancels in E[D(fake)] − E[D(real)] (and in ∇ₓD): its gradient is exactly 0.
        if ((c.family === 'wgan' || c.family === 'wgan-gp') && name === 'd.fc.bias') continue;
        assert.ok(maxAbsDiff(afterTraining.get(name) as Float32Array, before.get(name) as Float32Array).diff > 0, `${name} never changed in ${steps} steps`);
      }
      const grid = gridLatents(config);
      const pixels = await generatePixels(family, grid, 3);
      grid.dispose();
      assert.equal(pixels.length, config.gridSide ** 2 * RES * RES * 3, 'samples are not at the training resolution');
      const { entries, bytes } = await packTensors(family.stateTensors());
      tf.dispose([...unpackTensors(entries, bytes).values()]);
      assert.equal(tf.memory().numTensors, flatFrom, 'sampling or pack/unpack leaked tensors');
      family.dispose();
      assert.equal(tf.memory().numTensors, baseline, 'dispose() did not free every tensor of the family');
    });

    test(`${label}: determinism — same seed, same first scalars; another seed, different`, async () => {
      await use(backend);
      const steps = slow ? 2 : 3;
      const runOnce = async (seed: number): Promise<number[][]> => {
        const config = configFor(c, { seed });
        const family = createFamily(config);
        const scalars = await train(family, new DataFeed(DATA, config.seed, config.xflip), 0, steps);
        family.dispose();
        return scalars;
      };
      const a = await runOnce(7);
      assert.deepEqual(await runOnce(7), a, 'two fresh families with the same seed and data diverged');
      assert.notDeepEqual((await runOnce(8))[0], a[0], 'another seed gave the same first step');
    });

    test(`${label}: checkpoint round trip — same images, bit-identical continued training; generatorOnly; missing tensors named`, async () => {
      await use(backend);
      const config = configFor(c);
      const first = Math.min(c.steps, slow ? 3 : 5);
      const more = slow ? 2 : 3;
      const original = createFamily(config);
      const feed = new DataFeed(DATA, config.seed, config.xflip);
      await train(original, feed, 0, first);
      const z = gridLatents(config);
      const { entries, bytes } = await packTensors(original.stateTensors());
      assert.equal(new Set(entries.map((e) => e.name)).size, entries.length, 'state tensor names are not unique');

      const restored = createFamily(config);
      const tensors = unpackTensors(entries, bytes);
      restored.loadState(tensors, { generatorOnly: false });
      const atCheckpoint = await generated(original, z);
      assert.ok(sameBits(await generated(restored, z), atCheckpoint), 'restored generator differs');
      const position = feed.state;
      const continued = await train(original, feed, first, more);
      const resumed = await train(restored, new DataFeed(DATA, config.seed, config.xflip, position), first, more);
      assert.deepEqual(resumed, continued, 'training after loadState diverged from the original');
      const finalRestored = stateValues(restored);
      for (const [name, values] of stateValues(original)) assert.ok(sameBits(finalRestored.get(name) as Float32Array, values), `${name} diverged after ${more} more steps`);

      const genOnly = createFamily(config);
      genOnly.loadState(tensors, { generatorOnly: true });
      const fresh = createFamily(config);
      assert.ok(sameBits(await generated(genOnly, z), atCheckpoint), 'generatorOnly did not load the generator');
      const genOnlyState = stateValues(genOnly);
      for (const [name, values] of stateValues(fresh)) {
        if (name.startsWith('d.')) assert.ok(sameBits(genOnlyState.get(name) as Float32Array, values), `generatorOnly changed ${name}`);
      }
      const dName = entries.map((e) => e.name).find((n) => n.startsWith('d.')) as string;
      const missing = new Map(tensors);
      missing.delete(dName);
      assert.throws(() => fresh.loadState(missing, { generatorOnly: false }), new RegExp(dName.replace(/\./g, '\\.')));
      const noOpt = new Map(tensors);
      noOpt.delete('optD.t');
      assert.throws(() => fresh.loadState(noOpt, { generatorOnly: false }), /optD\.t/);
      tf.dispose([...tensors.values(), z]);
      for (const f of [original, restored, genOnly, fresh]) f.dispose();
    });

    test(`${label}: TrainingLoop resumed from a snapshot writes the same final weights`, async () => {
      await use(backend);
      const steps = slow ? 4 : Math.max(6, c.steps);
      const config = configFor(c, { totalKimg: (steps * BATCH) / 1000, tickSteps: 2, sampleSteps: 100, snapshotSteps: 2 });
      const runs = new RunStore(path.join(scratch, `runs-${(c.label ?? c.preset).replace(/\W+/g, '-')}-${backend}`));
      const { id } = await runs.create({ name: `${c.family} resume`, config, datasetId: 'squares', datasetName: 'Coloured squares', backend });
      const snapshots: SnapshotInfo[] = [];
      const events = {
        progress: () => undefined,
        sample: () => undefined,
        snapshot: (s: SnapshotInfo) => void snapshots.push(s),
        alert: (_level: string, message: string) => assert.fail(`unexpected alert: ${message}`),
      };
      const control = { waitWhilePaused: () => Promise.resolve(), stopRequested: () => false, pause: () => assert.fail('the loop paused itself') };
      const loop = new TrainingLoop(id, config, DATA, runs, backend, { kind: 'fresh' });
      assert.deepEqual(await loop.run(control, events), { outcome: 'finished', message: null });
      loop.dispose();
      const last = snapshotId(steps);
      const weights = await readFile(path.join(runs.dir(id), 'snapshots', last, 'weights.bin'));
      const middle = snapshotId(steps - 2);
      const resumed = new TrainingLoop(id, config, DATA, runs, backend, { kind: 'resume', snapshotId: middle, checkpoint: await runs.readCheckpoint(id, middle) });
      assert.deepEqual(await resumed.run(control, events), { outcome: 'finished', message: null });
      resumed.dispose();
      const again = await readFile(path.join(runs.dir(id), 'snapshots', last, 'weights.bin'));
      assert.ok(again.equals(weights), `resuming from ${middle} wrote different ${last} weights than the uninterrupted run`);
    });
  }
}
