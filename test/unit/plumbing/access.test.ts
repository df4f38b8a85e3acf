// Kubernetes access rules that must match kubectl's (Go's) exactly: proxies, NO_PROXY, kubeconfig checks,
// ExecCredential parsing and the authenticator's headers.
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareCluster, prepareUser } from '../../../src/kube/access.js';
import { parseExecCredential } from '../../../src/kube/exec-credential.js';
import { noProxyMatches, proxyFromEnvironment } from '../../../src/kube/proxy-env.js';
import { loadKubeconfig } from '../../../src/kube/kubeconfig.js';
import { InsightError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'access-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('proxyFromEnvironment (Go http.ProxyFromEnvironment)', () => {
  const env = { HTTPS_PROXY: 'proxy.corp:3128', HTTP_PROXY: 'http://plain.corp:80' };
  it.each([
    ['https://api.example.com:6443', env, 'http://proxy.corp:3128'],
    ['http://api.example.com:8080', env, 'http://plain.corp:80'],
    ['https://127.0.0.1:6443', env, undefined],
    ['https://127.8.9.1:6443', env, undefined],
    ['https://localhost:6443', env, undefined],
    ['https://[::1]:6443', env, undefined],
    ['https://api.example.com', { https_proxy: 'socks5://s:1080' }, 'socks5://s:1080'],
    ['https://api.example.com', { HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:1' }, 'http://upper:1'],
    ['https://api.example.com', { HTTP_PROXY: 'http://plain:1' }, undefined],
    ['https://api.example.com', { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'example.com' }, undefined],
    ['https://api.example.com', { HTTPS_PROXY: 'http://p:1', NO_PROXY: '', no_proxy: 'example.com' }, undefined],
  ])('%s with %j → %s', (server, e, want) => {
    expect(proxyFromEnvironment(server, e as NodeJS.ProcessEnv)).toBe(want);
  });

  it.each([
    ['api.example.com', '443', '*', true],
    ['api.example.com', '443', 'example.com', true],
    ['example.com', '443', 'example.com', true],
    ['api.example.com', '443', '.example.com', true],
    ['example.com', '443', '.example.com', false],
    ['api.example.com', '443', '*.example.com', true],
    ['notexample.com', '443', 'example.com', false],
    ['10.1.2.3', '6443', '10.0.0.0/8', true],
    ['11.1.2.3', '6443', '10.0.0.0/8', false],
    ['10.1.2.3', '6443', '10.1.2.3', true],
    ['api.example.com', '6443', 'api.example.com:6443', true],
    ['api.example.com', '443', 'api.example.com:6443', false],
    ['API.example.com'.toLowerCase(), '443', ' other.org , EXAMPLE.COM ', true],
  ])('NO_PROXY: %s:%s against %j → %s', (host, port, list, want) => {
    expect(noProxyMatches(host, port, list)).toBe(want);
  });
});

describe('prepareCluster', () => {
  const base = { name: 'c', server: 'https://api.example.com:6443', skipTLSVerify: false };
  const fails = (c: object, env: NodeJS.ProcessEnv, re: RegExp) => {
    try {
      prepareCluster({ ...base, ...c }, env);
    } catch (e) {
      expect(e).toBeInstanceOf(InsightError);
      expect((e as InsightError).kind).toBe('invalid-input');
      expect((e as InsightError).message).toMatch(re);
      expect((e as InsightError).hint).toBeTruthy();
      return;
    }
    throw new Error('did not fail');
  };
  it('refuses a server that is not a URL, or not http(s)', () => {
    fails({ server: 'api.example.com:6443' }, {}, /not a URL|scheme/);
    fails({ server: 'ftp://api.example.com' }, {}, /scheme ftp/);
  });
  it('refuses a missing certificate-authority file, naming it', () => {
    fails({ caFile: join(dir, 'nope.crt') }, {}, /certificate-authority file .*nope\.crt does not exist/);
  });
  it('refuses cluster fields of the wrong type', () => {
    fails({ tlsServerName: 5 }, {}, /tls-server-name must be a string/);
    fails({ caData: 5 }, {}, /certificate-authority-data must be a string/);
  });
  it('refuses a proxy that is not http, https or socks', () => {
    fails({ proxyUrl: 'ftp://p:1' }, {}, /proxy/);
    fails({}, { HTTPS_PROXY: 'ftp://p:1' }, /proxy/);
  });
  it('proxy-url wins over the environment; the environment fills in when there is none', () => {
    expect(prepareCluster({ ...base, proxyUrl: 'http://mine:1' }, { HTTPS_PROXY: 'http://env:1' }).proxyUrl).toBe('http://mine:1/');
    expect(prepareCluster(base, { HTTPS_PROXY: 'http://env:1' }).proxyUrl).toBe('http://env:1/');
    expect(prepareCluster(base, {}).proxyUrl).toBeUndefined();
  });
  it('an http:// server is spoken to in plain http, as kubectl does', () => {
    expect(prepareCluster({ ...base, server: 'http://127.0.0.1:8080' }, {}).skipTLSVerify).toBe(true);
    expect(prepareCluster(base, {}).skipTLSVerify).toBe(false);
  });
});

describe('parseExecCredential', () => {
  const v1 = 'client.authentication.k8s.io/v1';
  const cred = (status: object, extra: object = {}) => JSON.stringify({ apiVersion: v1, kind: 'ExecCredential', status, ...extra });
  it('reads a token, a client certificate pair and the expiry', () => {
    expect(parseExecCredential(cred({ token: 't' }), v1)).toEqual({ token: 't' });
    expect(parseExecCredential(cred({ clientCertificateData: 'C', clientKeyData: 'K', expirationTimestamp: '2030-01-01T00:00:00Z' }), v1)).toEqual({ cert: 'C', key: 'K', expires: Date.parse('2030-01-01T00:00:00Z') });
  });
  it.each([
    ['', /empty/],
    ['Please log in at https://login.example', /not JSON/],
    [JSON.stringify({ kind: 'Other' }), /kind/],
    [JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: 't' } }), /apiVersion/],
    [cred({}), /neither a token/],
    [cred({ clientCertificateData: 'C' }), /neither a token|only one/],
    [cred({ token: 't', expirationTimestamp: 'soon' }), /not a time/],
  ])('refuses %j', (out, re) => {
    expect(() => parseExecCredential(out, v1)).toThrow(re);
  });
});

describe('the authenticator', () => {
  const cluster = { name: 'c', server: 'https://api.example.com', skipTLSVerify: false };
  const headersFor = async (user: Record<string, unknown>, raw: Record<string, unknown>) => {
    const p = prepareUser({ name: 'u', ...user }, { dir, user: raw }, cluster, { env: {}, interactive: false });
    const opts: { headers?: Record<string, unknown> } = {};
    await p.authenticator!.applyAuthentication(p.user, opts);
    return { prepared: p, headers: opts.headers ?? {} };
  };

  it('tokenFile is read relative to the kubeconfig, on every use, and wins over an inline token', async () => {
    writeFileSync(join(dir, 'tok'), 'first\n');
    const { prepared, headers } = await headersFor({ token: 'inline' }, { tokenFile: 'tok', token: 'inline' });
    expect(headers.Authorization).toBe('Bearer first');
    expect((prepared.user as { token?: string }).token).toBeUndefined();
    writeFileSync(join(dir, 'tok'), 'rotated');
    const o: { headers?: Record<string, unknown> } = {};
    await prepared.authenticator!.applyAuthentication(prepared.user, o);
    expect(o.headers!.Authorization).toBe('Bearer rotated');
  });

  it('a missing tokenFile is a usage error naming it', async () => {
    await expect(headersFor({}, { tokenFile: 'absent' })).rejects.toThrow(/tokenFile file .*absent does not exist/);
  });

  it('as-groups become repeated Impersonate-Group headers; uid and extras too', async () => {
    const { headers } = await headersFor({ impersonateUser: 'alice' }, { as: 'alice', 'as-groups': ['a', 'b,c'], 'as-uid': '42', 'as-user-extra': { 'reason/why': ['x', 'y'] } });
    expect(headers['Impersonate-Group']).toEqual(['a', 'b,c']);
    expect(headers['Impersonate-Uid']).toBe('42');
    expect(headers['Impersonate-Extra-reason%2Fwhy']).toEqual(['x', 'y']);
  });

  it('as-groups without as is refused, as kubectl does', async () => {
    await expect(headersFor({}, { 'as-groups': ['a'] })).rejects.toThrow(/as-groups or as-user-extra without as/);
  });

  it('a plain-http server gets no credentials (token, tokenFile, exec), only impersonation', () => {
    const http = { ...cluster, server: 'http://127.0.0.1:8080' };
    const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: 'never-run' };
    const p = prepareUser({ name: 'u', token: 'secret-token', exec, impersonateUser: 'bob' }, { dir, user: { token: 'secret-token', tokenFile: 'tok', exec, as: 'bob' } }, http, { env: {} });
    expect(p.user).toEqual({ name: 'u', impersonateUser: 'bob' });
    expect(p.authenticator).toBeUndefined();
  });

  it('an exec plugin is not run when the user has a token or a client certificate (kubectl skips it)', () => {
    const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: 'kubectl-insight-no-such-plugin' };
    const withToken = prepareUser({ name: 'u', token: 't', exec }, { dir, user: { token: 't', exec } }, cluster, { env: {} });
    expect(withToken.authenticator).toBeUndefined();
    expect((withToken.user as { exec?: unknown }).exec).toBeUndefined();
    expect(withToken.user.token).toBe('t');
  });

  it.each([
    [{ env: [null] }, /env entries must each have a name/],
    [{ env: [{ value: 'x' }] }, /env entries must each have a name/],
    [{ args: 'one-string' }, /args must be a list of strings/],
    [{ args: ['a\0b'] }, /NUL/],
  ])('a malformed exec block %j is a usage error, never a crash', (extra, re) => {
    const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: 'x', ...extra };
    expect(() => prepareUser({ name: 'u', exec }, { dir, user: { exec } }, cluster, { env: {} })).toThrow(re);
  });

  it.each([['token', 5], ['client-key-data', 5], ['tokenFile', 5]])('a user %s that is not a string is a usage error', (field, v) => {
    expect(() => prepareUser({ name: 'u' }, { dir, user: { [field]: v } }, cluster, { env: {} })).toThrow(new RegExp(`${field} must be a string`));
  });

  it('as-groups of the wrong type is a usage error', async () => {
    await expect(headersFor({}, { 'as-groups': 'admins' })).rejects.toBeInstanceOf(InsightError);
  });

  it('an exec plugin: relative command from the kubeconfig folder, one run for concurrent requests, errors as domain errors', async () => {
    const counter = join(dir, 'runs');
    writeFileSync(counter, '');
    const plugin = join(dir, 'plugin.sh');
    writeFileSync(plugin, `#!/bin/sh\necho run >> "${counter}"\nsleep 0.2\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}'\n`);
    chmodSync(plugin, 0o755);
    const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: './plugin.sh', interactiveMode: 'Never' };
    const p = prepareUser({ name: 'u', exec }, { dir, user: { exec } }, cluster, { env: { PATH: process.env.PATH }, interactive: false });
    expect((p.user as { exec?: unknown }).exec).toBeUndefined();
    const runs = await Promise.all([1, 2, 3].map(async () => {
      const o: { headers?: Record<string, unknown> } = {};
      await p.authenticator!.applyAuthentication(p.user, o);
      return o.headers!.Authorization;
    }));
    expect(runs).toEqual(['Bearer from-exec', 'Bearer from-exec', 'Bearer from-exec']);
    expect((await import('node:fs')).readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);

    const missing = { apiVersion: 'client.authentication.k8s.io/v1', command: 'kubectl-insight-no-such-plugin', interactiveMode: 'Never', installHint: 'Install it from the vendor.' };
    const q = prepareUser({ name: 'u', exec: missing }, { dir, user: { exec: missing } }, cluster, { env: { PATH: process.env.PATH }, interactive: false });
    const err = await q.authenticator!.applyAuthentication(q.user, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsightError);
    expect((err as InsightError).kind).toBe('unauthorized');
    expect((err as InsightError).message).toMatch(/was not found/);
    expect((err as InsightError).hint).toBe('Install it from the vendor.');

    const always = { apiVersion: 'client.authentication.k8s.io/v1', command: './plugin.sh', interactiveMode: 'Always' };
    const r = prepareUser({ name: 'u', exec: always }, { dir, user: { exec: always } }, cluster, { env: {}, interactive: false });
    await expect(r.authenticator!.applyAuthentication(r.user, {})).rejects.toThrow(/needs a terminal/);
  });

  it('a wrong exec apiVersion is a usage error before anything runs', () => {
    const exec = { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' };
    expect(() => prepareUser({ name: 'u', exec }, { dir, user: { exec } }, cluster, { env: {} })).toThrow(/apiVersion/);
  });
});

describe('loadKubeconfig applies the rules to the current context', () => {
  it('a bad server URL in the kubeconfig is one usage error, never an internal one', () => {
    const file = join(dir, 'bad-server');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': 'x', clusters: [{ name: 'x', cluster: { server: 'not a url' } }], users: [{ name: 'x', user: {} }], contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }] }));
    expect(() => loadKubeconfig({ kubeconfig: file, env: {} })).toThrow(InsightError);
  });
});
