/**
 * What a host needs from the studio: a dispatcher to hand every request to, and the event stream to
 * forward. Hosts are transports only; this is all they see of the main side.
 */
import type { Dispatch } from '../handlers/dispatch.ts';

export type { Dispatch };

export interface HostBackend {
  dispatch: Dispatch;
  subscribe(listener: (channel: string, payload: unknown) => void): () => void;
}
