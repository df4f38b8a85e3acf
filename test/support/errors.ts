import { InsightError } from '../../src/errors.js';

/** The InsightError `fn` throws; fails the test when it throws nothing or something else. */
export function insightErrorOf(fn: () => unknown): InsightError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InsightError) return e;
    throw e;
  }
  throw new Error('expected an InsightError');
}
