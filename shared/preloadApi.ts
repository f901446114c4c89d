/**
 * What Electron's preload exposes to the renderer as `window.ganStudio`: the Bridge of shared/client.ts,
 * plus the one thing only Electron can do, the real path of a dropped file or folder. In a browser
 * (the `serve` host) `window.ganStudio` is undefined and the renderer uses the WebSocket bridge instead.
 */
import type { Bridge } from './client.ts';

export interface GanStudioPreload extends Bridge {
  /** The file system path of a File from a drop or an <input type=file>; '' if it has none. */
  pathForFile(file: File): string;
}

declare global {
  interface Window {
    ganStudio?: GanStudioPreload;
  }
}
