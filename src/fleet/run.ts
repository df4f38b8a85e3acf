/**
 * The fleet runner: one job per context, at most `parallel` at once, each with its own clients (the job
 * makes its own Configuration) and its own deadline. A context that fails, hangs or cannot be reached
 * becomes an outcome with the reason; it never stops or holds back the others' results.
 */
import pLimit from 'p-limit';
import { ExitCode, InsightError, type ErrorKind } from '../errors.js';
import { reachFailure, type ReachReason } from '../kube/errors.js';
import { redact } from '../secret.js';
import { formatDuration } from '../duration.js';
import type { FleetTarget } from './targets.js';

/** Why a context has no report. */
export interface ContextFailure {
  /** unreachable: the cluster could not be reached or refused us (reason says how); error: anything else. */
  verdict: 'unreachable' | 'error';
  /** How it was unreachable (dns, refused, tls, unauthorized, forbidden, timeout, network), else the error's kind. */
  reason: ReachReason | ErrorKind | 'bug';
  kind: ErrorKind | 'bug';
  message: string;
  hint?: string;
  /** The exit code this failure has when it is the run's only context. */
  exitCode: number;
}

export type ContextOutcome<R> = { target: FleetTarget; durationMs: number } & ({ ok: true; value: R } | { ok: false; failure: ContextFailure });

export interface FleetRunOptions<R> {
  parallel: number;
  /** Each context's deadline, from its start. */
  timeoutMs: number;
  /** A context finished (its outcome), in completion order: for progress. */
  onSettled?: (o: ContextOutcome<R>, done: number, total: number) => void;
  onStart?: (t: FleetTarget) => void;
}

/** The job of one context. It must release what it made when `signal` aborts (the deadline passed). */
export type ContextJob<R> = (target: FleetTarget, signal: AbortSignal) => Promise<R>;

/** Outcomes in the targets' order, whatever order they finished in. */
export async function runFleet<R>(targets: readonly FleetTarget[], job: ContextJob<R>, o: FleetRunOptions<R>): Promise<Array<ContextOutcome<R>>> {
  const limit = pLimit(Math.max(1, o.parallel));
  let done = 0;
  return Promise.all(
    targets.map((t) =>
      limit(async (): Promise<ContextOutcome<R>> => {
        o.onStart?.(t);
        const started = Date.now();
        const outcome = await withDeadline(t, job, o.timeoutMs);
        const r = { target: t, durationMs: Date.now() - started, ...outcome } as ContextOutcome<R>;
        o.onSettled?.(r, ++done, targets.length);
        return r;
      }),
    ),
  );
}

async function withDeadline<R>(t: FleetTarget, job: ContextJob<R>, timeoutMs: number): Promise<{ ok: true; value: R } | { ok: false; failure: ContextFailure }> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new InsightError('timeout', `not done within --context-timeout ${formatDuration(timeoutMs)}`, {
        hint: 'The cluster answers too slowly or the checks take longer there: check it alone (`--context ' + t.context + '`), or raise --context-timeout.',
      });
      reject(e);
      ac.abort(e);
    }, timeoutMs);
  });
  // The job loses the race at the deadline and goes on in the background until its clients close; what it
  // throws then is no longer anyone's concern.
  const running = job(t, ac.signal);
  running.catch(() => {});
  try {
    return { ok: true, value: await Promise.race([running, deadline]) };
  } catch (e) {
    return { ok: false, failure: contextFailure(e) };
  } finally {
    clearTimeout(timer);
  }
}

/** A context's failure as the report shows it: the reach reason when it is one, the error's own words. */
export function contextFailure(e: unknown): ContextFailure {
  const reason = reachFailure(e);
  if (e instanceof InsightError) {
    return {
      verdict: reason ? 'unreachable' : 'error',
      reason: reason ?? e.kind,
      kind: e.kind,
      message: redact(e.message.split('\n')[0] ?? ''),
      ...(e.hint ? { hint: redact(e.hint) } : {}),
      exitCode: !reason ? e.exitCode : reason === 'forbidden' ? ExitCode.Forbidden : ExitCode.Cluster,
    };
  }
  // Not an expected failure: a bug, said as one, for this context only.
  const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return { verdict: 'error', reason: 'bug', kind: 'bug', message: redact(`internal error: ${msg}`), hint: 'This is a bug in kubectl-insight; run this context alone with --verbose and report it.', exitCode: ExitCode.Bug };
}

/**
 * The run's exit code: 0 only when every context passed (at --fail-on); 1 when any context that was
 * checked failed, whatever the others did; 3 when every context that was checked passed but some could not
 * be checked (unreachable, credentials refused, forbidden, timed out, a broken kubeconfig entry). Each
 * context's own exit code is in the JSON.
 */
export function fleetExitCode(rows: ReadonlyArray<{ passed: boolean; failure?: ContextFailure | undefined }>): number {
  if (rows.some((r) => !r.failure && !r.passed)) return ExitCode.Failed;
  return rows.some((r) => r.failure) ? ExitCode.Cluster : ExitCode.Ok;
}
