/**
 * Chart values for install and upgrade: collected from values files, `--set`, dedicated flags and the
 * environment; merged the way helm merges them; validated before anything touches the cluster; and
 * redacted wherever they are shown. The AccessKey secret only ever exists here as a `Secret`.
 *
 * Pure functions, except `readValuesFile` (reads a file) and `promptSecret` (a TTY).
 */
import { readFileSync, statSync } from 'node:fs';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ENV, REQUIRED_VALUES } from '../defaults.js';
import { InsightError } from '../errors.js';
import { environmentSecret, REDACTED, redact, Secret } from '../secret.js';
import { isKnownRegion, REGION_ID_PATTERN, suggestRegion } from '../cloud/regions.js';

export type Values = Record<string, unknown>;

/** The one chart value that is a secret. */
export const SECRET_PATH = 'accessKeySecret';

/** How the user can give the secret; said in every error that refuses it on argv. */
export const SECRET_SOURCES = `${ENV.accessKeySecret}, --access-key-secret-stdin, a values file (-f) or the interactive prompt`;

// ---------------------------------------------------------------------------------------------------
// Tree helpers

export const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Secret);

export function getPath(tree: Values, path: string): unknown {
  let cur: unknown = tree;
  for (const k of path.split('.')) {
    if (!isMap(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

export function setPath(tree: Values, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = tree;
  for (const k of keys.slice(0, -1)) {
    if (!isMap(cur[k])) cur[k] = {};
    cur = cur[k] as Values;
  }
  cur[keys[keys.length - 1]!] = value;
}

export function hasPath(tree: Values, path: string): boolean {
  const keys = path.split('.');
  let cur: unknown = tree;
  for (const k of keys) {
    if (!isMap(cur) || !(k in cur)) return false;
    cur = cur[k];
  }
  return true;
}

/**
 * helm's merge of values files (pkg/cli/values mergeMaps): maps merge key by key, anything else
 * (scalars, lists, null) replaces. A null is kept: helm drops the key when it coalesces with the
 * chart's defaults, which is how `--set key=null` removes a default.
 */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isMap(v) && isMap(b) ? mergeValues(b, v) : clone(v);
  }
  return out;
}

function clone(v: unknown): unknown {
  if (v instanceof Secret) return v;
  if (Array.isArray(v)) return v.map(clone);
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
  return v;
}

// ---------------------------------------------------------------------------------------------------
// --set, with helm's strvals rules (helm.sh/helm/v3/pkg/strvals): `a.b=c`, `a[0]=x`, `a[0].b=y`,
// `a={x,y}`, several pairs separated by commas, `\` escapes the next character (`a=x\,y`, `a\.b=c`).
// Values are typed like helm's --set (true/false/null/integers) unless `asString` (--set-string).

class Cursor {
  i = 0;
  /** How deep the key nests (a.b[0].c is 3): bounded, so a pathological key is an error, not a crash. */
  depth = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.i >= this.s.length;
  }
  /** Read up to (not including) one of `stops`, unescaping `\x`; consume the stop character. */
  until(stops: string): { text: string; stop: string | undefined } {
    let text = '';
    while (this.i < this.s.length) {
      const ch = this.s[this.i++]!;
      if (ch === '\\' && this.i < this.s.length) {
        text += this.s[this.i++]!;
        continue;
      }
      if (stops.includes(ch)) return { text, stop: ch };
      text += ch;
    }
    return { text, stop: undefined };
  }
  peek(): string | undefined {
    return this.s[this.i];
  }
}

/** helm's typedVal. */
export function typedValue(raw: string, asString: boolean): unknown {
  if (asString) return raw;
  const l = raw.toLowerCase();
  if (l === 'true') return true;
  if (l === 'false') return false;
  if (l === 'null') return null;
  if (raw === '0') return 0;
  if (raw.length > 0 && raw[0] !== '0' && /^[-+]?\d+$/.test(raw)) {
    const n = Number(raw);
    // helm parses int64; beyond JS's safe range keep the digits as a string rather than lose them.
    return Number.isSafeInteger(n) ? n : raw;
  }
  return raw;
}

const MAX_INDEX = 65536; // helm's limit, so `a[99999999]=x` cannot allocate a huge list
const MAX_DEPTH = 100;

function deeper(c: Cursor, expr: string): void {
  if (++c.depth > MAX_DEPTH) throw setError(expr, `the key nests deeper than ${MAX_DEPTH} levels`);
}

function setError(expr: string, why: string): InsightError {
  // A long expression is cut: the error stays one readable line.
  const r = redact(expr);
  const shown = r.length > 80 ? `${r.slice(0, 60)}…` : r;
  return new InsightError('usage', `cannot parse --set ${shown}: ${why}`, { hint: 'Use helm\'s syntax: key=value, a.b=c, list[0]=x, list={a,b}; escape commas and dots with \\.' });
}

function parseIndex(c: Cursor, expr: string): number {
  const { text, stop } = c.until(']');
  if (stop !== ']') throw setError(expr, 'missing ]');
  if (!/^\d+$/.test(text)) throw setError(expr, `list index "${text}" is not a number`);
  const n = Number(text);
  if (n > MAX_INDEX) throw setError(expr, `list index ${n} is larger than ${MAX_INDEX}`);
  return n;
}

function readValue(c: Cursor, expr: string, asString: boolean): unknown {
  if (c.peek() === '{') {
    c.i++;
    const list: unknown[] = [];
    for (;;) {
      const { text, stop } = c.until(',}');
      if (stop === undefined) throw setError(expr, 'list is missing }');
      if (!(text === '' && stop === '}' && list.length === 0)) list.push(typedValue(text, asString));
      if (stop === '}') break;
    }
    // after the list: end, or a comma before the next pair
    const next = c.until(',');
    if (next.text !== '') throw setError(expr, 'unexpected text after }');
    return list;
  }
  return typedValue(c.until(',').text, asString);
}

function setListItem(list: unknown[], index: number, c: Cursor, expr: string, asString: boolean): void {
  while (list.length <= index) list.push(null);
  const ch = c.s[c.i++];
  if (ch === '=') {
    list[index] = readValue(c, expr, asString);
  } else if (ch === '.') {
    deeper(c, expr);
    const inner = isMap(list[index]) ? (list[index] as Values) : {};
    list[index] = inner;
    parseKey(c, inner, expr, asString);
  } else if (ch === '[') {
    deeper(c, expr);
    const inner = Array.isArray(list[index]) ? (list[index] as unknown[]) : [];
    list[index] = inner;
    setListItem(inner, parseIndex(c, expr), c, expr, asString);
  } else {
    throw setError(expr, 'expected = . or [ after ]');
  }
}

function parseKey(c: Cursor, data: Values, expr: string, asString: boolean): void {
  const { text: key, stop } = c.until('=[,.');
  if (stop === undefined) {
    if (key === '') return;
    throw setError(expr, `key "${key}" has no value`);
  }
  if (key === '') throw setError(expr, 'empty key');
  switch (stop) {
    case ',':
      throw setError(expr, `key "${key}" has no value`);
    case '=':
      data[key] = readValue(c, expr, asString);
      return;
    case '.': {
      deeper(c, expr);
      const inner = isMap(data[key]) ? (data[key] as Values) : {};
      data[key] = inner;
      parseKey(c, inner, expr, asString);
      return;
    }
    case '[': {
      deeper(c, expr);
      const list = Array.isArray(data[key]) ? (data[key] as unknown[]) : [];
      data[key] = list;
      setListItem(list, parseIndex(c, expr), c, expr, asString);
      return;
    }
  }
}

/** Apply one `--set` (or `--set-string`) expression to `tree`, in place. */
export function applySet(tree: Values, expr: string, asString = false): void {
  const c = new Cursor(expr);
  while (!c.done) {
    c.depth = 0;
    parseKey(c, tree, expr, asString);
  }
}

/** The keys one --set expression sets, as dotted paths (list indices dropped). */
export function setPaths(expr: string): string[] {
  const t: Values = {};
  applySet(t, expr);
  const out: string[] = [];
  const walk = (v: unknown, p: string) => {
    if (isMap(v) && Object.keys(v).length) for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    else if (Array.isArray(v) && v.some((x) => isMap(x))) v.forEach((x) => walk(x, p));
    else out.push(p);
  };
  walk(t, '');
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Collecting

/** What the command gathered from flags and the environment; values files already read. */
export interface ValueInputs {
  /** Contents of -f/--values files, in order (already parsed). */
  files?: Array<{ name: string; values: Values }>;
  /** --set expressions, in order. */
  set?: string[];
  /** --set-string expressions, in order (applied after --set, as helm does). */
  setString?: string[];
  /** Dedicated flags, highest precedence: dotted path → value (undefined = not given). */
  flags?: Record<string, unknown>;
  /** Environment (ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET are read as the lowest-precedence source). */
  env?: NodeJS.ProcessEnv;
  /** Whether to read the environment variables at all (upgrade does not: a stale shell variable must not rotate the key). */
  useEnv?: boolean;
  /** The secret from --access-key-secret-stdin, already read. */
  stdinSecret?: Secret;
}

export interface CollectedValues {
  /** The user's values (not the chart defaults), the secret wrapped as `Secret`. */
  values: Values;
  /** Where each required value came from ("flag --region", "values file a.yaml", "env ..."). */
  sources: Record<string, string>;
}

/** Wrap the secret wherever a values tree holds it as plain text (a values file, `helm get values`). */
export function wrapSecret(values: Values): Values {
  const v = values[SECRET_PATH];
  if (typeof v === 'string' && v !== '') return { ...values, [SECRET_PATH]: new Secret(v) };
  if (typeof v === 'number') return { ...values, [SECRET_PATH]: new Secret(String(v)) };
  return values;
}

/** Refuse the secret on argv: `--set accessKeySecret=...` shows in `ps` and shell history. */
export function assertNoSecretInSet(exprs: readonly string[]): void {
  for (const e of exprs) {
    // Parse for the key only: the value is never echoed.
    const keys = (() => {
      try {
        return setPaths(e);
      } catch {
        return e.split(',').map((p) => p.split('=')[0] ?? '');
      }
    })();
    if (keys.some((k) => k === SECRET_PATH || k.endsWith(`.${SECRET_PATH}`))) {
      // The value was on our argv; make sure nothing we print can repeat it.
      const value = e.slice(e.indexOf('=') + 1);
      if (value) new Secret(value);
      throw new InsightError('usage', 'the AccessKey secret is not accepted on the command line (--set accessKeySecret=...)', {
        hint: `It would show in \`ps\` and your shell history; use ${SECRET_SOURCES}. If you already typed it, consider rotating the key.`,
      });
    }
  }
}

/**
 * Merge everything the user gave, in helm's order (values files, then --set, then --set-string),
 * with our dedicated flags on top and the environment below everything.
 */
export function collectValues(inp: ValueInputs): CollectedValues {
  const sources: Record<string, string> = {};
  const note = (tree: Values, from: string) => {
    for (const r of REQUIRED_VALUES) if (hasPath(tree, r.path) && getPath(tree, r.path) !== '' && getPath(tree, r.path) != null) sources[r.path] = from;
  };
  let values: Values = {};
  const env = inp.env ?? process.env;
  if (inp.useEnv !== false) {
    const fromEnv: Values = {};
    if (env[ENV.accessKeyId]) fromEnv.accessKeyID = env[ENV.accessKeyId];
    const envSecret = env[ENV.accessKeySecret] ? new Secret(env[ENV.accessKeySecret]!) : inp.env ? undefined : environmentSecret();
    if (envSecret) fromEnv[SECRET_PATH] = envSecret;
    note(fromEnv, 'environment');
    values = mergeValues(values, fromEnv);
  }
  for (const f of inp.files ?? []) {
    const v = wrapSecret(f.values);
    note(v, `values file ${f.name}`);
    values = mergeValues(values, v);
  }
  const sets = [...(inp.set ?? []), ...(inp.setString ?? [])];
  assertNoSecretInSet(sets);
  for (const [list, asString] of [[inp.set ?? [], false], [inp.setString ?? [], true]] as const) {
    for (const e of list) {
      const t: Values = {};
      applySet(t, e, asString);
      note(t, asString ? '--set-string' : '--set');
      values = mergeValues(values, t);
    }
  }
  const flagTree: Values = {};
  for (const [path, v] of Object.entries(inp.flags ?? {})) if (v !== undefined) setPath(flagTree, path, v);
  note(flagTree, 'flag');
  values = mergeValues(values, flagTree);
  if (inp.stdinSecret) {
    values[SECRET_PATH] = inp.stdinSecret;
    sources[SECRET_PATH] = 'stdin';
  }
  return { values, sources };
}

/** Read and parse one -f file ('-' is not supported: stdin may carry the secret). */
/** Values files are a few KB; a bound keeps `-f /dev/zero` or a huge file from eating memory and time. */
export const MAX_VALUES_FILE_BYTES = 1024 * 1024;

function readBounded(p: string): string {
  const st = statSync(p);
  if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'NOT_A_FILE' });
  if (st.size > MAX_VALUES_FILE_BYTES) throw Object.assign(new Error('too large'), { code: 'TOO_LARGE', size: st.size });
  return readFileSync(p, 'utf8');
}

export function readValuesFile(path: string, read: (p: string) => string = readBounded): Values {
  let text: string;
  try {
    text = read(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'NOT_A_FILE') throw new InsightError('invalid-input', `values file ${path} is not a regular file`, { hint: 'Give -f a YAML file (not a device, pipe or directory).' });
    if (code === 'TOO_LARGE') throw new InsightError('invalid-input', `values file ${path} is larger than ${MAX_VALUES_FILE_BYTES / 1024 / 1024} MiB`, { hint: 'A values file holds a few settings; check the path given to -f/--values.' });
    throw new InsightError('invalid-input', `values file ${path} cannot be read${code ? ` (${code})` : ''}`, { hint: 'Check the path given to -f/--values.' });
  }
  let parsed: unknown;
  try {
    // logLevel error: the library's warnings (an unknown tag, say) quote the line, which may hold the secret.
    parsed = parseYaml(text, { uniqueKeys: false, logLevel: 'error' });
  } catch (e) {
    // The YAML error quotes the line, which may hold the secret: keep only the position.
    const pos = (e as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
    throw new InsightError('invalid-input', `values file ${path} is not valid YAML${pos ? ` (line ${pos.line}, column ${pos.col})` : ''}`, { hint: 'Fix the YAML; `helm lint`-style tools show the exact problem.' });
  }
  if (parsed == null) return {};
  if (!isMap(parsed)) throw new InsightError('invalid-input', `values file ${path} must be a YAML mapping (key: value), not a ${Array.isArray(parsed) ? 'list' : typeof parsed}`);
  return parsed;
}

// ---------------------------------------------------------------------------------------------------
// Validation

export interface ValidateOptions {
  allowUnknownRegion?: boolean;
  /** Install needs every required value; upgrade validates what the merged values hold. */
  requireAll?: boolean;
  release?: string;
  namespace?: string;
}

/** Where a missing value can come from, for the error message. */
function sourceHint(path: string): string {
  const r = REQUIRED_VALUES.find((x) => x.path === path);
  if (path === SECRET_PATH) return `${ENV.accessKeySecret}, --access-key-secret-stdin, -f or the prompt`;
  if (path === 'accessKeyID') return `--access-key-id or ${ENV.accessKeyId}`;
  return r ? `--${r.flag}` : `--set ${path}=...`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SLS_PROJECT = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
// The chart's machine group is custom-kubernetes-<clusterID>-entity-collector; SLS machine-group names
// are at most 128 characters, which leaves 93 for the id.
const MACHINE_GROUP_OVERHEAD = 'custom-kubernetes-'.length + '-entity-collector'.length;
const MAX_CLUSTER_ID = 128 - MACHINE_GROUP_OVERHEAD;
// A pasted value with a control character (a newline from `cat`, a tab) ends up in a ConfigMap verbatim.
const CONTROL = /[\u0000-\u001f\u007f]/;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : undefined);

/** Show a user value in an error: quoted, cut short, and never the secret. */
const show = (v: unknown) => JSON.stringify(redact(String(v)).slice(0, 60));

/**
 * Normalise values the user typed loosely (aliUid as a number, `net: intranet`) and list every problem.
 * Returns the normalised values; throws one InsightError (exit 2) naming all problems at once.
 */
export function validateValues(values: Values, opts: ValidateOptions = {}): Values {
  const v = clone(values) as Values;
  const problems: string[] = [];
  const missing: string[] = [];

  if (opts.requireAll !== false) {
    for (const r of REQUIRED_VALUES) {
      const x = getPath(v, r.path);
      const empty = x === undefined || x === null || (typeof x === 'string' && x.trim() === '') || (x instanceof Secret && x.reveal().trim() === '');
      if (empty) missing.push(`${r.path} (${sourceHint(r.path)})`);
    }
  }
  // Every required value is text: `clusterID: true` or a list would reach the chart as something else.
  for (const r of REQUIRED_VALUES) {
    if (r.path === SECRET_PATH) continue; // checked below, without ever showing it
    const x = getPath(v, r.path);
    if (x === undefined || x === null || typeof x === 'string' || typeof x === 'number' || x instanceof Secret) continue;
    problems.push(`${r.path} must be a string, not a ${Array.isArray(x) ? 'list' : typeof x === 'object' ? 'map' : typeof x}`);
  }

  // aliUid: a 16-digit number; YAML reads it as a float and loses digits unless quoted (why the doc says --set-string).
  const uid = getPath(v, 'aliUid');
  if (typeof uid === 'number') {
    if (!Number.isSafeInteger(uid)) problems.push(`aliUid ${uid} lost digits as a YAML number: quote it ("${'1234567890123456'}") or use --ali-uid`);
    else setPath(v, 'aliUid', String(uid));
  } else if (uid !== undefined && uid !== null && uid !== '') {
    if (typeof uid !== 'string' || !/^\d{5,20}$/.test(uid.trim())) problems.push(`aliUid ${show(uid)} is not an Alibaba Cloud account UID (digits only, e.g. 1234567890123456)`);
    else setPath(v, 'aliUid', uid.trim());
  }

  const akid = str(getPath(v, 'accessKeyID'));
  if (akid) {
    if (akid.startsWith('STS.')) problems.push('accessKeyID is a temporary STS key (STS.…): the collector needs a RAM user\'s permanent AccessKey');
    else if (!/^[A-Za-z0-9]{12,40}$/.test(akid.trim())) problems.push(`accessKeyID ${show(akid)} does not look like an AccessKey ID (letters and digits, usually LTAI…)`);
    else setPath(v, 'accessKeyID', akid.trim());
  }
  const secret = getPath(v, SECRET_PATH);
  if (typeof secret === 'string' && secret !== '') setPath(v, SECRET_PATH, new Secret(secret));
  else if (secret !== undefined && secret !== null && secret !== '' && !(secret instanceof Secret)) {
    // A list, map, number or boolean would reach the chart unredacted: refuse it, and never show it.
    problems.push(`accessKeySecret must be a string, not a ${Array.isArray(secret) ? 'list' : typeof secret === 'object' ? 'map' : typeof secret}`);
    setPath(v, SECRET_PATH, new Secret(JSON.stringify(secret)));
  }
  const sv = getPath(v, SECRET_PATH);
  if (sv instanceof Secret) {
    const s = sv.reveal().trim();
    // Messages never show the value.
    if (s !== sv.reveal()) setPath(v, SECRET_PATH, new Secret(s));
    if (s && !/^[A-Za-z0-9]{16,64}$/.test(s)) problems.push('accessKeySecret does not look like an AccessKey secret (16-64 letters and digits)');
    if (s && akid && s === akid.trim()) problems.push('accessKeySecret equals accessKeyID: the secret was given twice instead of the ID');
  }

  const region = str(getPath(v, 'region'));
  if (region) {
    const r = region.trim();
    if (!isKnownRegion(r)) {
      if (opts.allowUnknownRegion) {
        if (!REGION_ID_PATTERN.test(r)) problems.push(`region ${show(r)} is not shaped like a region id (e.g. cn-hangzhou)`);
      } else {
        const s = suggestRegion(r);
        problems.push(`unknown region ${show(r)}${s ? ` (did you mean ${s}?)` : ''}; pass --allow-unknown-region for a region newer than this tool`);
      }
    }
    setPath(v, 'region', r);
  }

  const cid = str(getPath(v, 'clusterID'));
  if (cid) {
    if (!DNS_LABEL.test(cid)) problems.push(`clusterID ${show(cid)} must be lowercase letters, digits and '-', starting and ending with a letter or digit (it names the Kubernetes resource custom-kubernetes-<clusterID>-entity-collector and the SLS machine group)`);
    else if (cid.length > MAX_CLUSTER_ID) problems.push(`clusterID is ${cid.length} characters; at most ${MAX_CLUSTER_ID} fit the SLS machine-group name (128)`);
  }

  for (const key of ['clusterName', 'workspace', 'operator.prometheus.prometheusInstanceID'] as const) {
    const x = str(getPath(v, key));
    if (x === undefined) continue;
    if (CONTROL.test(x)) problems.push(`${key} contains a control character (a newline or tab pasted with it?)`);
    else if (x.trim() !== x) setPath(v, key, x.trim());
    if (x.length > 128) problems.push(`${key} is ${x.length} characters (at most 128)`);
  }
  const ws = str(getPath(v, 'workspace'));
  if (ws && /\s/.test(ws.trim())) problems.push(`workspace ${show(ws)} contains spaces: use the workspace name (e.g. my-workspace), not its display title`);
  const pid = str(getPath(v, 'operator.prometheus.prometheusInstanceID'));
  if (pid && /\s/.test(pid.trim())) problems.push(`operator.prometheus.prometheusInstanceID ${show(pid)} contains spaces`);

  const project = str(getPath(v, 'entityCollector.projectName'));
  if (project && !SLS_PROJECT.test(project.trim())) {
    problems.push(`entityCollector.projectName ${show(project)} is not an SLS project name (3-63 lowercase letters, digits and '-', starting and ending with a letter or digit)`);
  }

  const net = getPath(v, 'net');
  if (net !== undefined && net !== null) {
    const n = String(net).toLowerCase();
    if (n === 'internet') setPath(v, 'net', 'Internet');
    else if (n === 'intranet') setPath(v, 'net', 'Intranet');
    else problems.push(`net ${show(net)} must be Internet or Intranet`);
  }

  if (opts.release !== undefined && (!RELEASE_NAME.test(opts.release) || opts.release.length > 53)) {
    problems.push(`release name ${show(opts.release)} is not a valid helm release name (lowercase letters, digits, '-' and '.', at most 53)`);
  }
  if (opts.namespace !== undefined && (!DNS_LABEL.test(opts.namespace) || opts.namespace.length > 63)) {
    problems.push(`namespace ${show(opts.namespace)} is not a valid Kubernetes namespace name (lowercase letters, digits and '-', at most 63)`);
  }

  if (missing.length || problems.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing required value${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
    parts.push(...problems);
    throw new InsightError('invalid-input', parts.join('; '), {
      hint: missing.length
        ? 'Give each value as a flag, in a values file (-f), or with --set; see `kubectl insight install --help`. Nothing was changed.'
        : 'Fix the values above and run the command again. Nothing was changed.',
      details: { missing: missing.map((m) => m.split(' ')[0]), problems },
    });
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------
// Diff and redaction

export interface ValueChange {
  path: string;
  from?: unknown;
  to?: unknown;
  kind: 'added' | 'removed' | 'changed';
}

function flatten(v: unknown, prefix = '', out: Map<string, unknown> = new Map()): Map<string, unknown> {
  if (isMap(v) && Object.keys(v).length > 0) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, v);
  }
  return out;
}

const same = (a: unknown, b: unknown) => {
  if (a instanceof Secret || b instanceof Secret) {
    const x = a instanceof Secret ? a.reveal() : a;
    const y = b instanceof Secret ? b.reveal() : b;
    return x === y;
  }
  return JSON.stringify(a) === JSON.stringify(b);
};

/** The values that differ between two user-value trees, secrets shown as [REDACTED]. */
export function diffValues(before: Values, after: Values): ValueChange[] {
  const a = flatten(before);
  const b = flatten(after);
  const out: ValueChange[] = [];
  const shown = (p: string, x: unknown) => (p === SECRET_PATH || x instanceof Secret ? REDACTED : typeof x === 'string' ? redact(x) : x);
  for (const [p, x] of a) {
    if (!b.has(p)) out.push({ path: p, from: shown(p, x), kind: 'removed' });
    else if (!same(x, b.get(p))) out.push({ path: p, from: shown(p, x), to: shown(p, b.get(p)), kind: 'changed' });
  }
  for (const [p, y] of b) if (!a.has(p)) out.push({ path: p, to: shown(p, y), kind: 'added' });
  return out.sort((x, y) => x.path.localeCompare(y.path));
}

/** Every text form in which a secret can show up in rendered manifests: raw and base64 (Secret data). */
export function secretForms(secret: string): string[] {
  if (!secret) return [];
  const forms = new Set<string>([secret, Buffer.from(secret).toString('base64')]);
  // base64 of a longer text that contains the secret (a dockerconfig, an env file in a Secret): the
  // text before it shifts the 3-byte grouping, so encode the secret from each of the 3 alignments and
  // keep only whole groups, which are the same whatever surrounds them.
  const bytes = Buffer.from(secret);
  for (let off = 0; off < 3; off++) {
    const rest = bytes.subarray(off);
    const whole = rest.subarray(0, rest.length - (rest.length % 3));
    if (whole.length >= 12) forms.add(whole.toString('base64'));
  }
  return [...forms].filter((f) => f.length >= 8).sort((a, b) => b.length - a.length);
}

/**
 * Redact rendered manifests: in every Secret, data/stringData values that hold (or decode to text
 * holding) the secret become [REDACTED]; then any raw or base64 form of it left anywhere else.
 */
export function redactManifests(text: string, secrets: readonly Secret[]): string {
  const plain = secrets.map((s) => s.reveal()).filter(Boolean);
  if (plain.length === 0) return redact(text);
  const holds = (s: string) => plain.some((p) => s.includes(p));
  const docs = text.split(/^---\s*$/m);
  const out = docs.map((doc) => {
    if (!/^kind:\s*Secret\s*$/m.test(doc)) return doc;
    let parsed: unknown;
    try {
      parsed = parseAllDocuments(doc)[0]?.toJSON();
    } catch {
      return doc;
    }
    if (!isMap(parsed)) return doc;
    let changed = doc;
    for (const field of ['data', 'stringData'] as const) {
      const d = parsed[field];
      if (!isMap(d)) continue;
      for (const [k, val] of Object.entries(d)) {
        if (typeof val !== 'string') continue;
        const decoded = field === 'data' ? Buffer.from(val, 'base64').toString('utf8') : val;
        if (holds(decoded) || holds(val)) changed = changed.split(val).join(REDACTED) as string;
        void k;
      }
    }
    return changed;
  });
  let joined = out.join('---');
  for (const p of plain) for (const f of secretForms(p)) joined = joined.split(f).join(REDACTED);
  return redact(joined);
}

/** A values tree for display: the secret (and any text that contains it) as [REDACTED]. */
export function displayValues(values: Values): Values {
  const walk = (v: unknown, key?: string): unknown => {
    if (v instanceof Secret) return REDACTED;
    if (key === SECRET_PATH && v !== undefined && v !== null && v !== '') return REDACTED;
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return typeof v === 'string' ? redact(v) : v;
  };
  return walk(values) as Values;
}

/** The Secret objects a values tree holds (to redact rendered output). */
export function secretsIn(values: Values): Secret[] {
  const out: Secret[] = [];
  const walk = (v: unknown) => {
    if (v instanceof Secret) out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (isMap(v)) Object.values(v).forEach(walk);
  };
  walk(values);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Image registry rewrite

/**
 * Point every component image at another registry: each `<x>.image.repository` in the chart's
 * defaults keeps its path and gets the new host (`registry-cn-hangzhou.ack.aliyuncs.com/acs/loongcollector`
 * → `<registry>/acs/loongcollector`). A repository the user set explicitly wins.
 */
export function rewriteImageRegistry(chartDefaults: Values, userValues: Values, registry: string): Values {
  const host = registry.replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '');
  const overlay: Values = {};
  const walk = (v: unknown, path: string[]) => {
    if (!isMap(v)) return;
    const image = v.image;
    if (isMap(image) && typeof image.repository === 'string') {
      const p = [...path, 'image', 'repository'].join('.');
      if (!hasPath(userValues, p)) {
        const repo = image.repository;
        const slash = repo.indexOf('/');
        const first = slash > 0 ? repo.slice(0, slash) : '';
        // Only the first segment is a host when it has a dot or port (docker's rule).
        const rest = first && /[.:]/.test(first) ? repo.slice(slash + 1) : repo;
        setPath(overlay, p, `${host}/${rest}`);
      }
    }
    for (const [k, x] of Object.entries(v)) if (k !== 'image') walk(x, [...path, k]);
  };
  walk(chartDefaults, []);
  return overlay;
}

// ---------------------------------------------------------------------------------------------------
// Reading the secret from stdin or a prompt

/** Read the whole of stdin as the secret (a trailing newline from `echo`/a file is dropped). */
export async function readSecretFromStream(stream: NodeJS.ReadableStream): Promise<Secret> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  const text = Buffer.concat(chunks).toString('utf8');
  chunks.forEach((b) => b.fill(0));
  const s = text.replace(/\r?\n$/, '').trim();
  if (!s) throw new InsightError('invalid-input', '--access-key-secret-stdin was given but stdin was empty', { hint: 'Pipe the secret in: `kubectl insight install ... --access-key-secret-stdin < secret.txt`.' });
  return new Secret(s);
}

/**
 * Ask for the secret on a TTY without echo. Node's readline with the output muted after the question:
 * no dependency, and nothing is written to the terminal's scrollback.
 */
export async function promptSecret(question = 'AccessKey secret: ', input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<Secret> {
  const { createInterface } = await import('node:readline');
  const { Writable } = await import('node:stream');
  let muted = false;
  const sink = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) output.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input, output: sink as unknown as NodeJS.WritableStream, terminal: true });
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      rl.question(question, resolve);
      muted = true;
      rl.on('SIGINT', () => reject(new InsightError('interrupted', 'interrupted at the secret prompt')));
      rl.on('close', () => reject(new InsightError('aborted', 'no AccessKey secret entered')));
    });
    return new Secret(answer.trim());
  } finally {
    muted = false;
    output.write('\n');
    rl.removeAllListeners('close');
    rl.close();
  }
}
