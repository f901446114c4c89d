/**
 * Vite config for the studio's renderer. Built once into renderer/dist and loaded by both hosts: Electron
 * from file:// (hence the relative `base`) and the `serve` host over HTTP.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = fileURLToPath(new URL('.', import.meta.url));

// `vite dev` only: point GAN_STUDIO_SERVE at a running `npm run serve` (e.g. http://127.0.0.1:7860) to
// proxy its WebSocket, so the dev page can talk to a real backend.
const serveTarget = process.env['GAN_STUDIO_SERVE'];

export default defineConfig({
  root,
  base: './',
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // The renderer imports the IPC contract and client from ../shared.
    fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] },
    proxy: serveTarget ? { '/ipc': { target: serveTarget, ws: true } } : undefined,
  },
});
