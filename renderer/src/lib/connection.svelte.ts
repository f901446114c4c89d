/**
 * The state of the link to the main side, as the UI shows it. Electron's IPC never drops; the browser's
 * WebSocket can (server restarted, laptop slept) and can be refused (missing or wrong token).
 */
export type LinkState = 'connecting' | 'online' | 'reconnecting' | 'unauthorized';

class Connection {
  state = $state<LinkState>('connecting');
  /** True once any request succeeded: tells "never reached the host" apart from "lost it". */
  everConnected = $state(false);
  /** The last transport failure, for the "cannot connect" notice. */
  lastError = $state<string | null>(null);
  /** Number of failed attempts since the last success, so the notice can wait for the first retry. */
  failures = $state(0);
}

export const connection = new Connection();
