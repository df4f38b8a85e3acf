// kubectl and kubectl insight side by side on the same kubeconfigs: a tokenFile, an exec credential
// plugin given by a relative path, proxy-url, HTTPS_PROXY, a server URL with a path prefix (a
// Rancher-style reverse proxy), and impersonation with groups. Both must reach the real API server as the
// same identity (SelfSubjectReview), and through the same proxy.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readState } from '../cluster/cluster.js';
import { cli, cluster, kubectl, parseJson } from './support/index.js';

const RUN = Date.now().toString(36);
const NS = `insight-e2e-access-${RUN}`;
const SA = 'insight-access';
// A name only the proxies resolve (to the loopback API server): nothing on this machine resolves it,
// so a client that skips the proxy fails instead of passing by accident. The API server's certificate has it.
const SERVER_NAME = 'kubernetes.default.svc';

interface Admin {
  server: URL;
  caData: string;
  certData: string;
  keyData: string;
}

let dir: string;
let admin: Admin;
let token: string;
const servers: Server[] = [];
let connects: string[] = [];
let prefixed: string[] = [];
const tunnels = new Set<Socket>();

function readAdmin(): Admin {
  const doc = parse(readFileSync(cluster().kubeconfig, 'utf8'));
  return {
    server: new URL(doc.clusters[0].cluster.server),
    caData: doc.clusters[0].cluster['certificate-authority-data'],
    certData: doc.users[0].user['client-certificate-data'],
    keyData: doc.users[0].user['client-key-data'],
  };
}

function writeKubeconfig(name: string, cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const file = join(d, 'config');
  const doc = {
    apiVersion: 'v1', kind: 'Config', 'current-context': name,
    clusters: [{ name, cluster: { 'certificate-authority-data': admin.caData, ...cluster } }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: name, user: name } }],
  };
  writeFileSync(file, JSON.stringify(doc, null, 2), { mode: 0o600 });
  return file;
}

async function listen(s: Server): Promise<number> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

/** An HTTP CONNECT proxy that sends SERVER_NAME to the loopback API server and records every tunnel. */
function connectProxy(): Server {
  const s = createHttpServer((_req, res) => res.writeHead(405).end());
  s.on('connect', (req, client: Socket, head: Buffer) => {
    connects.push(req.url ?? '');
    tunnels.add(client);
    client.on('close', () => tunnels.delete(client));
    const [host, port] = (req.url ?? '').split(':');
    if (host !== SERVER_NAME) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const up = connect(Number(port), '127.0.0.1', () => {
      tunnels.add(up);
      up.on('close', () => tunnels.delete(up));
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  return s;
}

/** A Rancher-style reverse proxy: https://127.0.0.1:<port>/k8s/clusters/c-e2e/... → the API server, bearer token passed on. */
function prefixProxy(pkiDir: string): Server {
  const s = createHttpsServer({ cert: readFileSync(join(pkiDir, 'apiserver.crt')), key: readFileSync(join(pkiDir, 'apiserver.key')) }, (req, res) => {
    const url = req.url ?? '/';
    prefixed.push(url);
    if (!url.startsWith('/k8s/clusters/c-e2e/')) return void res.writeHead(404).end('no such cluster');
    const up = httpsRequest(
      {
        hostname: '127.0.0.1', port: admin.server.port, path: url.slice('/k8s/clusters/c-e2e'.length), method: req.method,
        headers: { ...req.headers, host: admin.server.host }, ca: Buffer.from(admin.caData, 'base64'),
      },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  return s;
}

interface Identity {
  username: string;
  groups: string[];
}

async function kubectlWhoami(kubeconfig: string, env: Record<string, string> = {}): Promise<Identity & { stderr: string }> {
  const r = await kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig, env, extendEnv: false, allowFail: true });
  expect(r.exitCode, r.stderr).toBe(0);
  const u = JSON.parse(r.stdout).status.userInfo;
  return { username: u.username, groups: (u.groups as string[]).filter((g) => g !== 'system:authenticated').sort(), stderr: r.stderr };
}

async function insightWhoami(kubeconfig: string, env: Record<string, string> = {}): Promise<Identity & { stderr: string }> {
  const r = await cli(['preflight', '--kubeconfig', kubeconfig, '--only', 'cluster.api', '-o', 'json'], { env, kubeconfig });
  const report = parseJson<{ results: { id: string; status: string; message: string }[] }>(r);
  const api = report.results.find((x) => x.id === 'cluster.api')!;
  expect(api.status, api.message).toBe('passed');
  const m = /authenticated as (\S+)(?: \(groups ([^)]*)\))?/.exec(api.message);
  expect(m, api.message).not.toBeNull();
  return { username: m![1]!, groups: (m![2]?.split(', ') ?? []).sort(), stderr: r.stderr };
}

async function sameIdentity(kubeconfig: string, env: Record<string, string> = {}): Promise<{ kubectl: Identity & { stderr: string }; insight: Identity & { stderr: string } }> {
  const [k, i] = [await kubectlWhoami(kubeconfig, env), await insightWhoami(kubeconfig, env)];
  expect({ username: i.username, groups: i.groups }).toEqual({ username: k.username, groups: k.groups });
  return { kubectl: k, insight: i };
}

const saUser = `system:serviceaccount:${NS}:${SA}`;

describe('kubectl and kubectl insight reach the API server as the same identity', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'insight-e2e-access-'));
    admin = readAdmin();
    await kubectl(['create', 'namespace', NS]);
    await kubectl(['-n', NS, 'create', 'serviceaccount', SA]);
    token = (await kubectl(['-n', NS, 'create', 'token', SA, '--duration', '1h'])).stdout.trim();
  }, 120_000);
  afterAll(async () => {
    // Keep-alive connections and open tunnels would hold close() forever.
    for (const t of tunnels) t.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => { s.close(r); s.closeAllConnections(); })));
    // Waited for: a namespace still terminating would show up in the next file's cluster snapshots.
    await kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=90s', '--ignore-not-found'], { allowFail: true, timeoutMs: 120_000 });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tokenFile, given relative to the kubeconfig', async () => {
    const file = writeKubeconfig('tokenfile', { server: admin.server.toString() }, { tokenFile: 'sa.token' });
    writeFileSync(join(dir, 'tokenfile', 'sa.token'), `${token}\n`, { mode: 0o600 });
    const { insight } = await sameIdentity(file);
    expect(insight.username).toBe(saUser);
  }, 120_000);

  it('an exec credential plugin given by a relative path: its stderr reaches the user', async () => {
    const file = writeKubeconfig('exec', { server: admin.server.toString() }, {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './bin/get-token', args: ['--audience', 'e2e'], interactiveMode: 'Never', env: [{ name: 'E2E_TOKEN_FILE', value: join(dir, 'exec', 'sa.token') }] },
    });
    writeFileSync(join(dir, 'exec', 'sa.token'), token, { mode: 0o600 });
    mkdirSync(join(dir, 'exec', 'bin'));
    const plugin = join(dir, 'exec', 'bin', 'get-token');
    writeFileSync(plugin, `#!/bin/sh
echo "get-token: signing in with $*" >&2
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$(cat "$E2E_TOKEN_FILE")"
`);
    chmodSync(plugin, 0o755);
    // Run from another folder: the command is taken from the kubeconfig's, not the working directory.
    const { kubectl: k, insight } = await sameIdentity(file);
    expect(insight.username).toBe(saUser);
    expect(k.stderr).toContain('get-token: signing in with --audience e2e');
    expect(insight.stderr).toContain('get-token: signing in with --audience e2e');
    // One plugin run for the whole command, not one per request.
    expect(insight.stderr.split('get-token: signing in').length - 1).toBe(1);
  }, 120_000);

  it('an exec plugin that fails: its own message is shown, one error line, exit 3', async () => {
    const file = writeKubeconfig('exec-fails', { server: admin.server.toString() }, {
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './login', interactiveMode: 'Never' },
    });
    const plugin = join(dir, 'exec-fails', 'login');
    writeFileSync(plugin, '#!/bin/sh\necho "login: your session expired, run login --refresh" >&2\nexit 4\n');
    chmodSync(plugin, 0o755);
    const r = await cli(['doctor', '--kubeconfig', file], { kubeconfig: file });
    expect(r.stderr).toContain('login: your session expired');
    expect(r.stderr).toMatch(/exec credential plugin \S*login failed \(exit 4\)/);
    expect(r.stderr).not.toMatch(/Internal error|\n\s+at /);
    expect(r.exitCode).toBe(3);
  }, 120_000);

  describe('through proxies', () => {
    let proxyPort: number;
    beforeAll(async () => {
      proxyPort = await listen(connectProxy());
    });

    it('proxy-url in the kubeconfig', async () => {
      connects = [];
      const file = writeKubeconfig('proxy-url', { server: `https://${SERVER_NAME}:${admin.server.port}`, 'proxy-url': `http://127.0.0.1:${proxyPort}` }, { token });
      await sameIdentity(file);
      // kubectl's tunnel and ours.
      expect(new Set(connects)).toEqual(new Set([`${SERVER_NAME}:${admin.server.port}`]));
      expect(connects.length).toBeGreaterThanOrEqual(2);
    }, 120_000);

    it('HTTPS_PROXY from the environment (NO_PROXY entries that do not match leave it in use)', async () => {
      connects = [];
      const file = writeKubeconfig('env-proxy', { server: `https://${SERVER_NAME}:${admin.server.port}` }, { token });
      await sameIdentity(file, { HTTPS_PROXY: `127.0.0.1:${proxyPort}`, NO_PROXY: 'example.com,10.0.0.0/8,.cluster.local' });
      expect(new Set(connects)).toEqual(new Set([`${SERVER_NAME}:${admin.server.port}`]));
      expect(connects.length).toBeGreaterThanOrEqual(2);
    }, 120_000);

    it.skipIf(!cluster().name)('a server URL with a path prefix (Rancher-style)', async () => {
      prefixed = [];
      const port = await listen(prefixProxy(readState(cluster().name!)!.pki.dir));
      const file = writeKubeconfig('prefix', { server: `https://127.0.0.1:${port}/k8s/clusters/c-e2e` }, { token });
      const { insight } = await sameIdentity(file);
      expect(insight.username).toBe(saUser);
      expect(prefixed.length).toBeGreaterThan(0);
      expect(prefixed.every((u) => u.startsWith('/k8s/clusters/c-e2e/'))).toBe(true);
    }, 120_000);
  });

  it('impersonation: as and several as-groups', async () => {
    const file = writeKubeconfig('impersonate', { server: admin.server.toString() }, {
      'client-certificate-data': admin.certData, 'client-key-data': admin.keyData,
      as: 'alice@example.com', 'as-groups': ['team-a', 'team-b'],
    });
    const { insight } = await sameIdentity(file);
    expect(insight).toMatchObject({ username: 'alice@example.com', groups: ['team-a', 'team-b'] });
  }, 120_000);
});
