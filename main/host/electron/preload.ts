/**
 * The sandboxed preload: exposes exactly `GanStudioPreload` (the Bridge plus pathForFile) as
 * `window.ganStudio`, and nothing of Electron or Node. Bundled to CommonJS with only `electron` external.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { ResponseBody } from '../../../shared/client.ts';
import type { GanStudioPreload } from '../../../shared/preloadApi.ts';
import { EVENT_CHANNEL, REQUEST_CHANNEL } from './channels.ts';

type Listener = (channel: string, payload: unknown) => void;
const listeners = new Set<Listener>();

// One IPC listener for the page, fanned out here, so subscribing never adds ipcRenderer listeners.
ipcRenderer.on(EVENT_CHANNEL, (_event: IpcRendererEvent, channel: unknown, payload: unknown) => {
  if (typeof channel !== 'string') return;
  for (const listener of [...listeners]) {
    try {
      listener(channel, payload);
    } catch (error) {
      console.error(`[ganStudio] a listener of ${channel} failed:`, error);
    }
  }
});

const api: GanStudioPreload = {
  request(channel, params) {
    // The main side validates and answers every request with a ResponseBody (never throws).
    return ipcRenderer.invoke(REQUEST_CHANNEL, channel, params) as Promise<ResponseBody>;
  },
  subscribe(listener) {
    // contextBridge hands us a fresh proxy per call, so the returned closure is what identifies it.
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  },
  pathForFile(file) {
    return webUtils.getPathForFile(file);
  },
};

contextBridge.exposeInMainWorld('ganStudio', api);
