/** `app.info` and `presets.list`: what the studio is running on, and what it can train. */
import { listPresets } from '../../shared/presets.ts';
import type { EngineSupervisor } from '../engine/supervisor.ts';
import type { LibraryPaths } from '../library.ts';
import type { Handlers } from './types.ts';

export function appHandlers(ctx: {
  version: string;
  host: 'electron' | 'web';
  paths: LibraryPaths;
  engine: EngineSupervisor;
}): Pick<Handlers, 'app.info' | 'presets.list'> {
  return {
    'app.info': async () => ({ version: ctx.version, host: ctx.host, libraryDir: ctx.paths.root, backend: ctx.engine.backend }),
    'presets.list': async () => listPresets(),
  };
}
