import { BatchError } from '../../shared/batch/index.js';

/** The BatchError that `fn` throws; anything else (or nothing) fails the test. */
export function caught(fn: () => unknown): BatchError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BatchError) return error;
    throw error;
  }
  throw new Error('expected a BatchError');
}
