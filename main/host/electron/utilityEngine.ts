/**
 * The engine process under Electron: a utilityProcess (Chromium's service process with Node) running the
 * bundled engine worker, which reads its messages from `process.parentPort`. Its output is piped into
 * ours with a prefix, and must be read: an unread pipe fills up and blocks the engine.
 */
import { utilityProcess } from 'electron';
import type { EngineChild, EngineSpawner } from '../../engine/spawner.ts';

export function createUtilityEngineSpawner(workerPath: string): EngineSpawner {
  return (): EngineChild => {
    const child = utilityProcess.fork(workerPath, [], { serviceName: 'GAN Studio engine', stdio: 'pipe' });
    let exited = false;
    const exitListeners: ((code: number | null, signal: string | null) => void)[] = [];

    forward(child.stdout, process.stdout);
    forward(child.stderr, process.stderr);
    child.on('exit', (code) => {
      exited = true;
      // A utility process reports only a code; the signal is never known here.
      for (const listener of exitListeners) listener(code, null);
    });
    child.on('error', (type, location) => console.error(`[engine] ${type} at ${location}`));

    return {
      send(message) {
        if (!exited) child.postMessage(message);
      },
      onMessage(listener) {
        child.on('message', listener);
      },
      onExit(listener) {
        exitListeners.push(listener);
      },
      kill() {
        if (!exited) child.kill();
      },
      get pid() {
        return child.pid;
      },
    };
  };
}

function forward(from: NodeJS.ReadableStream | null, to: NodeJS.WritableStream): void {
  if (!from) return;
  let partial = '';
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) to.write(`[engine] ${line}\n`);
  });
  from.on('end', () => {
    if (partial) to.write(`[engine] ${partial}\n`);
  });
}
