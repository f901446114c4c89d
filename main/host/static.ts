/**
 * Serving the built renderer (renderer/dist), shared by both hosts: the `serve` HTTP server and Electron's
 * app:// protocol. Paths come from URLs, so they are treated as hostile: no '..', no hidden files, nothing
 * that resolves (through symlinks too) outside the root.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The page's Content-Security-Policy: everything from the studio itself, images also inline (samples
 * arrive as data: URLs), and connections only to the given sources (the serve host's WebSocket).
 */
export function contentSecurityPolicy(connectSources: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src ${["'self'", ...connectSources].join(' ')}`,
    "style-src 'self' 'unsafe-inline'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Headers every response of the page carries, besides the CSP. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  // The page URL carries the token; never send it on as a Referer.
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

export type StaticLookup = { kind: 'file'; file: string; size: number } | { kind: 'forbidden' } | { kind: 'missing' };

/**
 * Map a URL path (raw, still percent-encoded, never normalized by a URL parser: '/../x' must be seen as
 * such) to a file under `root`, which must be a real path (see `realRoot`). '/' is index.html.
 */
export async function resolveStaticFile(root: string, rawPathname: string): Promise<StaticLookup> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPathname);
  } catch {
    return { kind: 'forbidden' };
  }
  // A backslash is a separator on Windows; a NUL truncates paths in some APIs.
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return { kind: 'forbidden' };
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { kind: 'forbidden' };
  if (segments.some((s) => s.startsWith('.'))) return { kind: 'missing' };
  const candidate = path.resolve(root, ...(segments.length > 0 ? segments : ['index.html']));
  if (!isInside(root, candidate)) return { kind: 'forbidden' };
  try {
    let real = await fs.realpath(candidate);
    if (!isInside(root, real)) return { kind: 'forbidden' };
    let stat = await fs.stat(real);
    if (stat.isDirectory()) {
      real = await fs.realpath(path.join(real, 'index.html'));
      if (!isInside(root, real)) return { kind: 'forbidden' };
      stat = await fs.stat(real);
    }
    return stat.isFile() ? { kind: 'file', file: real, size: stat.size } : { kind: 'missing' };
  } catch {
    return { kind: 'missing' };
  }
}

/** The root as a real path, so symlink checks compare like with like; a clear error if it is missing. */
export async function realRoot(dir: string): Promise<string> {
  try {
    return await fs.realpath(dir);
  } catch {
    throw new Error(`GAN Studio: the renderer folder ${dir} does not exist; run \`npm run build:renderer\``);
  }
}

function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}
