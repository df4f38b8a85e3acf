import { once } from 'node:events';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKube } from '../../../src/kube/client.js';
import { kubeCall } from '../../../src/kube/errors.js';
import { loadKubeconfig } from '../../../src/kube/kubeconfig.js';
import { makeCert, type TestCert } from '../../support/tls.js';

// A loopback HTTPS "API server" that records the Authorization header it receives.
let cert: TestCert;
let server: Server;
let port = 0;
const seen: Array<{ auth?: string; path?: string }> = [];
const dir = mkdtempSync(join(tmpdir(), 'kc-test-'));

beforeAll(async () => {
  cert = makeCert(['127.0.0.1']);
  server = createServer({ cert: cert.cert, key: cert.key }, (req: IncomingMessage, res) => {
    seen.push({ auth: req.headers.authorization, path: req.url });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'default' } }] }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.close();
  cert.cleanup();
});

const ca64 = () => Buffer.from(cert.ca).toString('base64');
function kubeconfigYaml(o: { cluster: string; user: string; ctx: string; current?: string; server?: string; userBlock?: string; proxy?: string }): string {
  return `apiVersion: v1
kind: Config
${o.current ? `current-context: ${o.current}` : ''}
clusters:
- name: ${o.cluster}
  cluster:
    server: ${o.server ?? `https://127.0.0.1:${port}`}
    certificate-authority-data: ${ca64()}
${o.proxy ? `    proxy-url: ${o.proxy}` : ''}
users:
- name: ${o.user}
  user:
${o.userBlock ?? '    token: file-token'}
contexts:
- name: ${o.ctx}
  context: {cluster: ${o.cluster}, user: ${o.user}}
`;
}
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('kubeconfig loading (kubectl rules)', () => {
  it('merges several KUBECONFIG files: first current-context and first definition win, missing files skipped', () => {
    const a = write('a.yaml', kubeconfigYaml({ cluster: 'c1', user: 'u1', ctx: 'first', current: 'first', userBlock: '    token: token-a' }));
    // b redefines user u1 and sets another current-context; kubectl ignores both.
    const b = write('b.yaml', kubeconfigYaml({ cluster: 'c2', user: 'u1', ctx: 'second', current: 'second', userBlock: '    token: token-b' }));
    const kc = loadKubeconfig({ env: { KUBECONFIG: [a, join(dir, 'missing.yaml'), b].join(delimiter) } });
    expect(kc.getCurrentContext()).toBe('first');
    expect(kc.getUser('u1')?.token).toBe('token-a');
    expect(kc.getContexts().map((c) => c.name)).toEqual(['first', 'second']);
  });

  it('--context selects another context; an unknown one is one clear error listing the known ones', () => {
    const a = write('c.yaml', kubeconfigYaml({ cluster: 'c1', user: 'u1', ctx: 'first', current: 'first' }));
    expect(loadKubeconfig({ kubeconfig: a, context: 'first' }).getCurrentContext()).toBe('first');
    expect(() => loadKubeconfig({ kubeconfig: a, context: 'nope' })).toThrow('context "nope" not found in kubeconfig');
    try {
      loadKubeconfig({ kubeconfig: a, context: 'nope' });
    } catch (e) {
      expect((e as { hint: string; exitCode: number }).hint).toContain('first');
      expect((e as { exitCode: number }).exitCode).toBe(2);
    }
  });

  it('a missing --kubeconfig file or no kubeconfig at all is a usage error', () => {
    expect(() => loadKubeconfig({ kubeconfig: join(dir, 'none') })).toThrow(/does not exist/);
    expect(() => loadKubeconfig({ env: { HOME: dir } })).toThrow(/no kubeconfig found/);
  });

  it('calls the API with a token from an exec credential plugin', async () => {
    const plugin = join(dir, 'cred-plugin.sh');
    writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token-42"}}'\n`);
    chmodSync(plugin, 0o755);
    const f = write('exec.yaml', kubeconfigYaml({
      cluster: 'c', user: 'u', ctx: 'x', current: 'x',
      userBlock: `    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ${plugin}\n      interactiveMode: Never`,
    }));
    const kube = createKube({ kubeconfig: f });
    const list = await kubeCall({ verb: 'list', resource: 'namespaces' }, () => kube.core.listNamespace());
    expect(list.items[0]?.metadata?.name).toBe('default');
    expect(seen.at(-1)?.auth).toBe('Bearer exec-token-42');
  });

  it('honours proxy-url: the request goes through the proxy with CONNECT', async () => {
    const connects: string[] = [];
    const proxy = createHttpServer();
    proxy.on('connect', (req, socket, head) => {
      connects.push(req.url ?? '');
      const [host, p] = (req.url ?? '').split(':');
      const upstream = connect(Number(p), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const pport = (proxy.address() as AddressInfo).port;
    try {
      const f = write('proxy.yaml', kubeconfigYaml({ cluster: 'c', user: 'u', ctx: 'x', current: 'x', proxy: `http://127.0.0.1:${pport}` }));
      const kube = createKube({ kubeconfig: f });
      await kubeCall({ verb: 'list', resource: 'namespaces' }, () => kube.core.listNamespace());
      expect(connects).toEqual([`127.0.0.1:${port}`]);
    } finally {
      proxy.close();
    }
  });

  it('an API server that is down is reported as unreachable with its URL', async () => {
    const f = write('down.yaml', kubeconfigYaml({ cluster: 'c', user: 'u', ctx: 'x', current: 'x', server: 'https://127.0.0.1:1' }));
    const kube = createKube({ kubeconfig: f });
    await expect(kubeCall({ verb: 'list', resource: 'namespaces' }, () => kube.core.listNamespace(), { idempotent: true, attempts: 1 }, kube.server))
      .rejects.toMatchObject({ kind: 'unreachable', message: 'cannot reach the API server at https://127.0.0.1:1 (ECONNREFUSED)' });
  });
});
