/**
 * Kubernetes access as kubectl does it. client-node reads kubeconfig its own way; this module closes the
 * gaps that make the tool reach the server differently from kubectl and helm on the same kubeconfig:
 * `proxy-url` and HTTPS_PROXY/NO_PROXY with Go's rules (proxy-env.ts), `tokenFile`, exec credential
 * plugins (exec-credential.ts), impersonation with groups, uid and extras, and plain-http servers. Every
 * problem found is a domain error with a hint.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Cluster, KubeConfig, User } from '@kubernetes/client-node';
import { InsightError } from '../errors.js';
import { ExecRunner, readExec, type ExecEnvironment } from './exec-credential.js';
import { proxyFromEnvironment } from './proxy-env.js';

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

export interface PreparedUser {
  /** The user as client-node must see it (exec removed: the authenticator below runs it). */
  user: User;
  authenticator?: Authenticator;
  impersonation?: Impersonation;
}

export type AccessOptions = ExecEnvironment;

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
    const { exec: _unused, ...withoutExec } = user as Omit<User, 'exec'> & { exec?: unknown };
    return { user: withoutExec };
  }

  // client-node's own exec support swallows the plugin's stderr and never gives it a terminal; an inline
  // token would be applied after ours and win over tokenFile.
  const { exec: _exec, ...rest } = user as Omit<User, 'exec'> & { exec?: unknown };
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
  return { user: rest, authenticator, ...(impersonation ? { impersonation } : {}) };
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
