/**
 * The typed client the renderer (and the tests) use to talk to the main side. It is written once against
 * the contract and runs over any `Bridge`: Electron's preload bridge or the WebSocket bridge of `serve`.
 */
import type { EventChannel, EventPayload, IpcError, Params, RequestChannel, Result } from './contract.ts';

/** What a request comes back as, on either transport. */
export type ResponseBody = { ok: true; result: unknown } | { ok: false; error: IpcError };

/** The minimal transport both hosts provide. */
export interface Bridge {
  request(channel: string, params: unknown): Promise<ResponseBody>;
  /** Listen to every event; returns an unsubscribe function. */
  subscribe(listener: (channel: string, payload: unknown) => void): () => void;
}

export class IpcRequestError extends Error {
  override name = 'IpcRequestError';
  constructor(
    readonly channel: string,
    readonly error: IpcError,
  ) {
    super(error.message);
  }
}

export interface StudioClient {
  request<C extends RequestChannel>(channel: C, params: Params<C>): Promise<Result<C>>;
  on<E extends EventChannel>(channel: E, listener: (payload: EventPayload<E>) => void): () => void;
}

export function createClient(bridge: Bridge): StudioClient {
  return {
    async request(channel, params) {
      const body = await bridge.request(channel, params);
      if (!body.ok) throw new IpcRequestError(channel, body.error);
      // The main side validated the params and produced the result from the same contract.
      return body.result as Result<typeof channel>;
    },
    on(channel, listener) {
      return bridge.subscribe((name, payload) => {
        if (name === channel) listener(payload as EventPayload<typeof channel>);
      });
    },
  };
}
