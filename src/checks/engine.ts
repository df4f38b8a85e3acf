/**
 * The check engine shared by `preflight` and `doctor` (after linkerd's healthcheck): a check is a
 * small record with a stable id, a category, a severity, a hint and a run function. Categories run in
 * order, checks inside one concurrently (with `overlap`, every category at once); a check may name
 * checks it needs, and is skipped when one of them did not pass. The runner never prints: it reports
 * to an observer.
 */
import pLimit from 'p-limit';
import { DOCS_BASE } from '../defaults.js';
import { ExitCode, InsightError, type ErrorKind } from '../errors.js';

/** Memoise an async function: the first call starts the work, later calls share its promise. */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

export type Severity = 'fatal' | 'warning' | 'info';
export type Status = 'passed' | 'failed' | 'skipped';

/** One outcome of a check. A check may report several (one per node, per target, ...). */
export interface Finding {
  status: Status;
  message: string;
  /** Overrides the check's hint for this finding. */
  hint?: string;
  /** Overrides the check's severity (e.g. a check that is fatal for one cause, a warning for another). */
  severity?: Severity;
  /** The object concerned: `node/kwok-node-1`, `pod/cms-monitoring/x`, `endpoint/cms.cn-hangzhou.aliyuncs.com`. */
  object?: string;
  /** Facts that led to the verdict: status fields, event messages, HTTP answers. */
  evidence?: string[];
  /** Where a network result was measured from: `local`, `node/<name>`. */
  vantage?: string;
  /** A failure that is the cluster's or the credentials' (not a check's verdict) sets the exit code. */
  errorKind?: ErrorKind;
}

export interface Check<C> {
  /** Stable, documented id, e.g. `cluster.version`. Never renamed: users grep and CI filters on it. */
  id: string;
  category: string;
  description: string;
  severity: Severity;
  /** What to do when it fails, with a copy-paste command where one exists. */
  hint?: string;
  /** ids of checks that must pass first. */
  needs?: string[];
  timeoutMs?: number;
  run(ctx: C, signal: AbortSignal, run: RunEnv): Promise<Finding | Finding[]>;
}

/** What a running check may ask of the run it is part of. */
export interface RunEnv {
  /**
   * Settles when every selected check whose id starts with `prefix` has settled (at once when none is
   * selected): a check that prefers what another learns waits on this, bounded by its own timer. Never
   * wait on a check that waits on you.
   */
  settled(prefix: string): Promise<void>;
}

export interface CheckResult extends Finding {
  id: string;
  category: string;
  description: string;
  severity: Severity;
  durationMs: number;
  /** The check's section in the docs (`docLink`); absent for a check no page documents. */
  docs?: string;
}

/** Which page documents a check, by the first part of its id (the groups of each command are disjoint). */
const DOC_PAGES: Record<string, 'preflight' | 'doctor' | 'verify'> = {
  cluster: 'preflight',
  rbac: 'preflight',
  conflicts: 'preflight',
  network: 'preflight',
  cloud: 'preflight',
  release: 'doctor',
  pods: 'doctor',
  exporters: 'doctor',
  scrape: 'doctor',
  kubelet: 'doctor',
  cr: 'doctor',
  coexist: 'doctor',
  leftovers: 'doctor',
  metrics: 'verify',
  entities: 'verify',
  collector: 'verify',
};

/**
 * The link to a check's own section: each id has an explicit `<a id="<id>">` anchor in its page, so
 * the fragment is the id itself and survives heading edits. undefined for an id of no known group.
 */
export function docLink(checkId: string): string | undefined {
  const page = DOC_PAGES[checkId.split('.')[0]!];
  return page ? `${DOCS_BASE}/${page}.md#${checkId}` : undefined;
}

/**
 * A failing result's hint with the docs link as its last line: after a space for a one-line hint,
 * on a line of its own after a multi-line one (a YAML policy must stay pasteable). No hint: the link.
 */
export function withDocLink(hint: string | undefined, link: string): string {
  if (!hint?.trim()) return `See ${link}`;
  const h = hint.trimEnd();
  if (h.includes('\n')) return `${h}\nSee ${link}`;
  return `${h}${/[.!?:;]$/.test(h) ? '' : '.'} See ${link}`;
}

export interface Observer {
  onCategory?(category: string): void;
  onStart?(check: { id: string; category: string; description: string }): void;
  onResult?(result: CheckResult): void;
}

export interface RunOptions {
  concurrency?: number;
  /** Default per-check timeout. */
  timeoutMs?: number;
  /** Only run checks whose id starts with one of these. */
  only?: string[];
  /**
   * Start every check as soon as the checks it needs have settled, whatever its category: a category
   * that waits on the network (doctor's probes) then overlaps the others. Results keep category order.
   */
  overlap?: boolean;
}

export interface Report {
  results: CheckResult[];
  summary: { passed: number; failed: number; warnings: number; skipped: number; info: number };
}

/** A failing result's weight: fatal failures fail the run; warnings only with --fail-on warning. */
export function isFailure(r: CheckResult, failOn: 'fatal' | 'warning' = 'fatal'): boolean {
  if (r.status !== 'failed') return false;
  return r.severity === 'fatal' || (failOn === 'warning' && r.severity === 'warning');
}

/**
 * 0 when nothing fails; 3 when a fatal failure is that the API server cannot be reached or refused our
 * credentials (as every other command says it); otherwise 1.
 */
export function exitCodeFor(report: Report, failOn: 'fatal' | 'warning' = 'fatal'): 0 | 1 | 3 {
  const failures = report.results.filter((r) => isFailure(r, failOn));
  if (failures.some((r) => r.errorKind === 'unreachable' || r.errorKind === 'unauthorized')) return ExitCode.Cluster;
  return failures.length ? 1 : 0;
}

/** The failure that matters most (the first fatal one, else the first warning), for a one-line summary. */
export function topFailure(report: Report): { id: string; message: string } | undefined {
  const failed = report.results.filter((r) => r.status === 'failed');
  const top = failed.find((r) => r.severity === 'fatal') ?? failed.find((r) => r.severity === 'warning');
  return top ? { id: top.id, message: top.message } : undefined;
}

class Timeout extends Error {}

async function runOne<C>(check: Check<C>, ctx: C, timeoutMs: number, env: RunEnv): Promise<Finding[]> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort(new Timeout(`timed out after ${timeoutMs / 1000}s`));
      reject(new Timeout(`timed out after ${timeoutMs / 1000}s`));
    }, timeoutMs);
    timer.unref?.();
  });
  try {
    // A hanging check loses the race and the report goes on; its signal is aborted so it can stop.
    const out = await Promise.race([check.run(ctx, ac.signal, env), timeout]);
    return Array.isArray(out) ? out : [out];
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    const hint = (e as { hint?: string }).hint;
    const kind = e instanceof InsightError ? e.kind : undefined;
    return [{ status: 'failed', message: e instanceof Timeout ? `check ${msg}` : `check could not run: ${msg}`, ...(hint ? { hint } : {}), ...(kind ? { errorKind: kind } : {}) }];
  } finally {
    clearTimeout(timer);
  }
}

/** The checks `--only` selects; a prefix that selects nothing is a typo, not "all passed". */
export function selectChecks<T extends { id: string }>(checks: readonly T[], only: readonly string[] | undefined): T[] {
  if (!only?.length) return [...checks];
  for (const p of only) {
    if (!checks.some((c) => c.id.startsWith(p))) {
      const groups = [...new Set(checks.map((c) => c.id.split('.')[0]!))];
      throw new InsightError('usage', `--only ${JSON.stringify(p)} matches no check`, { hint: `Give a check id or its start: ${groups.join(', ')} (the ids are in the JSON output and the docs).` });
    }
  }
  return checks.filter((c) => only.some((p) => c.id.startsWith(p)));
}

export async function runChecks<C>(checks: Check<C>[], ctx: C, observer: Observer = {}, opts: RunOptions = {}): Promise<Report> {
  const selected = selectChecks(checks, opts.only);
  const categories: string[] = [];
  for (const c of selected) if (!categories.includes(c.category)) categories.push(c.category);
  const limit = pLimit(opts.concurrency ?? 8);
  const results: CheckResult[] = [];
  const index = new Map(selected.map((c, i) => [c.id, i]));
  const rank = (c: Check<C>) => categories.indexOf(c.category);
  // One settling promise per check: a check starts once what it waits for (the checks it needs, and
  // without overlap the whole previous category) has settled.
  const settle = new Map<string, (s: Status) => void>();
  const outcome = new Map<string, Promise<Status>>(selected.map((c) => [c.id, new Promise<Status>((r) => settle.set(c.id, r))]));
  const waitsOn = dependencies(selected, opts.overlap ? () => true : (c, n) => rank(n) <= rank(c));
  const env: RunEnv = {
    settled: async (prefix) => {
      await Promise.all(selected.filter((c) => c.id.startsWith(prefix)).map((c) => outcome.get(c.id)!));
    },
  };

  const announced = new Set<string>();
  const run = async (check: Check<C>, gate: Promise<unknown>): Promise<void> => {
    await gate;
    if (!announced.has(check.category)) {
      announced.add(check.category);
      observer.onCategory?.(check.category);
    }
    const needed = await Promise.all(waitsOn.get(check.id)!.map(async (n) => [n, await outcome.get(n)!] as const));
    await limit(async () => {
      observer.onStart?.(check);
      const started = Date.now();
      const blocked = needed.find(([, s]) => s !== 'passed')?.[0];
      const findings: Finding[] = blocked
        ? [{ status: 'skipped', message: `skipped: needs ${blocked}, which did not pass` }]
        : await runOne(check, ctx, check.timeoutMs ?? opts.timeoutMs ?? 30_000, env);
      const status: Status = findings.some((f) => f.status === 'failed') ? 'failed' : findings.every((f) => f.status === 'skipped') ? 'skipped' : 'passed';
      for (const f of findings) {
        const r: CheckResult = {
          id: check.id,
          category: check.category,
          description: check.description,
          ...f,
          severity: f.severity ?? check.severity,
          durationMs: Date.now() - started,
        };
        if (r.status === 'failed' && r.hint === undefined && check.hint) r.hint = check.hint;
        // Here rather than in each check or renderer: every consumer (human, JSON, the install gate) gets it.
        const docs = docLink(check.id);
        if (docs) {
          r.docs = docs;
          if (r.status === 'failed') r.hint = withDocLink(r.hint, docs);
        }
        results.push(r);
        observer.onResult?.(r);
      }
      settle.get(check.id)!(status);
    });
  };

  const all: Array<Promise<void>> = [];
  let gate: Promise<unknown> = Promise.resolve();
  for (const category of categories) {
    const inCategory = selected.filter((c) => c.category === category).map((c) => run(c, gate));
    all.push(...inCategory);
    if (!opts.overlap) gate = Promise.all(inCategory);
  }
  await Promise.all(all);
  // Stable order for output: category order, then the order checks were declared.
  results.sort((a, b) => categories.indexOf(a.category) - categories.indexOf(b.category) || index.get(a.id)! - index.get(b.id)!);
  return { results, summary: summarize(results) };
}

/**
 * The selected checks each check waits for: its needs that are selected and `allowed`, minus any that
 * would close a cycle (those run anyway, as if the need were not there).
 */
function dependencies<C>(selected: readonly Check<C>[], allowed: (check: Check<C>, need: Check<C>) => boolean): Map<string, string[]> {
  const byId = new Map(selected.map((c) => [c.id, c]));
  const edges = new Map<string, string[]>();
  const reaches = (from: string, to: string, seen = new Set<string>()): boolean => {
    if (from === to) return true;
    if (seen.has(from)) return false;
    seen.add(from);
    return (edges.get(from) ?? []).some((n) => reaches(n, to, seen));
  };
  for (const c of selected) {
    const kept: string[] = [];
    edges.set(c.id, kept);
    for (const n of c.needs ?? []) {
      const need = byId.get(n);
      if (need && allowed(c, need) && !reaches(n, c.id)) kept.push(n);
    }
  }
  return edges;
}

/** A report of these results, its summary counted from them. */
export function reportOf(results: CheckResult[]): Report {
  return { results, summary: summarize(results) };
}

function summarize(results: CheckResult[]): Report['summary'] {
  const s = { passed: 0, failed: 0, warnings: 0, skipped: 0, info: 0 };
  for (const r of results) {
    if (r.status === 'passed') s.passed++;
    else if (r.status === 'skipped') s.skipped++;
    else if (r.severity === 'fatal') s.failed++;
    else if (r.severity === 'warning') s.warnings++;
    else s.info++;
  }
  return s;
}
