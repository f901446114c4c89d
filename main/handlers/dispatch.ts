/**
 * The one place where a request from any host meets the contract: the channel must exist, the params must
 * match its schema, and whatever happens inside the handler comes back as a typed ResponseBody. Hosts are
 * transports only; they hand every request to this function.
 */
import { describeIssues, isRequestChannel, requests, type RequestChannel } from '../../shared/contract.ts';
import type { ResponseBody } from '../../shared/client.ts';
import { StudioError, messageOf } from '../errors.ts';
import type { Handler, Handlers } from './types.ts';

export type Dispatch = (channel: unknown, params: unknown) => Promise<ResponseBody>;

export function createDispatcher(handlers: Handlers): Dispatch {
  return async (channel, params) => {
    if (typeof channel !== 'string' || !isRequestChannel(channel)) {
      return {
        ok: false,
        error: { code: 'unknown_channel', message: `unknown channel ${JSON.stringify(channel)}; known: ${Object.keys(requests).join(', ')}` },
      };
    }
    const parsed = requests[channel].params.safeParse(params ?? {});
    if (!parsed.success) {
      return {
        ok: false,
        error: { code: 'bad_request', message: `invalid params for ${channel}`, details: describeIssues(parsed.error, 'params') },
      };
    }
    try {
      const handler = handlers[channel] as Handler<RequestChannel>;
      const result = await handler(parsed.data as never);
      return { ok: true, result };
    } catch (error) {
      if (error instanceof StudioError) {
        return { ok: false, error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } };
      }
      console.error(`[dispatch] ${channel} failed:`, error);
      return { ok: false, error: { code: 'internal', message: `${channel} failed: ${messageOf(error)}` } };
    }
  };
}
