import type { ChalkInstance } from 'chalk';
import { ExitCode, InsightError } from '../errors.js';
import { redact } from '../secret.js';

export interface RenderedError {
  text: string;
  exitCode: number;
}

/**
 * An error for the user. Expected errors: one line plus a hint line, no stack. Anything else is a
 * bug: one line saying so, the stack only with --verbose.
 */
export function renderError(e: unknown, c: ChalkInstance, opts: { json?: boolean; verbose?: boolean } = {}): RenderedError {
  if (e instanceof InsightError) {
    if (opts.json) {
      return {
        text: redact(JSON.stringify({ error: { kind: e.kind, message: e.message, hint: e.hint, exitCode: e.exitCode, ...(e.details ? { details: e.details } : {}) } }, null, 2)),
        exitCode: e.exitCode,
      };
    }
    const lines = [`${c.red('Error:')} ${e.message}`];
    if (e.hint) lines.push(`${c.cyan('Hint:')} ${e.hint}`);
    if (opts.verbose && e.cause instanceof Error) lines.push(c.dim(`cause: ${e.cause.message}`));
    return { text: redact(lines.join('\n')), exitCode: e.exitCode };
  }
  const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
  const hint = 'This is a bug in kubectl-insight: please report it with the output of the same command run with --verbose.';
  if (opts.json) {
    return { text: redact(JSON.stringify({ error: { kind: 'bug', message: msg, hint, exitCode: ExitCode.Bug } }, null, 2)), exitCode: ExitCode.Bug };
  }
  const lines = [`${c.red('Internal error:')} ${msg}`, `${c.cyan('Hint:')} ${hint}`];
  if (opts.verbose && e instanceof Error && e.stack) lines.push(c.dim(e.stack));
  return { text: redact(lines.join('\n')), exitCode: ExitCode.Bug };
}
