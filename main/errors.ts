/**
 * Errors the main side raises on purpose. Each carries the contract's error code, so the dispatcher can
 * answer with a typed IpcError instead of a generic failure. Anything else that escapes a handler is a bug
 * and is reported as 'internal' with its message.
 */
import type { ErrorCode } from '../shared/contract.ts';

export class StudioError extends Error {
  override name = 'StudioError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: string[],
  ) {
    super(message);
  }
}

export const notFound = (what: string): StudioError => new StudioError('not_found', `${what} was not found`);
export const conflict = (message: string): StudioError => new StudioError('conflict', message);
export const badRequest = (message: string, details?: string[]): StudioError =>
  new StudioError('bad_request', message, details);

/** A readable one-liner for any thrown value. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
