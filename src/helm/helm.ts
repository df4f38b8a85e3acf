import { execa, type ExecaError } from 'execa';
import semver from 'semver';
import { parseAllDocuments, stringify } from 'yaml';
import { InsightError } from '../errors.js';
import { MIN_VERSIONS } from '../defaults.js';
import { redact, Secret } from '../secret.js';
import { describeConflict, parseApplyConflicts } from '../kube/apply.js';
import { chartArgs, type ChartSource, type ChartYaml } from './chart.js';
import { parseManifests, type HelmRelease, type ManifestDoc } from './release.js';

export type { HelmRelease } from './release.js';

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

export interface HelmRunOptions {
  /**
   * Chart values: given to helm on its stdin (`--values -`, both majors), so the secret is never in a
   * file, not even for a moment, and no kind of exit (SIGKILL included) can leave one behind.
   */
  values?: Record<string, unknown>;
}

/**
 * Converts a values tree for YAML: Secret objects are revealed only here, into helm's stdin, never
 * into argv or a file.
 */
function revealSecrets(v: unknown): unknown {
  if (v instanceof Secret) return v.reveal();
  if (Array.isArray(v)) return v.map(revealSecrets);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revealSecrets(x)]));
  return v;
}

/**
 * What the tool relies on that differs between helm majors, decided from the version helm reports
 * (never by trying a flag on the user's cluster). docs/helm.md lists each behaviour and why.
 */
export interface HelmFeatures {
  version: string;
  major: number;
  /** `helm list` flags that show releases in every state: helm 4 has no -a/--all. */
  listAllStates: string[];
  /** `helm uninstall` waiting until every object is gone: helm 4's --wait takes a strategy. */
  uninstallWait: string[];
  /** New installs apply server-side (helm 4): field managers, and crds/ CRDs that exist are applied, not skipped. */
  serverSideApply: boolean;
  /** The end of security fixes for this major, when announced (helm 3: 2027-02-10). */
  securitySupportEnds?: string;
}

export const HELM3_SECURITY_SUPPORT_ENDS = '2027-02-10';

export function helmFeatures(version: string): HelmFeatures {
  const v = semver.parse(version, { loose: true }) ?? semver.coerce(version);
  if (!v) throw new InsightError('tool', `cannot read helm's version from "${version.slice(0, 60)}"`, { hint: `Install helm >= ${MIN_VERSIONS.helm} or pass --helm-binary.` });
  const major = v.major;
  return {
    version: v.version,
    major,
    listAllStates: major >= 4 ? ['--deployed', '--failed', '--pending', '--superseded', '--uninstalled', '--uninstalling'] : ['--all'],
    // helm uninstall has --wait from 3.7 on; before that the tool's own step waits for the pods alone.
    uninstallWait: major >= 4 ? ['--wait=watcher'] : semver.gte(v, '3.7.0') ? ['--wait'] : [],
    serverSideApply: major >= 4,
    ...(major === 3 ? { securitySupportEnds: HELM3_SECURITY_SUPPORT_ENDS } : {}),
  };
}

export interface InstallArgs {
  release: string;
  namespace: string;
  chart: ChartSource;
  timeoutMs: number;
  values: Record<string, unknown>;
  /** Reuse the name of a failed or uninstalled release (helm --replace). */
  replace?: boolean;
  skipCrds?: boolean;
}

export interface UpgradeArgs {
  release: string;
  namespace: string;
  chart: ChartSource;
  timeoutMs: number;
  values: Record<string, unknown>;
  /** helm 4, server-side apply: take fields back from other field managers (our own objects only). */
  forceConflicts?: boolean;
}

const secs = (ms: number) => `${Math.max(1, Math.ceil(ms / 1000))}s`;

/**
 * The helm binary, with typed results and domain errors; the only module that builds a helm command
 * line and knows how the majors differ. Secrets can only reach it as values, on its stdin.
 */
export class Helm {
  readonly binary: string;
  private readonly opts: HelmOptions;
  private featuresOnce?: Promise<HelmFeatures>;

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
    if (runOpts.values) full.push('--values', '-');
    try {
      const r = await execa(this.binary, full, {
        env: this.opts.env,
        extendEnv: true,
        ...(runOpts.values ? { input: stringify(revealSecrets(runOpts.values)) } : { stdin: 'ignore' as const }),
        timeout: this.opts.timeoutMs,
        reject: true,
        stripFinalNewline: true,
      });
      return { stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      throw classifyHelmError(e as ExecaError, this.binary, args[0] ?? '');
    }
  }

  /** helm's version and what that major does differently; read once per Helm. */
  features(): Promise<HelmFeatures> {
    this.featuresOnce ??= this.readVersion().then(helmFeatures);
    // A failed read is not cached: the next call reports the same error afresh.
    this.featuresOnce.catch(() => (this.featuresOnce = undefined));
    return this.featuresOnce;
  }

  /** helm's version; a missing binary or helm 2 is a tool error. */
  async version(): Promise<string> {
    return (await this.features()).version;
  }

  private async readVersion(): Promise<string> {
    let out: string;
    try {
      out = (await this.run(['version', '--template', '{{.Version}}'])).stdout.trim();
    } catch (e) {
      if (e instanceof InsightError && e.kind === 'tool') throw e;
      // helm 2 has no --template for version and answers with an error.
      throw new InsightError('tool', `${this.binary} does not look like helm 3 or 4 (\`helm version\` failed)`, {
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
        hint: 'Install helm 4 (https://helm.sh/docs/intro/install/) or pass --helm-binary.',
      });
    }
    return v.version;
  }

  /** One release in any state, or undefined when helm has none by that name in the namespace. */
  async release(name: string, namespace: string): Promise<HelmRelease | undefined> {
    return (await this.list(namespace, name)).find((r) => r.name === name);
  }

  /** Releases in a namespace in every state (deployed, failed, pending-*, uninstalling). */
  async list(namespace: string, filter?: string): Promise<HelmRelease[]> {
    const f = await this.features();
    const args = ['list', '-n', namespace, ...f.listAllStates, '-o', 'json'];
    if (filter) args.push('--filter', `^${filter.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    return parseList((await this.run(args)).stdout);
  }

  /** Releases in every namespace and state; needs the right to list helm's storage cluster-wide. */
  async listAllNamespaces(): Promise<HelmRelease[]> {
    const f = await this.features();
    return parseList((await this.run(['list', '--all-namespaces', ...f.listAllStates, '-o', 'json'])).stdout);
  }

  /** The user-supplied values of a release (`all` adds the chart defaults). */
  async getValues(release: string, namespace: string, all = false): Promise<Record<string, unknown>> {
    const args = ['get', 'values', release, '-n', namespace, '-o', 'json'];
    if (all) args.push('--all');
    const { stdout } = await this.run(args);
    return (JSON.parse(stdout || '{}') ?? {}) as Record<string, unknown>;
  }

  /**
   * How helm will apply the release's next upgrade: helm 4 keeps the method the last revision used
   * (`ssa` for a helm 4 install, `csa` for a release helm 3 installed); helm 3 always applies client-side.
   */
  async applyMethod(release: string, namespace: string): Promise<'ssa' | 'csa'> {
    const f = await this.features();
    if (!f.serverSideApply) return 'csa';
    const { stdout } = await this.run(['get', 'metadata', release, '--namespace', namespace, '-o', 'json']);
    let m: { applyMethod?: string };
    try {
      m = JSON.parse(stdout || '{}') as { applyMethod?: string };
    } catch {
      throw new InsightError('tool', `helm get metadata printed something other than JSON: "${redact(stdout).slice(0, 80)}"`, { hint: 'Check --helm-binary.' });
    }
    return m.applyMethod === 'ssa' ? 'ssa' : 'csa';
  }

  /** The manifest helm recorded for a revision (the latest when none is given), split into documents. */
  async getManifest(release: string, namespace: string, revision?: number): Promise<ManifestDoc[]> {
    const args = ['get', 'manifest', release, '--namespace', namespace];
    if (revision !== undefined) args.push('--revision', String(revision));
    return parseManifests((await this.run(args)).stdout);
  }

  /** Chart.yaml (empty when helm printed no map). */
  async showChart(chart: ChartSource): Promise<ChartYaml> {
    return firstMap((await this.run(['show', 'chart', ...chartArgs(chart)])).stdout);
  }

  /** The chart's default values (an empty map when it has none). */
  async showValues(chart: ChartSource): Promise<Record<string, unknown>> {
    return firstMap((await this.run(['show', 'values', ...chartArgs(chart)])).stdout);
  }

  /**
   * Renders the chart on this machine (both majors default to a client-only dry run), CRDs included:
   * the text as helm printed it and its documents.
   */
  async template(o: { release: string; namespace: string; chart: ChartSource; values: Record<string, unknown>; kubeVersion?: string }): Promise<{ manifests: string; docs: ManifestDoc[] }> {
    const args = ['template', o.release, ...chartArgs(o.chart), '--namespace', o.namespace, '--include-crds'];
    if (o.kubeVersion) args.push('--kube-version', o.kubeVersion);
    const { stdout } = await this.run(args, { values: o.values });
    return { manifests: stdout, docs: parseManifests(stdout) };
  }

  /**
   * Installs without helm's own wait or rollback (the action waits and explains). Never passes
   * --take-ownership or --force-conflicts: an object that another release or field manager owns stops
   * the install instead of being taken over.
   */
  async install(o: InstallArgs): Promise<void> {
    await this.features();
    const args = ['install', o.release, ...chartArgs(o.chart), '--namespace', o.namespace, '--create-namespace', '--timeout', secs(o.timeoutMs)];
    if (o.replace) args.push('--replace');
    if (o.skipCrds) args.push('--skip-crds');
    await this.run(args, { values: o.values });
  }

  /** Upgrades with the full values in the file; helm 4 keeps the apply method the release last used. */
  async upgrade(o: UpgradeArgs): Promise<void> {
    const f = await this.features();
    const args = ['upgrade', o.release, ...chartArgs(o.chart), '--namespace', o.namespace, '--timeout', secs(o.timeoutMs)];
    if (o.forceConflicts && f.serverSideApply) args.push('--force-conflicts');
    await this.run(args, { values: o.values });
  }

  async rollback(o: { release: string; namespace: string; revision: number; timeoutMs: number; forceConflicts?: boolean }): Promise<void> {
    const f = await this.features();
    const args = ['rollback', o.release, String(o.revision), '--namespace', o.namespace, '--timeout', secs(o.timeoutMs)];
    if (o.forceConflicts && f.serverSideApply) args.push('--force-conflicts');
    await this.run(args);
  }

  /**
   * Uninstalls and waits until the release's objects are deleted. Deletion stays in the background
   * (helm's default): `--cascade foreground` would make helm wait on the garbage collector for every
   * ReplicaSet and pod, which is slow and can outlast --timeout; the uninstall action waits for the
   * pods itself afterwards.
   */
  async uninstall(o: { release: string; namespace: string; timeoutMs: number }): Promise<void> {
    const f = await this.features();
    await this.run(['uninstall', o.release, '-n', o.namespace, ...f.uninstallWait, '--timeout', secs(o.timeoutMs)]);
  }
}

/** The first YAML document of helm's output as a map; empty when it is none. */
function firstMap(stdout: string): Record<string, unknown> {
  const v = parseAllDocuments(stdout)[0]?.toJSON() as unknown;
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** `helm list -o json` (both majors: revision as a string, app_version in snake case). */
export function parseList(stdout: string): HelmRelease[] {
  let rows: unknown;
  try {
    rows = JSON.parse(stdout || '[]');
  } catch {
    throw new InsightError('tool', `helm list printed something other than JSON: "${redact(stdout).slice(0, 80)}"`, {
      hint: 'Check --helm-binary points at helm itself (not a wrapper that prints to stdout).',
    });
  }
  if (!Array.isArray(rows)) throw new InsightError('tool', 'helm list did not print a JSON list', { hint: 'Check --helm-binary.' });
  return (rows as Array<Omit<HelmRelease, 'revision'> & { revision: string | number }>).map((r) => ({ ...r, revision: Number(r.revision) }));
}

const PATTERNS: Array<[RegExp, (m: RegExpMatchArray) => InsightError]> = [
  [/Kubernetes cluster unreachable: (.*)/i, (m) => new InsightError('unreachable', `helm cannot reach the cluster: ${m[1]}`, { hint: 'Check kubeconfig and `kubectl cluster-info`.' })],
  // Only helm's own "no such release" texts: "resource mapping not found" (a kind whose CRD is gone) is not it.
  [/release: not found|^Error: [^:]*: release: not found|Release not loaded: .*: release: not found|^release "?[\w.-]+"? not found$/i, () => new InsightError('not-found', 'helm release not found')],
  [/resource mapping not found for name: "([^"]*)".*no matches for kind "([^"]+)" in version "([^"]+)"/i, (m) =>
    new InsightError('failed', `the release holds a ${m[2]} (${m[1]}) whose kind the cluster no longer serves (${m[3]})`, {
      hint: `Its CRD was deleted (by another application, or --purge-crds). Re-create the CRD (\`kubectl insight upgrade\` installs the chart's CRDs only when it installs), or remove the object from the release.`,
    })],
  // helm 3: "re-use", helm 4: "reuse".
  [/cannot re-?use a name that is still in use/i, () => new InsightError('conflict', 'a helm release with this name already exists', { hint: 'Use `kubectl insight upgrade`, or uninstall it first.' })],
  [/another operation \(install\/upgrade\/rollback\) is in progress/i, () =>
    new InsightError('conflict', 'another helm operation on this release is in progress, or one was interrupted (the release is pending)', {
      hint: 'Wait for it to finish; if nothing is running, `kubectl insight doctor` names the stuck state and the command that clears it.',
    })],
  [/has no deployed releases/i, () =>
    new InsightError('conflict', 'the release has no deployed revision (its first install failed)', { hint: 'Install over it with `kubectl insight install --replace ...`.' })],
  // Both majors refuse to adopt an object that another release (or nobody) owns; we never pass --take-ownership.
  [/(\w+) "([^"]+)"(?: in namespace "([^"]*)")? exists and cannot be imported into the current release: (.*)/i, (m) => {
    const owner = m[4]!.match(/release-name" must equal "[^"]*": current value is "([^"]*)"/)?.[1];
    return new InsightError('conflict', `${m[1]} ${m[3] ? `${m[3]}/` : ''}${m[2]} already exists and ${owner ? `belongs to helm release ${owner}` : 'is not managed by helm'}`, {
      hint: 'kubectl insight never takes over objects it does not own (helm --take-ownership): remove or rename that object, or install where it does not exist. Nothing was changed.',
    });
  }],
  // helm 4 applies server-side: a field another manager set (kubectl edit/scale, a controller) conflicts.
  [/conflict occurred while applying object (\S*) (\S+), Kind=(\w+): (Apply failed with [\s\S]*)/i, (m) => {
    const [c] = parseApplyConflicts(m[4]!);
    const object = `${m[3]} ${m[1]!.replace(/^\//, '')}`;
    return new InsightError('conflict', `${c ? describeConflict({ object, ...c }) : `${object}: another field manager owns fields`}, and helm's server-side apply would change it`, {
      hint: 'Someone changed this object outside helm (kubectl edit, scale, apply, or a controller). Undo that change, or put it in the values, or run `kubectl insight upgrade --force-conflicts` to take the fields back for the release.',
    });
  }],
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
