/**
 * createDispatcher alone: the one validation boundary both hosts share. Whatever comes in, a typed
 * ResponseBody comes out; handlers only ever see params that match the contract, defaults filled in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResponseBody } from '../../shared/client.ts';
import type { ErrorCode, ParsedParams } from '../../shared/contract.ts';
import { StudioError, notFound } from '../../main/errors.ts';
import { createDispatcher } from '../../main/handlers/dispatch.ts';
import type { Handlers } from '../../main/handlers/types.ts';

const appInfo = { version: '0.0.0-test', host: 'web', libraryDir: '/tmp/library', backend: null } as const;

function failure(body: ResponseBody): { code: ErrorCode; message: string; details?: string[] } {
  assert.equal(body.ok, false, `expected a failure, got ${JSON.stringify(body)}`);
  if (body.ok) throw new Error('unreachable');
  return body.error;
}

/** A dispatcher over just the handlers a test needs (the others are never reached). */
function dispatcherWith(handlers: Partial<Handlers>) {
  return createDispatcher(handlers as Handlers);
}

describe('createDispatcher', () => {
  it('runs the handler and returns its result', async () => {
    const dispatch = dispatcherWith({ 'app.info': async () => appInfo });
    assert.deepEqual(await dispatch('app.info', {}), { ok: true, result: appInfo });
    // Missing params count as {} (a channel without params may be called without any).
    assert.deepEqual(await dispatch('app.info', undefined), { ok: true, result: appInfo });
  });

  it('answers an unknown channel with unknown_channel, naming the known ones', async () => {
    const dispatch = dispatcherWith({});
    for (const channel of ['runs.explode', '__proto__', 'toString', 42, null]) {
      const error = failure(await dispatch(channel, {}));
      assert.equal(error.code, 'unknown_channel', `channel ${String(channel)}`);
      assert.match(error.message, /known: app\.info, /);
    }
  });

  it('answers params that fail the schema with bad_request and details naming the field', async () => {
    let called = false;
    const dispatch = dispatcherWith({
      'runs.get': async () => {
        called = true;
        throw new Error('must not run');
      },
    });
    const wrongType = failure(await dispatch('runs.get', { runId: 42 }));
    assert.equal(wrongType.code, 'bad_request');
    assert.equal(wrongType.message, 'invalid params for runs.get');
    assert.ok(wrongType.details?.some((d) => d.startsWith('params.runId:')), JSON.stringify(wrongType.details));

    const badId = failure(await dispatch('runs.get', { runId: '../etc' }));
    assert.ok(badId.details?.some((d) => d.startsWith('params.runId:')), JSON.stringify(badId.details));

    const extraKey = failure(await dispatch('runs.get', { runId: 'run-1', evil: true }));
    assert.equal(extraKey.code, 'bad_request');
    assert.ok(extraKey.details?.some((d) => d.includes('evil')), JSON.stringify(extraKey.details));

    const nested = failure(await dispatch('export.samples', { runId: 'r', snapshotId: 's', seeds: [1, 'two'] }));
    assert.ok(nested.details?.some((d) => d.startsWith('params.seeds.1:')), JSON.stringify(nested.details));

    assert.equal(failure(await dispatch('runs.get', 'run-1')).code, 'bad_request');
    assert.equal(called, false);
  });

  it('carries a StudioError as its typed code, message and details', async () => {
    const dispatch = dispatcherWith({
      'runs.get': async ({ runId }) => {
        throw notFound(`run ${runId}`);
      },
      'training.start': async () => {
        throw new StudioError('conflict', 'a run is already training', ['run-7 is running']);
      },
    });
    assert.deepEqual(await dispatch('runs.get', { runId: 'run-1' }), { ok: false, error: { code: 'not_found', message: 'run run-1 was not found' } });
    assert.deepEqual(await dispatch('training.start', { datasetId: 'emoji', presetId: 'tiny' }), {
      ok: false,
      error: { code: 'conflict', message: 'a run is already training', details: ['run-7 is running'] },
    });
  });

  it('reports any other thrown value as internal, with its message', async (t) => {
    const logged = t.mock.method(console, 'error', () => {});
    const dispatch = dispatcherWith({
      'runs.list': async () => {
        throw new Error('disk on fire');
      },
      'datasets.list': async () => {
        throw 'a string';
      },
    });
    assert.deepEqual(await dispatch('runs.list', {}), { ok: false, error: { code: 'internal', message: 'runs.list failed: disk on fire' } });
    assert.deepEqual(failure(await dispatch('datasets.list', {})), { code: 'internal', message: 'datasets.list failed: a string' });
    assert.equal(logged.mock.callCount(), 2); // bugs are logged on the main side too
  });

  it('hands the handler parsed params with the contract\u2019s defaults applied', async () => {
    const seen: { preview?: ParsedParams<'datasets.preview'>; export?: ParsedParams<'export.samples'> } = {};
    const image = 'data:image/png;base64,AAAA';
    const dispatch = dispatcherWith({
      'datasets.preview': async (params) => {
        seen.preview = params;
        return { image };
      },
      'export.samples': async (params) => {
        seen.export = params;
        return { outDir: '/tmp/out', files: [], gridFile: null, grid: null };
      },
    });
    assert.deepEqual(await dispatch('datasets.preview', { datasetId: 'emoji' }), { ok: true, result: { image } });
    assert.deepEqual(seen.preview, { datasetId: 'emoji', count: 64 });
    await dispatch('datasets.preview', { datasetId: 'emoji', count: 9 });
    assert.equal(seen.preview?.count, 9);
    assert.equal(failure(await dispatch('datasets.preview', { datasetId: 'emoji', count: 0 })).code, 'bad_request');

    await dispatch('export.samples', { runId: 'r', snapshotId: 'step-00000400', seeds: [1, 2] });
    assert.equal(seen.export?.grid, true);
  });
});
