/**
 * Which clusters a fleet run checks: --context (repeated), --all-contexts or --contexts-file, each resolved
 * against the same merged kubeconfig kubectl reads. Nothing is contacted here; every name and line is
 * checked first, so a typo is one usage error before any cluster is touched.
 */
import { readFileSync, statSync } from 'node:fs';
import { InsightError } from '../errors.js';
import { checkNamespace, checkRelease, shownValue } from '../input.js';
import { listContexts, type ContextEntry } from '../kube/kubeconfig.js';

/** One cluster of the run, with the installation looked at there. */
export interface FleetTarget {
  context: string;
  /** The context's server from kubeconfig ('' when its cluster entry is missing: the run reports that). */
  server: string;
  namespace: string;
  release: string;
}

export interface FleetSelection {
  contexts?: readonly string[] | undefined;
  allContexts?: boolean | undefined;
  contextsFile?: string | undefined;
  kubeconfig?: string | undefined;
  /** -n and --release: every context's installation unless its contexts-file line names another. */
  namespace: string;
  release: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Fleet mode is asked for, not inferred from how many contexts a list resolves to: --all-contexts and
 * --contexts-file always give the fleet report (one shape for scripts, however long the list); one
 * --context, or none, keeps the single-cluster report.
 */
export function isFleet(sel: Pick<FleetSelection, 'contexts' | 'allContexts' | 'contextsFile'>): boolean {
  return Boolean(sel.allContexts || sel.contextsFile !== undefined || (sel.contexts?.length ?? 0) > 1);
}

/** A contexts file larger than this is not a list of clusters. */
const MAX_FILE_BYTES = 1 << 20;

/** The targets of a fleet run, in the order given (flags first, then the file), each listed once. */
export function resolveTargets(sel: FleetSelection): FleetTarget[] {
  const known = listContexts({ ...(sel.kubeconfig ? { kubeconfig: sel.kubeconfig } : {}), ...(sel.env ? { env: sel.env } : {}) });
  const byName = new Map(known.map((c) => [c.name, c]));
  const wanted: Array<{ context: string; namespace: string; release: string; where: string }> = [];
  if (sel.allContexts) {
    for (const c of known) wanted.push({ context: c.name, namespace: sel.namespace, release: sel.release, where: 'kubeconfig' });
    if (!wanted.length) throw new InsightError('usage', '--all-contexts: kubeconfig has no context', { hint: 'Add one with `kubectl config set-context`, or check $KUBECONFIG and --kubeconfig.' });
  }
  for (const c of sel.contexts ?? []) wanted.push({ context: c, namespace: sel.namespace, release: sel.release, where: '--context' });
  if (sel.contextsFile !== undefined) wanted.push(...readContextsFile(sel.contextsFile, sel));
  const missing = wanted.filter((w) => !byName.has(w.context));
  if (missing.length) throw unknownContexts(missing, known);
  const seen = new Set<string>();
  const out: FleetTarget[] = [];
  for (const w of wanted) {
    const key = JSON.stringify([w.context, w.namespace, w.release]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ context: w.context, server: byName.get(w.context)!.server, namespace: w.namespace, release: w.release });
  }
  return out;
}

function unknownContexts(missing: ReadonlyArray<{ context: string; where: string }>, known: readonly ContextEntry[]): InsightError {
  const names = missing.slice(0, 5).map((m) => `${shownValue(m.context)} (${m.where})`);
  const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
  const list = known.slice(0, 10).map((c) => c.name).join(', ') + (known.length > 10 ? `, ... (${known.length} in all)` : '');
  return new InsightError('usage', `${missing.length === 1 ? 'context' : 'contexts'} not in kubeconfig: ${names.join(', ')}${more}`, {
    hint: known.length ? `Known contexts: ${list} (\`kubectl config get-contexts\`).` : 'kubeconfig has no context: add one with `kubectl config set-context`.',
  });
}

/**
 * One context a line: `context [namespace [release]]`, separated by blanks; `-` keeps the default
 * (-n, --release) for that column; `#` starts a comment; blank lines are skipped.
 */
export function parseContextsFile(text: string, file: string, defaults: { namespace: string; release: string }): Array<{ context: string; namespace: string; release: string; where: string }> {
  const out: Array<{ context: string; namespace: string; release: string; where: string }> = [];
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const where = `${file}:${i + 1}`;
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const cols = line.split(/\s+/);
    if (cols.length > 3) {
      throw new InsightError('usage', `--contexts-file ${where}: ${cols.length} columns; a line is: context [namespace [release]]`, { hint: 'Separate the columns by blanks; a context name with blanks cannot be listed here (use --context).' });
    }
    const [context, ns, rel] = cols as [string, string | undefined, string | undefined];
    const cell = (v: string | undefined, dflt: string, check: (v: string, flag: string) => string, what: string) => {
      if (v === undefined || v === '-') return dflt;
      try {
        return check(v, what);
      } catch (e) {
        throw e instanceof InsightError ? new InsightError('usage', `--contexts-file ${where}: ${e.message}`, { ...(e.hint ? { hint: e.hint } : {}) }) : e;
      }
    };
    out.push({ context, namespace: cell(ns, defaults.namespace, checkNamespace, 'namespace'), release: cell(rel, defaults.release, checkRelease, 'release'), where });
  }
  if (!out.length) throw new InsightError('usage', `--contexts-file ${file} lists no context`, { hint: 'Write one context a line: context [namespace [release]] (`kubectl config get-contexts -o name` lists them).' });
  return out;
}

function readContextsFile(file: string, defaults: { namespace: string; release: string }) {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    if (st.size > MAX_FILE_BYTES) throw Object.assign(new Error('too big'), { code: 'EFBIG' });
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is not a file' : code === 'EFBIG' ? 'is larger than 1 MiB' : `cannot be read (${code ?? 'error'})`;
    throw new InsightError('invalid-input', `--contexts-file ${file} ${why}`, { hint: 'Give a text file with one context a line: context [namespace [release]].' });
  }
  return parseContextsFile(text, file, defaults);
}

/** The fleet flags of a command (src/fleet/flags.ts) with -n, --release and --kubeconfig. */
export interface FleetFlagValues {
  context?: string | readonly string[] | undefined;
  'all-contexts'?: boolean;
  'contexts-file'?: string | undefined;
  kubeconfig?: string | undefined;
  namespace: string;
  release: string;
}

/** The targets when the flags ask for fleet mode (see isFleet), else undefined: the single-cluster run. */
export function fleetTargets(flags: FleetFlagValues): FleetTarget[] | undefined {
  const contexts = typeof flags.context === 'string' ? [flags.context] : flags.context;
  const sel: FleetSelection = { contexts, allContexts: flags['all-contexts'], contextsFile: flags['contexts-file'], kubeconfig: flags.kubeconfig, namespace: flags.namespace, release: flags.release };
  return isFleet(sel) ? resolveTargets(sel) : undefined;
}
