/**
 * Fan-out of contract events to every listener (the Electron window, each WebSocket client, the CLI).
 * Payloads are checked against the contract before they leave, so a bug on the main side shows up here,
 * named, rather than as a confused UI.
 */
import { events, type EventChannel, type EventPayload } from '../../shared/contract.ts';
import type { EventSink } from './types.ts';

export type EventListener = (channel: EventChannel, payload: unknown) => void;

export class EventBus implements EventSink {
  private readonly listeners = new Set<EventListener>();

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit<E extends EventChannel>(channel: E, payload: EventPayload<E>): void {
    const checked = events[channel].safeParse(payload);
    if (!checked.success) {
      console.error(`[events] dropped malformed ${channel} event: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return;
    }
    for (const listener of this.listeners) {
      try {
        listener(channel, checked.data);
      } catch (error) {
        console.error(`[events] a listener of ${channel} failed:`, error);
      }
    }
  }
}
