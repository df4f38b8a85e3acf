/**
 * Where the user's chart values come from: values files, `--set`/`--set-string`, the dedicated flags,
 * the environment, and the secret from stdin or a hidden TTY prompt. Not pure: readValuesFile reads
 * a file, readStdinSecret stdin or the terminal, collectValues the environment (process.env and the
 * secret taken from it at start, unless given an `env`), and gatherValues all of these.
 */
import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ENV, REQUIRED_VALUES } from '../defaults.js';
import { InsightError, usageError } from '../errors.js';
import { environmentSecret, Secret } from '../secret.js';
import type { ValueFlags } from './flags.js';
import { preflightInputFromValues } from './preflight.js';
import { applySet, setPaths } from './set.js';
import { getPath, hasPath, isMap, mergeValues, SECRET_PATH, setPath, wrapSecret, type Values } from './tree.js';
import { validateValues } from './validate.js';

/** How the user can give the secret; said in every error that refuses it on argv. */
const SECRET_SOURCES = `${ENV.accessKeySecret}, --access-key-secret-stdin, a values file (-f) or the interactive prompt`;

/** The secret was typed on our command line (`what` says where): refused, with the ways that are safe. */
function secretOnArgvError(what: string): InsightError {
  return new InsightError('usage', `the AccessKey secret is not accepted on the command line (${what})`, {
    hint: `It would show in \`ps\` and your shell history; use ${SECRET_SOURCES}. If you already typed it, consider rotating the key.`,
  });
}

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
  /** Where each required value came from: "environment", "values file a.yaml", "--set", "--set-string", "flag" or "stdin". */
  sources: Record<string, string>;
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
      throw secretOnArgvError('--set accessKeySecret=...');
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
    const envSecret = secretInEnvironment(inp.env);
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

/** Values files are a few KB; a bound keeps `-f /dev/zero` or a huge file from eating memory and time. */
const MAX_VALUES_FILE_BYTES = 1024 * 1024;

function readBounded(p: string): string {
  const st = statSync(p);
  if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'NOT_A_FILE' });
  if (st.size > MAX_VALUES_FILE_BYTES) throw Object.assign(new Error('too large'), { code: 'TOO_LARGE', size: st.size });
  return readFileSync(p, 'utf8');
}

/** Read and parse one -f file ('-' is not supported: stdin may carry the secret). */
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

/** Read the whole of stdin as the secret (a trailing newline from `echo`/a file is dropped). */
async function readSecretFromStream(stream: NodeJS.ReadableStream): Promise<Secret> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
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
async function promptSecret(question = 'AccessKey secret: ', input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<Secret> {
  const { createInterface } = await import('node:readline');
  const { Writable } = await import('node:stream');
  let muted = false;
  const sink = new Writable({
    write(chunk: string | Uint8Array, _enc, cb) {
      if (!muted) output.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input, output: sink, terminal: true });
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

/**
 * The secret in the environment, wrapped at once: the variable if still set, else the value the CLI
 * took from it at start-up. A test's own environment (`env`) is read alone.
 */
export function secretInEnvironment(env?: NodeJS.ProcessEnv): Secret | undefined {
  const e = env ?? process.env;
  if (e[ENV.accessKeySecret]) return new Secret(e[ENV.accessKeySecret]!);
  return env ? undefined : environmentSecret();
}

/** --access-key-secret-stdin: a hidden prompt when stdin is a terminal, else all of stdin. */
export async function readStdinSecret(): Promise<Secret> {
  return process.stdin.isTTY ? promptSecret() : readSecretFromStream(process.stdin);
}

/** The AccessKey a read-only command (preflight, verify) uses, and the values files it read. */
export interface CommandKey {
  accessKeyId?: string;
  accessKeySecret?: Secret;
  /** ALIBABA_CLOUD_SECURITY_TOKEN, for STS credentials. */
  securityToken?: Secret;
  /** The merged values files, secret wrapped (undefined without -f). */
  values?: Values;
}

/**
 * One order for every command that calls the cloud with the user's key: the secret from stdin
 * (--access-key-secret-stdin), else the environment, else the values files, else (when asked for and
 * on a terminal) a hidden prompt; never argv. The key id from the flag, else the values files; with
 * `keyIdLater` the caller finds it elsewhere (verify: the release's own). The environment variable is
 * removed at once.
 */
export async function readCommandKey(o: { stdin: boolean; valuesFiles?: readonly string[]; keyId?: string; promptIfMissing?: boolean; keyIdLater?: boolean }): Promise<CommandKey> {
  let secret = o.stdin ? await readStdinSecret() : secretInEnvironment();
  delete process.env[ENV.accessKeySecret];
  const token = process.env[ENV.securityToken] ? new Secret(process.env[ENV.securityToken]!) : undefined;
  delete process.env[ENV.securityToken];
  let values: Values | undefined;
  if (o.valuesFiles?.length) {
    values = wrapSecret(o.valuesFiles.reduce<Values>((acc, f) => mergeValues(acc, readValuesFile(f)), {}));
  }
  const fromValues = values ? preflightInputFromValues(values) : {};
  secret ??= fromValues.accessKeySecret;
  const keyId = o.keyId ?? fromValues.accessKeyId;
  if (!secret && o.promptIfMissing && process.stdin.isTTY) secret = await promptSecret(keyId ? `AccessKey secret for ${keyId}: ` : undefined);
  if (secret && !keyId && !o.keyIdLater) throw usageError('an AccessKey secret was given without --access-key-id', `Pass --access-key-id or set ${ENV.accessKeyId}.`);
  return { ...(keyId ? { accessKeyId: keyId } : {}), ...(secret ? { accessKeySecret: secret } : {}), ...(secret && token ? { securityToken: token } : {}), ...(values ? { values } : {}) };
}

/** Flag values that map to chart values (dotted path → value; undefined when not given). */
function flagValues(f: ValueFlags): Record<string, unknown> {
  const net = f.net ? (f.net.toLowerCase() === 'intranet' ? 'Intranet' : 'Internet') : undefined;
  return {
    aliUid: f['ali-uid'],
    accessKeyID: f['access-key-id'],
    clusterID: f['cluster-id'],
    clusterName: f['cluster-name'],
    workspace: f.workspace,
    region: f.region,
    'operator.prometheus.prometheusInstanceID': f['prometheus-instance-id'],
    'entityCollector.projectName': f['project-name'],
    net,
    'operator.enableAlertRule': f['disable-alert-rule'] ? false : undefined,
    'entityCollector.enabled': f['entity-collector'],
    'kubeStateMetrics.enabled': f['kube-state-metrics'],
    'nodeExporter.enabled': f['node-exporter'],
    'gpuExporter.enabled': f['gpu-exporter'],
  };
}

/**
 * Gather the user's values from files, --set, flags, env, stdin and (install, on a TTY) a prompt.
 * `mode` upgrade ignores the environment: a variable left in the shell must not rotate the key.
 */
export async function gatherValues(f: ValueFlags, mode: 'install' | 'upgrade', opts: { release: string; namespace: string; allowUnknownRegion: boolean; canPrompt: boolean }): Promise<Values> {
  if (f['access-key-secret'] !== undefined) {
    new Secret(f['access-key-secret']); // registered, so nothing we print can repeat it
    throw secretOnArgvError('--access-key-secret');
  }
  assertNoSecretInSet([...(f.set ?? []), ...(f['set-string'] ?? [])]);
  const files = (f.values ?? []).map((name) => ({ name, values: readValuesFile(name) }));
  const stdinSecret = f['access-key-secret-stdin'] ? await readStdinSecret() : undefined;
  const { values } = collectValues({
    files,
    set: f.set ?? [],
    setString: f['set-string'] ?? [],
    flags: flagValues(f),
    useEnv: mode === 'install',
    ...(stdinSecret ? { stdinSecret } : {}),
  });
  // Children (helm, kubectl credential plugins) must not inherit the secret in their environment.
  delete process.env[ENV.accessKeySecret];
  // Prompt for the secret last, and only when everything else is valid: a typo elsewhere must not cost a paste.
  if (mode === 'install' && opts.canPrompt && !(getPath(values, SECRET_PATH) ?? '')) {
    validateValues({ ...values, [SECRET_PATH]: new Secret('placeholderplaceholder1234') }, { allowUnknownRegion: opts.allowUnknownRegion, release: opts.release, namespace: opts.namespace });
    values[SECRET_PATH] = await promptSecret('AccessKey secret (input hidden): ');
  }
  return values;
}
