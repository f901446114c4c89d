/**
 * The dataset every install has without importing anything: Google's Noto emoji as shipped, one 64×64 PNG
 * per emoji, by the npm package `emoji-datasource-google` (a regular dependency, so it is always there).
 * Small enough to build in seconds and varied enough that a GAN visibly learns something on a laptop.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const BUILTIN_ID = 'noto-emoji';
export const BUILTIN_NAME = 'Noto Emoji';
export const BUILTIN_RESOLUTION = 64;

export interface BuiltinSource {
  /** Folder holding the PNGs (flat, no subfolders). */
  dir: string;
  /** Shown as the dataset's `source`, e.g. 'emoji-datasource-google@16.0.0 img/google/64'. */
  label: string;
}

/** Resolved through the package's own manifest so it works from source, from a bundle and when hoisted. */
export function builtinEmojiSource(): BuiltinSource {
  const manifest = createRequire(import.meta.url).resolve('emoji-datasource-google/package.json');
  const root = path.dirname(manifest);
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string };
  // In a packaged app the PNGs are unpacked beside app.asar (electron-builder.yml asarUnpack): sharp
  // reads files with libvips, which cannot see inside the asar archive.
  const dir = path.join(root, 'img', 'google', '64').replace(/app\.asar(?=[\\/])/, 'app.asar.unpacked');
  return {
    dir,
    label: `emoji-datasource-google@${version ?? 'unknown'} img/google/64`,
  };
}
