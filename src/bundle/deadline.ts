/**
 * Synchronous work with a deadline. A regular expression runs to its end on the main thread: a
 * user's --redact-extra pattern that backtracks catastrophically would hold the process, and its
 * Ctrl-C handling, for hours. Run inside a vm script, the same work is stopped by V8 when the deadline
 * passes, so a Ctrl-C waits at most one deadline. (vm's breakOnSigint is not used: while it swaps the
 * process's SIGINT handlers out and back, a Ctrl-C can kill the process without its clean-up.)
 */
import { createContext, Script } from 'node:vm';
import { formatDuration } from '../duration.js';

const context = createContext({});
const script = new Script('work()');

export class DeadlineExceeded extends Error {
  constructor(readonly ms: number) {
    super(`did not finish within ${formatDuration(ms)}`);
    this.name = 'DeadlineExceeded';
  }
}

/** `fn()`, stopped after `ms` (DeadlineExceeded). */
export function runWithin<T>(ms: number, fn: () => T): T {
  (context as { work?: () => T }).work = fn;
  try {
    return script.runInContext(context, { timeout: Math.max(1, Math.ceil(ms)) }) as T;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new DeadlineExceeded(ms);
    throw e;
  } finally {
    (context as { work?: () => T }).work = undefined;
  }
}
