/**
 * Where the studio keeps its datasets and runs. Default: the OS app-data folder; overridable with
 * `--library <dir>` (CLI/serve) or the GAN_STUDIO_LIBRARY environment variable.
 */
import os from 'node:os';
import path from 'node:path';

export interface LibraryPaths {
  root: string;
  datasets: string;
  runs: string;
}

export function defaultLibraryDir(): string {
  const home = os.homedir();
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'GAN Studio');
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'GAN Studio');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'gan-studio');
}

/** `runsDir` puts runs elsewhere (the CLI's --out); by default they live in the library. */
export function libraryPaths(explicit?: string, runsDir?: string): LibraryPaths {
  const root = path.resolve(explicit ?? process.env.GAN_STUDIO_LIBRARY ?? defaultLibraryDir());
  return { root, datasets: path.join(root, 'datasets'), runs: runsDir ? path.resolve(runsDir) : path.join(root, 'runs') };
}
