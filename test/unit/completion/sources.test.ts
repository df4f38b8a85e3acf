import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Config } from '@oclif/core';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { complete } from '../../../src/completion/engine.js';
import { Directive } from '../../../src/completion/protocol.js';
import { NAMESPACE_DEADLINE_MS, liveSources } from '../../../src/completion/sources.js';
import { treeFromConfig, type CompletionCommand } from '../../../src/completion/tree.js';

// Loopback only: an "API server" that lists namespaces (recording which server was asked), and one
// that accepts connections and never answers.
const dir = mkdtempSync(join(tmpdir(), 'completion-src-'));
let api: HttpServer;
let apiPort = 0;
let api2: HttpServer;
let api2Port = 0;
let blackHole: Server;
let blackHolePort = 0;
const sockets: Socket[] = [];
const asked: string[] = [];
let tree: CompletionCommand[];

beforeAll(async () => {
  const serving = (items: string[]) => createHttpServer((req, res) => {
    asked.push(`${req.headers.host ?? ''} ${req.url ?? ''}`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: items.map((name) => ({ metadata: { name } })) }));
  });
  api = serving(['default', 'kube-system', 'team-a']);
  api2 = serving(['team-b']);
  for (const s of [api, api2]) {
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
  }
  apiPort = (api.address() as AddressInfo).port;
  api2Port = (api2.address() as AddressInfo).port;
  blackHole = createServer((s) => sockets.push(s));
  blackHole.listen(0, '127.0.0.1');
  await once(blackHole, 'listening');
  blackHolePort = (blackHole.address() as AddressInfo).port;
  tree = treeFromConfig((await Config.load(fileURLToPath(new URL('../../..', import.meta.url)))).commands);
});
afterAll(() => {
  for (const s of sockets) s.destroy();
  api.close();
  api2.close();
  blackHole.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A kubeconfig file with the given contexts, each on its own server. */
function kubeconfig(file: string, contexts: { name: string; server: string }[], current?: string): string {
  const path = join(dir, file);
  const yaml = [
    'apiVersion: v1',
    'kind: Config',
    ...(current ? [`current-context: ${current}`] : []),
    'clusters:',
    ...contexts.flatMap((c) => [`- name: ${c.name}-cluster`, '  cluster:', `    server: ${c.server}`]),
    'users:',
    ...contexts.flatMap((c) => [`- name: ${c.name}-user`, '  user:', '    token: t0k3n']),
    'contexts:',
    ...contexts.flatMap((c) => [`- name: ${c.name}`, '  context:', `    cluster: ${c.name}-cluster`, `    user: ${c.name}-user`]),
  ].join('\n');
  writeFileSync(path, `${yaml}\n`);
  return path;
}

describe('contexts', () => {
  it('are the merged KUBECONFIG\'s, in kubectl\'s order, the current one marked', async () => {
    const a = kubeconfig('a.yaml', [{ name: 'prod-hz', server: 'http://127.0.0.1:1' }, { name: 'prod-bj', server: 'http://127.0.0.1:1' }], 'prod-bj');
    const b = kubeconfig('b.yaml', [{ name: 'staging', server: 'http://127.0.0.1:1' }]);
    const s = liveSources({ KUBECONFIG: [a, b].join(delimiter), HOME: dir });
    const r = await complete(['doctor', '--context', ''], tree, s);
    expect(r.candidates).toEqual([
      { value: 'prod-hz', description: 'cluster prod-hz-cluster' },
      { value: 'prod-bj', description: 'cluster prod-bj-cluster (current)' },
      { value: 'staging', description: 'cluster staging-cluster' },
    ]);
    expect((await complete(['doctor', '--context', 'prod-'], tree, s)).candidates.map((c) => c.value)).toEqual(['prod-hz', 'prod-bj']);
  });

  it('are those of --kubeconfig given earlier on the line (alone, as kubectl reads it), ~ being $HOME', async () => {
    const a = kubeconfig('c.yaml', [{ name: 'from-env', server: 'http://127.0.0.1:1' }]);
    mkdirSync(join(dir, 'home', '.kube'), { recursive: true });
    const flagged = kubeconfig('home/.kube/other', [{ name: 'from-flag', server: 'http://127.0.0.1:1' }]);
    const s = liveSources({ KUBECONFIG: a, HOME: join(dir, 'home') });
    expect((await complete(['doctor', '--kubeconfig', flagged, '--context', ''], tree, s)).candidates.map((c) => c.value)).toEqual(['from-flag']);
    expect((await complete(['doctor', '--kubeconfig=~/.kube/other', '--context', ''], tree, s)).candidates.map((c) => c.value)).toEqual(['from-flag']);
    expect((await complete(['doctor', '--context', ''], tree, s)).candidates.map((c) => c.value)).toEqual(['from-env']);
  });

  it('are none, quietly, without a kubeconfig', async () => {
    const s = liveSources({ HOME: join(dir, 'nowhere') });
    expect(await complete(['doctor', '--context', ''], tree, s)).toEqual({ candidates: [], directive: Directive.NoFileComp });
    expect(await complete(['doctor', '--kubeconfig', join(dir, 'missing'), '--context', ''], tree, s)).toEqual({ candidates: [], directive: Directive.NoFileComp });
  });
});

describe('namespaces', () => {
  it('are one list call to the current context\'s API server', async () => {
    const kc = kubeconfig('ns.yaml', [{ name: 'one', server: `http://127.0.0.1:${apiPort}` }], 'one');
    asked.length = 0;
    const r = await complete(['doctor', '-n', ''], tree, liveSources({ KUBECONFIG: kc, HOME: dir }));
    expect(r).toEqual({ candidates: [{ value: 'default' }, { value: 'kube-system' }, { value: 'team-a' }], directive: Directive.NoFileComp });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toBe(`127.0.0.1:${apiPort} /api/v1/namespaces?limit=500`);
  });

  it('are the cluster\'s of --context given earlier on the line', async () => {
    const kc = kubeconfig('two.yaml', [{ name: 'one', server: `http://127.0.0.1:${apiPort}` }, { name: 'two', server: `http://127.0.0.1:${api2Port}` }], 'one');
    const r = await complete(['doctor', '--context', 'two', '--namespace=team'], tree, liveSources({ KUBECONFIG: kc, HOME: dir }));
    expect(r.candidates).toEqual([{ value: 'team-b' }]);
  });

  it('are none, within the deadline, when the API server never answers', async () => {
    const kc = kubeconfig('hole.yaml', [{ name: 'hole', server: `http://127.0.0.1:${blackHolePort}` }], 'hole');
    const t0 = Date.now();
    const r = await complete(['doctor', '-n', ''], tree, liveSources({ KUBECONFIG: kc, HOME: dir }, 300));
    expect(r).toEqual({ candidates: [], directive: Directive.NoFileComp });
    // The deadline, not the client's 30 s default, ended it (bound generous for a loaded machine).
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(sockets.length).toBeGreaterThan(0);
  });

  it('are none when the server refuses, the context is unknown or there is no kubeconfig', async () => {
    const refused = kubeconfig('refused.yaml', [{ name: 'r', server: 'http://127.0.0.1:1' }], 'r');
    for (const [line, env] of [
      [['doctor', '-n', ''], { KUBECONFIG: refused }],
      [['doctor', '--context', 'nosuch', '-n', ''], { KUBECONFIG: refused }],
      [['doctor', '-n', ''], {}],
    ] as const) {
      expect(await complete([...line], tree, liveSources({ ...env, HOME: join(dir, 'nowhere') }))).toEqual({ candidates: [], directive: Directive.NoFileComp });
    }
  });

  it('have a 2 s deadline by default', () => {
    expect(NAMESPACE_DEADLINE_MS).toBe(2000);
  });
});
