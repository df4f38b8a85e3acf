/**
 * Kubernetes access as kubectl does it. client-node reads kubeconfig its own way; this module closes the
 * gaps that make the tool reach the server differently from kubectl and helm on the same kubeconfig:
 * `proxy-url` and HTTPS_PROXY/NO_PROXY with Go's rules, `tokenFile`, exec credential plugins (stderr and
 * an interactive terminal passed through, relative commands taken from the kubeconfig's folder, one run
 * shared by concurrent requests, the credential cached until it expires), impersonation with groups,
 * uid and extras, and plain-http servers. Every problem found is a domain error with a hint.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import type { Cluster, KubeConfig, User } from '@kubernetes/client-node';
import { InsightError } from '../errors.js';

/** client-node's authenticator shape (not exported by its index). */
interface Authenticator {
  isAuthProvider(user: User): boolean;
  applyAuthentication(user: User, opts: object): Promise<void>;
}

/** A users[] entry as written in the file, with the folder of the file it came from. */
export interface RawUser {
  dir: string;
  user: Record<string, unknown>;
}

/** What the custom authenticator adds to every request of the current user. */
export interface Impersonation {
  groups: string[];
  uid?: string;
  extra: Record<string, string[]>;
}

const EXEC_OUTPUT_LIMIT = 1 << 20;
/** A non-interactive plugin that prints nothing for this long is hung (an interactive one may take its time). */
const EXEC_TIMEOUT_MS = 120_000;

// ---- proxies ---------------------------------------------------------------------------------------

/**
 * The proxy a Go client (kubectl, helm) would use for this server from the environment: HTTPS_PROXY for
 * https servers, HTTP_PROXY for http, upper case first; none for localhost and loopback addresses or a
 * NO_PROXY match. A proxy without a scheme is http://, as in Go.
 */
export function proxyFromEnvironment(server: string, env: NodeJS.ProcessEnv): string | undefined {
  const url = new URL(server);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || isLoopback(host)) return undefined;
  const raw = url.protocol === 'https:' ? (env.HTTPS_PROXY || env.https_proxy) : (env.HTTP_PROXY || env.http_proxy);
  if (!raw) return undefined;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (noProxyMatches(host, port, env.NO_PROXY || env.no_proxy || '')) return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
}

function isLoopback(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** NO_PROXY with Go's rules: `*`, IPs, CIDRs, `host:port`, and domains matching themselves and subdomains. */
export function noProxyMatches(host: string, port: string, noProxy: string): boolean {
  for (let entry of noProxy.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean)) {
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (inCidr(host, entry)) return true;
      continue;
    }
    let entryPort = '';
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && isIP(entry) !== 6) [entry, entryPort] = [m[1]!, m[2]!];
    entry = entry.replace(/^\[|\]$/g, '');
    if (entryPort && entryPort !== port) continue;
    if (isIP(entry)) {
      if (entry === host) return true;
      continue;
    }
    if (entry.startsWith('*.')) entry = entry.slice(1);
    if (entry.startsWith('.')) {
      if (host.endsWith(entry)) return true;
    } else if (host === entry || host.endsWith(`.${entry}`)) {
      return true;
    }
  }
  return false;
}

function inCidr(host: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (isIP(host) !== 4 || isIP(base ?? '') !== 4 || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const n = (ip: string) => ip.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((n(host) & mask) >>> 0) === ((n(base!) & mask) >>> 0);
}

// ---- the cluster entry -----------------------------------------------------------------------------

/** Checks the current cluster entry and returns it as client-node must see it to behave like kubectl. */
export function prepareCluster(cluster: Cluster, env: NodeJS.ProcessEnv): Cluster {
  const where = `kubeconfig cluster "${cluster.name}"`;
  for (const [field, v] of [['server', cluster.server], ['certificate-authority-data', cluster.caData], ['certificate-authority', cluster.caFile], ['tls-server-name', cluster.tlsServerName], ['proxy-url', cluster.proxyUrl]] as const) {
    if (v !== undefined && v !== null && typeof v !== 'string') {
      throw new InsightError('invalid-input', `${where}: ${field} must be a string`, { hint: 'Fix the cluster entry in the kubeconfig (`kubectl config view`).' });
    }
  }
  let url: URL;
  try {
    // `host:6443` parses as a URL with scheme "host": without "://" it is no server URL at all.
    if (!cluster.server.includes('://')) throw new Error('no scheme');
    url = new URL(cluster.server);
  } catch {
    throw new InsightError('invalid-input', `${where} has a server that is not a URL`, {
      hint: 'Set it to https://<host>:<port>, e.g. `kubectl config set-cluster ' + cluster.name + ' --server=https://host:6443`.',
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InsightError('invalid-input', `${where} has a server with scheme ${url.protocol.replace(/:$/, '')}; only https and http are spoken`, {
      hint: 'Set the server to https://<host>:<port>.',
    });
  }
  if (cluster.caFile) checkReadable(cluster.caFile, `${where}: certificate-authority`);
  let proxyUrl = cluster.proxyUrl || proxyFromEnvironment(cluster.server, env);
  if (proxyUrl) {
    let p: URL | undefined;
    try {
      p = new URL(proxyUrl);
    } catch {
      p = undefined;
    }
    if (!p || !['http:', 'https:', 'socks5:', 'socks5h:', 'socks4:', 'socks:'].includes(p.protocol)) {
      throw new InsightError('invalid-input', `the proxy for ${where} is not an http, https or socks5 URL`, {
        hint: cluster.proxyUrl ? 'Fix proxy-url in the kubeconfig cluster entry.' : 'Fix HTTPS_PROXY / HTTP_PROXY in the environment.',
      });
    }
    proxyUrl = p.toString();
  }
  // kubectl speaks plain http to an http:// server; client-node refuses unless TLS checks are off, which
  // mean nothing without TLS.
  const skipTLSVerify = cluster.skipTLSVerify || url.protocol === 'http:';
  return { ...cluster, skipTLSVerify, ...(proxyUrl ? { proxyUrl } : {}) };
}

function checkReadable(file: string, what: string): void {
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    readFileSync(file, { flag: 'r' }).subarray(0, 0);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InsightError('invalid-input', `${what} file ${file} ${code === 'ENOENT' ? 'does not exist' : 'cannot be read'}`, {
      hint: 'Fix the path in the kubeconfig (a relative path is taken from the kubeconfig file\'s folder).',
    });
  }
}

// ---- the user entry --------------------------------------------------------------------------------

interface ExecConfig {
  command: string;
  args: string[];
  env: Array<{ name: string; value: string }>;
  apiVersion: string;
  interactiveMode: 'Never' | 'IfAvailable' | 'Always';
  installHint?: string;
  provideClusterInfo: boolean;
}

export interface PreparedUser {
  /** The user as client-node must see it (exec removed: the authenticator below runs it). */
  user: User;
  authenticator?: Authenticator;
  impersonation?: Impersonation;
}

export interface AccessOptions {
  env: NodeJS.ProcessEnv;
  /** Whether a terminal is there for an interactive plugin (default: stdin is a TTY). */
  interactive?: boolean;
}

/** Checks the current user entry and makes what client-node ignores work the way kubectl does it. */
export function prepareUser(user: User, raw: RawUser | undefined, cluster: Cluster, opts: AccessOptions): PreparedUser {
  const where = `kubeconfig user "${user.name}"`;
  const r = raw?.user ?? {};
  const dir = raw?.dir ?? process.cwd();
  for (const field of ['token', 'tokenFile', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'username', 'password', 'as', 'as-uid']) {
    const v = r[field];
    if (v !== undefined && v !== null && typeof v !== 'string') {
      throw new InsightError('invalid-input', `${where}: ${field} must be a string`, { hint: 'Fix the user entry in the kubeconfig (`kubectl config view`).' });
    }
  }
  const impersonation = readImpersonation(r, where);
  if (impersonation && (impersonation.groups.length || Object.keys(impersonation.extra).length) && !user.impersonateUser) {
    throw new InsightError('invalid-input', `${where}: as-groups or as-user-extra without as`, { hint: 'Impersonating groups needs a user: set `as` in the user entry (kubectl refuses this too).' });
  }
  // As kubectl: no credentials of any kind go to a plain-http server; impersonation still does.
  if (cluster.server.startsWith('http://')) {
    const bare = { name: user.name, ...(user.impersonateUser ? { impersonateUser: user.impersonateUser } : {}) } as User;
    return impersonation ? { user: bare, authenticator: impersonator(user.name, impersonation), impersonation } : { user: bare };
  }
  if (user.certFile) checkReadable(user.certFile, `${where}: client-certificate`);
  if (user.keyFile) checkReadable(user.keyFile, `${where}: client-key`);

  const tokenFile = typeof r.tokenFile === 'string' && r.tokenFile ? absolute(dir, r.tokenFile) : undefined;
  if (tokenFile) checkReadable(tokenFile, `${where}: tokenFile`);
  // As kubectl: an exec plugin is only asked when the user has no token, basic auth or client certificate.
  const otherAuth = Boolean(user.token || tokenFile || user.username || user.certData || user.certFile || user.keyData || user.keyFile);
  const exec = user.exec && !otherAuth ? readExec(user.exec as Record<string, unknown>, dir, where) : undefined;
  if (!tokenFile && !impersonation && !exec) {
    if (!user.exec) return { user };
    const { exec: _unused, ...withoutExec } = user as User & { exec?: unknown };
    return { user: withoutExec as User };
  }

  // client-node's own exec support swallows the plugin's stderr and never gives it a terminal; an inline
  // token would be applied after ours and win over tokenFile.
  const { exec: _exec, ...rest } = user as User & { exec?: unknown };
  if (tokenFile) delete (rest as { token?: string }).token;
  const runner = exec ? new ExecRunner(exec, cluster, opts) : undefined;
  const authenticator: Authenticator = {
    isAuthProvider: (u) => u.name === user.name,
    async applyAuthentication(_u, o) {
      const headers = ((o as { headers?: Record<string, unknown> }).headers ??= {});
      // As kubectl: the file is read again on use, and it wins over an inline token.
      if (tokenFile) headers['Authorization'] = `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`;
      if (runner) {
        const cred = await runner.credential();
        if (cred.token) headers['Authorization'] = `Bearer ${cred.token}`;
        if (cred.cert) (o as { cert?: string }).cert = cred.cert;
        if (cred.key) (o as { key?: string }).key = cred.key;
      }
      if (impersonation) impersonationHeaders(headers, impersonation);
    },
  };
  return { user: rest as User, authenticator, ...(impersonation ? { impersonation } : {}) };
}

function impersonationHeaders(headers: Record<string, unknown>, imp: Impersonation): void {
  if (imp.groups.length) headers['Impersonate-Group'] = imp.groups;
  if (imp.uid) headers['Impersonate-Uid'] = imp.uid;
  for (const [k, v] of Object.entries(imp.extra)) headers[`Impersonate-Extra-${encodeURIComponent(k)}`] = v;
}

function impersonator(name: string, imp: Impersonation): Authenticator {
  return {
    isAuthProvider: (u) => u.name === name,
    async applyAuthentication(_u, o) {
      impersonationHeaders(((o as { headers?: Record<string, unknown> }).headers ??= {}), imp);
    },
  };
}

function absolute(dir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(dir, p);
}

function readImpersonation(r: Record<string, unknown>, where: string): Impersonation | undefined {
  const groups = r['as-groups'];
  const uid = r['as-uid'];
  const extra = r['as-user-extra'];
  if (groups === undefined && uid === undefined && extra === undefined) return undefined;
  const bad = () =>
    new InsightError('invalid-input', `${where}: as-groups, as-uid or as-user-extra has the wrong type`, {
      hint: 'as-groups is a list of names, as-uid a string, as-user-extra a map of lists (see `kubectl config view`).',
    });
  if (groups !== undefined && (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string'))) throw bad();
  if (uid !== undefined && typeof uid !== 'string') throw bad();
  const ex: Record<string, string[]> = {};
  if (extra !== undefined) {
    if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) throw bad();
    for (const [k, v] of Object.entries(extra)) {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw bad();
      ex[k] = v as string[];
    }
  }
  return { groups: (groups as string[] | undefined) ?? [], ...(uid ? { uid } : {}), extra: ex };
}

function readExec(e: Record<string, unknown>, dir: string, where: string): ExecConfig {
  const command = e.command;
  if (typeof command !== 'string' || !command) {
    throw new InsightError('invalid-input', `${where}: exec has no command`, { hint: 'Set users[].user.exec.command in the kubeconfig.' });
  }
  const apiVersion = typeof e.apiVersion === 'string' ? e.apiVersion : '';
  if (!/^client\.authentication\.k8s\.io\/(v1|v1beta1)$/.test(apiVersion)) {
    throw new InsightError('invalid-input', `${where}: exec apiVersion "${apiVersion}" is not client.authentication.k8s.io/v1 or v1beta1`, {
      hint: 'Set users[].user.exec.apiVersion to client.authentication.k8s.io/v1.',
    });
  }
  const mode = e.interactiveMode ?? 'IfAvailable';
  if (mode !== 'Never' && mode !== 'IfAvailable' && mode !== 'Always') {
    throw new InsightError('invalid-input', `${where}: exec interactiveMode must be Never, IfAvailable or Always`, { hint: 'Fix users[].user.exec.interactiveMode.' });
  }
  const bad = (what: string) => new InsightError('invalid-input', `${where}: exec ${what}`, { hint: 'Fix users[].user.exec in the kubeconfig: args is a list of strings, env a list of {name, value}.' });
  if (e.args !== undefined && e.args !== null && (!Array.isArray(e.args) || e.args.some((a) => typeof a !== 'string'))) throw bad('args must be a list of strings');
  if (e.env !== undefined && e.env !== null && (!Array.isArray(e.env) || e.env.some((x) => !x || typeof x !== 'object' || typeof (x as { name?: unknown }).name !== 'string' || !(x as { name: string }).name))) {
    throw bad('env entries must each have a name');
  }
  const args = (e.args as string[] | undefined) ?? [];
  const env = ((e.env as Array<{ name: string; value?: unknown }> | undefined) ?? []).map((x) => ({ name: x.name, value: typeof x.value === 'string' ? x.value : String(x.value ?? '') }));
  if ([command, ...args, ...env.flatMap((x) => [x.name, x.value])].some((x) => x.includes('\0'))) throw bad('holds a NUL character');
  // As kubectl: a command with a path separator is relative to the kubeconfig's folder; a bare name is looked up in PATH.
  const resolved = command.includes('/') && !isAbsolute(command) ? resolve(dir, command) : command;
  return {
    command: resolved, args, env, apiVersion, interactiveMode: mode,
    ...(typeof e.installHint === 'string' ? { installHint: e.installHint } : {}),
    provideClusterInfo: e.provideClusterInfo === true,
  };
}

interface Credential {
  token?: string;
  cert?: string;
  key?: string;
  expires?: number;
}

/** Runs one exec credential plugin: once for concurrent requests, again only when its credential expired. */
class ExecRunner {
  private cached?: Credential;
  private inFlight?: Promise<Credential>;

  constructor(
    private readonly exec: ExecConfig,
    private readonly cluster: Cluster,
    private readonly opts: AccessOptions,
  ) {}

  credential(): Promise<Credential> {
    if (this.cached && (this.cached.expires === undefined || this.cached.expires > Date.now() + 10_000)) return Promise.resolve(this.cached);
    this.inFlight ??= this.run().then(
      (c) => ((this.cached = c), (this.inFlight = undefined), c),
      (e: unknown) => {
        this.inFlight = undefined;
        throw e;
      },
    );
    return this.inFlight;
  }

  private run(): Promise<Credential> {
    const x = this.exec;
    const name = x.command;
    const tty = this.opts.interactive ?? Boolean(process.stdin.isTTY);
    const interactive = x.interactiveMode !== 'Never' && tty;
    if (x.interactiveMode === 'Always' && !tty) {
      return Promise.reject(
        new InsightError('unauthorized', `exec credential plugin ${name} needs a terminal (interactiveMode: Always)`, {
          hint: 'Run the command in a terminal, or log in with the plugin first so it has a cached credential.',
        }),
      );
    }
    const spec: Record<string, unknown> = { interactive };
    if (x.provideClusterInfo) {
      spec.cluster = {
        server: this.cluster.server,
        ...(this.cluster.tlsServerName ? { 'tls-server-name': this.cluster.tlsServerName } : {}),
        'insecure-skip-tls-verify': this.cluster.skipTLSVerify,
        ...(this.cluster.caData ? { 'certificate-authority-data': this.cluster.caData } : {}),
        ...(this.cluster.proxyUrl ? { 'proxy-url': this.cluster.proxyUrl } : {}),
      };
    }
    const env = { ...this.opts.env };
    for (const e of x.env) env[e.name] = e.value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion: x.apiVersion, kind: 'ExecCredential', spec });
    return new Promise<Credential>((resolvePromise, reject) => {
      const fail = (message: string, hint: string) => reject(new InsightError('unauthorized', message, { hint }));
      const fixHint = 'Fix users[].user.exec in the kubeconfig, or run the plugin yourself to see what it needs.';
      if (name.includes('/') && !existsSync(name)) {
        fail(`exec credential plugin ${name} does not exist`, x.installHint ?? fixHint);
        return;
      }
      // stderr goes to the user's terminal: a login prompt or the plugin's own error must be seen.
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(name, x.args, { env, stdio: [interactive ? 'inherit' : 'ignore', 'pipe', 'inherit'] });
      } catch (e) {
        fail(`exec credential plugin ${name} could not run: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, fixHint);
        return;
      }
      let out = '';
      let tooBig = false;
      const timer = interactive ? undefined : setTimeout(() => child.kill('SIGKILL'), EXEC_TIMEOUT_MS);
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (d: string) => {
        if (out.length + d.length > EXEC_OUTPUT_LIMIT) {
          tooBig = true;
          child.kill('SIGKILL');
        } else out += d;
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (e.code === 'ENOENT') fail(`exec credential plugin ${name} was not found`, x.installHint ?? `Install ${name} or put it on PATH; ${fixHint}`);
        else fail(`exec credential plugin ${name} could not run: ${e.code ?? e.message}`, fixHint);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (tooBig) return fail(`exec credential plugin ${name} printed more than 1 MiB`, fixHint);
        if (signal) return fail(`exec credential plugin ${name} ${signal === 'SIGKILL' && !interactive ? `gave no credential within ${EXEC_TIMEOUT_MS / 1000}s` : `was stopped by ${signal}`}`, fixHint);
        if (code !== 0) return fail(`exec credential plugin ${name} failed (exit ${code}); its own message is above`, fixHint);
        try {
          resolvePromise(parseExecCredential(out, x.apiVersion));
        } catch (e) {
          fail(`exec credential plugin ${name} printed no valid ExecCredential: ${(e as Error).message}`, fixHint);
        }
      });
    });
  }
}

/** The credential in an ExecCredential the plugin printed; throws a one-line reason when it is not one. */
export function parseExecCredential(stdout: string, apiVersion: string): Credential {
  let obj: unknown;
  try {
    obj = JSON.parse(stdout);
  } catch {
    throw new Error(stdout.trim() ? 'its output is not JSON' : 'its output is empty');
  }
  const o = obj as { apiVersion?: unknown; kind?: unknown; status?: Record<string, unknown> } | null;
  if (!o || typeof o !== 'object' || o.kind !== 'ExecCredential') throw new Error('kind is not ExecCredential');
  if (o.apiVersion !== apiVersion) throw new Error(`apiVersion ${String(o.apiVersion)} is not the configured ${apiVersion}`);
  const s = o.status;
  if (!s || typeof s !== 'object') throw new Error('it has no status');
  const str = (k: string) => (typeof s[k] === 'string' && s[k] ? (s[k] as string) : undefined);
  const token = str('token');
  const cert = str('clientCertificateData');
  const key = str('clientKeyData');
  if (!token && !(cert && key)) throw new Error('status has neither a token nor a client certificate and key');
  if ((cert && !key) || (key && !cert)) throw new Error('status has only one of clientCertificateData and clientKeyData');
  const exp = str('expirationTimestamp');
  const expires = exp ? Date.parse(exp) : undefined;
  if (exp && Number.isNaN(expires)) throw new Error('expirationTimestamp is not a time');
  return { ...(token ? { token } : {}), ...(cert ? { cert, key } : {}), ...(expires !== undefined ? { expires } : {}) };
}

const impersonations = new WeakMap<KubeConfig, Impersonation>();

/** The impersonation headers of a prepared kubeconfig (the typed clients need them as repeated headers). */
export function impersonationOf(kc: KubeConfig): Impersonation | undefined {
  return impersonations.get(kc);
}

/** Applies the rules above to the current context of a loaded kubeconfig. */
export function prepareAccess(kc: KubeConfig, rawUsers: Map<string, RawUser>, opts: AccessOptions): void {
  const ctx = kc.getContextObject(kc.getCurrentContext());
  const cluster = kc.getCurrentCluster();
  if (!ctx || !cluster) return;
  const readyCluster = prepareCluster(cluster, opts.env);
  const user = kc.getCurrentUser();
  const prepared = user ? prepareUser(user, rawUsers.get(user.name), readyCluster, opts) : undefined;
  kc.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.name === cluster.name ? readyCluster : c)),
    users: kc.users.map((u) => (prepared && u.name === prepared.user.name ? prepared.user : u)),
    contexts: kc.contexts,
    currentContext: kc.getCurrentContext(),
  });
  if (prepared?.authenticator) kc.addAuthenticator(prepared.authenticator);
  if (prepared?.impersonation) impersonations.set(kc, prepared.impersonation);
}
