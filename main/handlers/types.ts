/** The shape every handler module fills in: one async function per request channel of the contract. */
import type { EventChannel, EventPayload, ParsedParams, RequestChannel, Result } from '../../shared/contract.ts';

export type Handler<C extends RequestChannel> = (params: ParsedParams<C>) => Promise<Result<C>>;
export type Handlers = { [C in RequestChannel]: Handler<C> };

/** Where main-side code publishes events; the hosts forward them to every connected UI. */
export interface EventSink {
  emit<E extends EventChannel>(channel: E, payload: EventPayload<E>): void;
}
