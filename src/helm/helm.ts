import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ExecaError } from 'execa';
import semver from 'semver';
import { stringify } from 'yaml';
import { onExit } from '../cleanup.js';
import { InsightError } from '../errors.js';
import { MIN_VERSIONS } from '../defaults.js';
import { redact, Secret } from '../secret.js';

export interface HelmOptions {
  /** --helm-binary, else `helm` on PATH. */
  binary?: string;
  kubeconfig?: string;
  context?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill helm after this many ms (helm's own --timeout covers waits; this is a backstop). */
  timeoutMs?: number;
}

export interface HelmResult {
  stdout: string;
  stderr: string;
}

export interface HelmRelease {
  name: string;
  namespace: string;
  revision: number;
  status: string;
  chart: string;
  app_version: string;
  updated?: string;
}

export interface HelmRunOptions {
  /** Chart values: written to a 0600 temp file and passed with -f; removed afterwards on every path. */
  values?: Record<string, unknown>;
  /** Text for stdin. */
  input?: string;
}

/**
 * Converts a values tree for YAML: Secret objects are revealed only here, into the 0600 file that
 * helm reads, never into argv.
 */
function revealSecrets(v: unknown): unknown {
  if (v instanceof Secret) return v.reveal();
  if (Array.isArray(v)) return v.map(revealSecrets);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revealSecrets(x)]));
  return v;
}

/** Write values to a private temp file; returns its path and a function that removes it. */
export function writeValuesFile(values: Record<string, unknown>): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-insight-'));
  const path = join(dir, 'values.yaml');
  const remove = onExit(() => rmSync(dir, { recursive: true, force: true }));
  try {
    writeFileSync(path, stringify(revealSecrets(values)), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    remove();
    throw e;
  }
  return { path, remove };
}

/** The helm binary, with typed results and domain errors. Secrets can only reach it through values files. */
export class Helm {
  readonly binary: string;
  private readonly opts: HelmOptions;

  constructor(opts: HelmOptions = {}) {
    this.opts = opts;
    this.binary = opts.binary ?? 'helm';
  }

  /** Global flags so helm talks to the same cluster as we do. */
  private globalArgs(): string[] {
    const a: string[] = [];
    if (this.opts.kubeconfig) a.push('--kubeconfig', this.opts.kubeconfig);
    if (this.opts.context) a.push('--kube-context', this.opts.context);
    return a;
  }

  async run(args: string[], runOpts: HelmRunOptions = {}): Promise<HelmResult> {
    const full = [...args, ...this.globalArgs()];
    // The guard that makes "secret on argv" impossible rather than merely avoided.
    if (full.some((a) => redact(a) !== a)) {
      throw new InsightError('failed', 'internal error: refused to pass a secret to helm on the command line', { exitCode: 70 });
    }
    const file = runOpts.values ? writeValuesFile(runOpts.values) : undefined;
    if (file) full.push('--values', file.path);
    try {
      const r = await execa(this.binary, full, {
        env: this.opts.env,
        extendEnv: true,
        input: runOpts.input,
        timeout: this.opts.timeoutMs,
        reject: true,
        stripFinalNewline: true,
      });
      return { stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      throw classifyHelmError(e as ExecaError, this.binary, args[0] ?? '');
    } finally {
      file?.remove();
    }
  }

  /** helm's version; a missing binary or helm 2 is a tool error. */
  async version(): Promise<string> {
    let out: string;
    try {
      out = (await this.run(['version', '--template', '{{.Version}}'])).stdout.trim();
    } catch (e) {
      if (e instanceof InsightError && e.kind === 'tool') throw e;
      // helm 2 has no --template for version and answers with an error.
      throw new InsightError('tool', `${this.binary} does not look like helm 3 (\`helm version\` failed)`, {
        hint: `Install helm >= ${MIN_VERSIONS.helm} (https://helm.sh/docs/intro/install/) or pass --helm-binary.`,
        cause: e,
      });
    }
    // Keep a prerelease (3.0.0-rc.1 is older than 3.0.0); coerce only what semver cannot parse.
    const v = semver.parse(out, { loose: true }) ?? semver.coerce(out);
    if (!v || out.startsWith('Client:')) {
      throw new InsightError('tool', `cannot read helm's version from "${out.slice(0, 60)}"`, {
        hint: `Install helm >= ${MIN_VERSIONS.helm} or pass --helm-binary.`,
      });
    }
    if (semver.lt(v, MIN_VERSIONS.helm)) {
      throw new InsightError('tool', `helm ${out} is too old: kubectl insight needs helm >= ${MIN_VERSIONS.helm}`, {
        hint: 'Install helm 3 (https://helm.sh/docs/intro/install/) or pass --helm-binary.',
      });
    }
    return v.version;
  }

  async status(release: string, namespace: string): Promise<HelmRelease | undefined> {
    const list = await this.list(namespace, release);
    return list.find((r) => r.name === release);
  }

  /** Releases in a namespace in every state (deployed, failed, pending-*, uninstalling). */
  async list(namespace: string, filter?: string): Promise<HelmRelease[]> {
    const args = ['list', '-n', namespace, '-a', '-o', 'json'];
    if (filter) args.push('--filter', `^${filter.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    const { stdout } = await this.run(args);
    const rows = JSON.parse(stdout || '[]') as Array<Omit<HelmRelease, 'revision'> & { revision: string | number }>;
    return rows.map((r) => ({ ...r, revision: Number(r.revision) }));
  }

  /** The user-supplied values of a release (`all` adds the chart defaults). */
  async getValues(release: string, namespace: string, all = false): Promise<Record<string, unknown>> {
    const args = ['get', 'values', release, '-n', namespace, '-o', 'json'];
    if (all) args.push('--all');
    const { stdout } = await this.run(args);
    return (JSON.parse(stdout || '{}') ?? {}) as Record<string, unknown>;
  }
}

const PATTERNS: Array<[RegExp, (m: RegExpMatchArray) => InsightError]> = [
  [/Kubernetes cluster unreachable: (.*)/i, (m) => new InsightError('unreachable', `helm cannot reach the cluster: ${m[1]}`, { hint: 'Check kubeconfig and `kubectl cluster-info`.' })],
  [/release: not found|release .* not found/i, () => new InsightError('not-found', 'helm release not found')],
  [/cannot re-use a name that is still in use/i, () => new InsightError('conflict', 'a helm release with this name already exists', { hint: 'Use `kubectl insight upgrade`, or uninstall it first.' })],
  [/is forbidden: User "([^"]*)" cannot (\w+) resource "([^"]*)"(?: in API group "([^"]*)")?/i, (m) =>
    new InsightError('forbidden', `forbidden: user ${m[1]} cannot ${m[2]} ${m[3]}${m[4] ? `.${m[4]}` : ''}`, {
      hint: `Ask a cluster admin for an RBAC rule with apiGroups: ["${m[4] ?? ''}"], resources: ["${m[3]}"], verbs: ["${m[2]}"].`,
    })],
  [/context deadline exceeded|timed out waiting for the condition/i, () => new InsightError('timeout', 'helm timed out waiting for the release to become ready')],
  [/(failed to download|no chart version found|chart ".*" not found|repo .* not found|no such file or directory.*chart|path ".*" not found)/i, (m) =>
    new InsightError('invalid-input', `chart not found: ${m[0]}`, { hint: 'Check --chart, --repo-url and --version (`helm search repo` lists versions).' })],
];

export function classifyHelmError(e: ExecaError, binary: string, verb: string): InsightError {
  if ((e as { code?: string }).code === 'ENOENT') {
    return new InsightError('tool', `helm not found (${binary})`, {
      hint: `Install helm >= ${MIN_VERSIONS.helm} (https://helm.sh/docs/intro/install/) or pass --helm-binary.`,
    });
  }
  if (e.timedOut) return new InsightError('timeout', `helm ${verb} did not finish in time`);
  // helm prints its error as the last "Error: ..." line; secrets never reach it, redact anyway.
  const stderr = redact(String(e.stderr ?? ''));
  const line = stderr.split('\n').reverse().find((l) => l.startsWith('Error:'))?.slice(7) ?? stderr.split('\n').filter(Boolean).pop() ?? e.shortMessage;
  // helm wraps some causes in multi-line errors ("1 error occurred:\n\t* ... is forbidden"): look at
  // every line, the last "Error:" line first.
  const lines = [line, ...stderr.split('\n').map((l) => l.replace(/^\s*\*\s*/, '').trim()).filter(Boolean)];
  for (const [re, make] of PATTERNS) {
    const m = lines.map((l) => l.match(re)).find(Boolean);
    if (m) {
      const err = make(m);
      return new InsightError(err.kind, err.message, { hint: err.hint, exitCode: err.exitCode, details: { helm: line } });
    }
  }
  return new InsightError('failed', `helm ${verb} failed: ${line}`, { details: { exitCode: e.exitCode } });
}
