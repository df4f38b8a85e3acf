/**
 * The error model. Expected, user-fixable failures are `InsightError`s: one line of message, a hint
 * saying what to do, and a documented exit code. Anything else that escapes is a bug and is reported
 * as one (see src/output/errors.ts).
 */

/** Exit codes, documented in the README. */
export const ExitCode = {
  Ok: 0,
  /** A check failed, or an action (install, upgrade, uninstall) failed. */
  Failed: 1,
  /** Bad usage or input: nothing in the cluster was changed. */
  Usage: 2,
  /** The cluster (API server) could not be reached or refused our credentials. */
  Cluster: 3,
  /** Permission denied (RBAC 403). */
  Forbidden: 4,
  /** A required external tool (helm) is missing or too old. */
  Tool: 5,
  /** The user declined a confirmation, or one was needed without a TTY and without --yes. */
  Aborted: 6,
  /** A wait timed out. */
  Timeout: 7,
  /** Interrupted by a signal (Ctrl-C). */
  Interrupted: 130,
  /** An internal error: a bug in kubectl-insight. */
  Bug: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorKind =
  | 'usage'
  | 'invalid-input'
  | 'unreachable'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'server'
  | 'timeout'
  | 'tool'
  | 'aborted'
  | 'failed'
  | 'interrupted';

const exitByKind: Record<ErrorKind, ExitCode> = {
  usage: ExitCode.Usage,
  'invalid-input': ExitCode.Usage,
  unreachable: ExitCode.Cluster,
  unauthorized: ExitCode.Cluster,
  forbidden: ExitCode.Forbidden,
  'not-found': ExitCode.Failed,
  conflict: ExitCode.Failed,
  server: ExitCode.Failed,
  timeout: ExitCode.Timeout,
  tool: ExitCode.Tool,
  aborted: ExitCode.Aborted,
  failed: ExitCode.Failed,
  interrupted: ExitCode.Interrupted,
};

export interface InsightErrorOptions {
  hint?: string;
  exitCode?: ExitCode;
  cause?: unknown;
  /** Extra structured facts for `-o json` (never secrets). */
  details?: Record<string, unknown>;
}

export class InsightError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, message: string, opts: InsightErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'InsightError';
    this.kind = kind;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? exitByKind[kind];
    this.details = opts.details;
  }
}

export const usageError = (message: string, hint?: string) => new InsightError('usage', message, { hint });
export const inputError = (message: string, hint?: string) => new InsightError('invalid-input', message, { hint });

export function isInsightError(e: unknown): e is InsightError {
  return e instanceof InsightError;
}
