/** Turns anything a request can throw into text for the UI: the main side's message plus its details. */
import { IpcRequestError } from '../../../shared/client.ts';

export interface ErrorView {
  message: string;
  details: string[];
  code: string | null;
}

export function describeError(error: unknown): ErrorView {
  if (error instanceof IpcRequestError) {
    return { message: error.message, details: error.error.details ?? [], code: error.error.code };
  }
  if (error instanceof Error) return { message: error.message, details: [], code: null };
  return { message: String(error), details: [], code: null };
}
