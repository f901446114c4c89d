/**
 * The main process's one handle on the engine process: starts it (through an injected spawner, so the
 * same code runs under Electron's utilityProcess and a forked Node child), restarts it after a crash,
 * sends it commands, and turns what it reports into contract events and run.json updates. Handlers use
 * the engine only through this class.
 */
import { createRequire } from 'node:module';
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { BackendInfo, RunState, RunSummary, TrainingProgress } from '../../shared/contract.ts';
import type { ResolvedConfig } from '../../shared/presets.ts';
import { StudioError, conflict, messageOf } from '../errors.ts';
import type { EventSink } from '../handlers/types.ts';
import type { RunStore } from '../runs/runStore.ts';
import { FromEngine, type DatasetRef, type ExportRequest, type ExportResult, type ToEngine, type TrainInit } from './protocol.ts';
import type { EngineChild, EngineSpawner } from './spawner.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A forked Node process running worker.ts through tsx's loader (the `serve` host, the CLI, tests). */
export const forkEngine: EngineSpawner = () => {
  const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = fork(path.join(here, 'worker.ts'), [], { execArgv: ['--import', tsxLoader], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    pid: child.pid,
    send: (message) => child.send(message as object),
    onMessage: (listener) => child.on('message', listener),
    onExit: (listener) => child.on('exit', (code, signal) => listener(code, signal)),
    kill: () => child.kill('SIGKILL'),
  };
};

const LIVE: ReadonlySet<RunState> = new Set(['starting', 'running', 'paused', 'stopping']);

interface LiveRun {
  summary: RunSummary;
  progress: TrainingProgress | null;
  lastPersist: number;
  /** Settled once the engine has built and loaded the networks (or failed to). */
  started: { resolve(notes: string[]): void; reject(error: Error): void } | null;
}

export class EngineSupervisor {
  private child: EngineChild | null = null;
  private ready: Promise<BackendInfo> | null = null;
  private backendInfo: BackendInfo | null = null;
  private live: LiveRun | null = null;
  private nextJob = 1;
  private readonly jobs = new Map<number, { resolve(r: ExportResult): void; reject(e: Error): void }>();
  private closing = false;
  /** Engine messages are handled one after another, so events keep the engine's order. */
  private inbox: Promise<void> = Promise.resolve();

  constructor(
    private readonly spawn: EngineSpawner,
    private readonly runs: RunStore,
    private readonly events: EventSink,
  ) {}

  get backend(): BackendInfo | null {
    return this.backendInfo;
  }

  /** The engine process's id, for diagnostics (and the crash tests). */
  get enginePid(): number | undefined {
    return this.child?.pid;
  }

  /** Start the engine process if it is not running; resolves with its backend once it is ready. */
  start(): Promise<BackendInfo> {
    if (this.ready) return this.ready;
    this.events.emit('engine.status', { state: 'starting', backend: null, message: null });
    const child = this.spawn();
    this.child = child;
    this.ready = new Promise<BackendInfo>((resolve, reject) => {
      child.onMessage((raw) => {
        const parsed = FromEngine.safeParse(raw);
        if (!parsed.success) {
          console.error(`[supervisor] malformed message from the engine: ${parsed.error.issues[0]?.message ?? ''}`);
          return;
        }
        const message = parsed.data;
        if (message.type === 'ready') {
          this.backendInfo = message.backend;
          this.events.emit('engine.status', { state: 'ready', backend: message.backend, message: null });
          resolve(message.backend);
        } else if (message.type === 'fatal') {
          reject(new StudioError('engine_failed', `the engine could not start: ${message.message}`));
        } else {
          this.inbox = this.inbox.then(() => this.onEngineMessage(message)).catch((error: unknown) => {
            console.error(`[supervisor] handling ${message.type} failed: ${messageOf(error)}`);
          });
        }
      });
      child.onExit((code, signal) => {
        const why = `the engine process exited (${signal ?? `code ${code}`})`;
        reject(new StudioError('engine_failed', why));
        this.inbox = this.inbox.then(() => this.onEngineExit(child, why)).catch(() => undefined);
      });
    });
    // A failed start is reported to whoever awaits it; keep it from being an unhandled rejection here.
    this.ready.catch(() => undefined);
    return this.ready;
  }

  private async onEngineExit(child: EngineChild, why: string): Promise<void> {
    if (this.child !== child) return;
    this.child = null;
    this.ready = null;
    for (const job of this.jobs.values()) job.reject(new StudioError('engine_failed', `${why} during an export`));
    this.jobs.clear();
    if (this.closing) return;
    this.events.emit('engine.status', { state: 'crashed', backend: this.backendInfo, message: why });
    const live = this.live;
    if (live) {
      this.live = null;
      live.started?.reject(new StudioError('engine_failed', `${why} while loading the run`));
      await this.runs.release(live.summary.id).catch(() => undefined);
      // The kernel's out-of-memory killer sends SIGKILL; SIGTERM/SIGINT/SIGHUP come from a person or a service manager.
      const hint = /SIGKILL/.test(why) ? 'often out of memory: try a smaller batch or resolution' : /SIG(TERM|INT|HUP)/.test(why) ? 'it was stopped from outside the studio' : "the engine's own messages are on the studio's standard error";
      const message = `${why} at step ${live.progress?.step ?? live.summary.step}; the newest snapshot is kept (${hint})`;
      await this.setRunState(live.summary.id, 'failed', message);
    }
  }

  private async onEngineMessage(message: Exclude<FromEngine, { type: 'ready' | 'fatal' }>): Promise<void> {
    switch (message.type) {
      case 'started':
        if (this.live?.summary.id === message.runId) {
          this.live.started?.resolve(message.notes);
          this.live.started = null;
        }
        return;
      case 'state':
        // Settle our own bookkeeping before anyone hears of the new state: a UI that starts the next run
        // on 'finished' must find the engine free.
        if (!LIVE.has(message.state)) {
          if (this.live?.summary.id === message.runId) {
            this.live.started?.reject(new StudioError('engine_failed', message.message ?? `the run ${message.state} before it started`));
            this.live = null;
          }
          await this.runs.release(message.runId).catch(() => undefined);
        }
        await this.setRunState(message.runId, message.state, message.message);
        return;
      case 'alert':
        this.events.emit('training.alert', { runId: message.runId, step: message.step, level: message.level, message: message.message });
        return;
      case 'progress': {
        const live = this.live;
        if (!live || live.summary.id !== message.progress.runId) return;
        live.progress = message.progress;
        this.events.emit('training.progress', message.progress);
        // run.json follows progress about once a second; stats.jsonl has every tick.
        if (Date.now() - live.lastPersist > 1000) {
          live.lastPersist = Date.now();
          live.summary = await this.runs.update(live.summary.id, {
            step: message.progress.step,
            kimg: message.progress.kimg,
            trainingSec: message.progress.elapsedSec,
          });
        }
        return;
      }
      case 'sample':
        this.events.emit('training.sample', { runId: message.runId, step: message.step, kimg: message.kimg, image: `data:image/png;base64,${message.png}` });
        return;
      case 'snapshot': {
        // What is on disk is the run's progress, live or not (a final snapshot can follow the last tick).
        const summary = await this.runs.update(message.runId, { step: message.snapshot.step, kimg: message.snapshot.kimg });
        if (this.live?.summary.id === message.runId) this.live.summary = summary;
        this.events.emit('training.snapshot', { runId: message.runId, snapshot: message.snapshot });
        return;
      }
      case 'exportDone':
      case 'exportFailed': {
        const job = this.jobs.get(message.jobId);
        this.jobs.delete(message.jobId);
        if (!job) return;
        if (message.type === 'exportDone') job.resolve(message.result);
        else job.reject(new StudioError('engine_failed', message.message));
        return;
      }
    }
  }

  private async setRunState(runId: string, state: RunState, message: string | null): Promise<void> {
    try {
      const summary = await this.runs.setState(runId, state, message);
      if (this.live?.summary.id === runId) this.live.summary = summary;
    } catch (error) {
      console.error(`[supervisor] could not record state ${state} of run ${runId}: ${messageOf(error)}`);
    }
    this.events.emit('training.state', { runId, state, message });
  }

  private async send(message: ToEngine): Promise<void> {
    await this.start();
    if (!this.child) throw new StudioError('engine_failed', 'the engine process is not running');
    this.child.send(message);
  }

  current(): { run: RunSummary | null; progress: TrainingProgress | null } {
    return { run: this.live?.summary ?? null, progress: this.live?.progress ?? null };
  }

  /**
   * Hand a run to the engine. Resolves once the engine has built and loaded its networks, with notes on
   * what was loaded (resume, transfer); rejects if it could not (a checkpoint that does not fit, ...).
   */
  async train(run: RunSummary, config: ResolvedConfig, dataset: DatasetRef, init: TrainInit = { kind: 'fresh' }): Promise<string[]> {
    if (this.live) throw conflict(`run "${this.live.summary.name}" is training; stop it before starting another`);
    const started = new Promise<string[]>((resolve, reject) => {
      this.live = { summary: run, progress: null, lastPersist: 0, started: { resolve, reject } };
    });
    try {
      await this.runs.claim(run.id);
      await this.send({ type: 'train', runId: run.id, runsRoot: this.runs.root, config, dataset, init });
    } catch (error) {
      this.live = null;
      await this.setRunState(run.id, 'failed', messageOf(error));
      throw error;
    }
    return started;
  }

  isTraining(runId: string): boolean {
    return this.live?.summary.id === runId;
  }

  private requireLive(runId: string): LiveRun {
    if (!this.live || this.live.summary.id !== runId) throw conflict(`run ${runId} is not training`);
    return this.live;
  }

  async pause(runId: string): Promise<RunState> {
    this.requireLive(runId);
    // Recorded before the command: the engine's own report (e.g. 'stopped' right after) must come last.
    await this.setRunState(runId, 'paused', null);
    await this.send({ type: 'pause' });
    return 'paused';
  }

  async resume(runId: string): Promise<RunState> {
    this.requireLive(runId);
    // Recorded before the command: the engine's own report (e.g. 'stopped' right after) must come last.
    await this.setRunState(runId, 'running', null);
    await this.send({ type: 'resume' });
    return 'running';
  }

  /** Ask the run to stop; it writes a final snapshot, then reports 'stopped'. */
  async stop(runId: string): Promise<RunState> {
    this.requireLive(runId);
    // Recorded before the command: the engine's own report (e.g. 'stopped' right after) must come last.
    await this.setRunState(runId, 'stopping', null);
    await this.send({ type: 'stop' });
    return 'stopping';
  }

  async exportSamples(request: ExportRequest): Promise<ExportResult> {
    const jobId = this.nextJob++;
    const result = new Promise<ExportResult>((resolve, reject) => this.jobs.set(jobId, { resolve, reject }));
    await this.send({ type: 'export', jobId, request });
    return result;
  }

  /** Stop training (keeping a final snapshot) and end the engine process. */
  async close(timeoutMs = 15000): Promise<void> {
    this.closing = true;
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.onExit(() => resolve()));
    child.send({ type: 'shutdown' } satisfies ToEngine);
    const timer = setTimeout(() => child.kill(), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}
