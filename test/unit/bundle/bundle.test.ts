import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { runBundle, selectLogs, nodesView } from '../../../src/actions/bundle.js';
import { InsightError } from '../../../src/errors.js';
import { fakeApi, fakeDeps, pod } from './fake.js';
import { cluster, opts, P, temp, unpack } from './support.js';

describe('bundle action', () => {
  it('writes every planned file, lists each in manifest.json, failing pods first, and records what failed', async () => {
    const dir = temp(join(tmpdir(), 'bundle-'));
    const c = cluster({ forbidden: [`${P}/services`] });
    const r = await runBundle(opts(dir), fakeDeps(fakeApi(c), { helmVersion: async () => Promise.reject(new InsightError('tool', 'helm not found on PATH')) }));
    expect(r.path).toMatch(/kubectl-insight-bundle-kind-test-\d{8}-\d{6}Z\.tar\.gz$/);
    expect(statSync(r.path!).mode & 0o777).toBe(0o600);
    const u = unpack(r.path!);
    const listed = u.manifest.files.filter((f: any) => f.status === 'written').map((f: any) => f.path);
    expect(u.names.filter((n) => n !== 'manifest.json').sort()).toEqual([...listed].sort());
    expect(u.manifest.errors.map((e: any) => e.component)).toEqual(expect.arrayContaining(['helm version', 'objects/services.json', 'release']));
    expect(u.manifest.files.find((f: any) => f.path === 'objects/services.json').status).toBe('error');
    // the failing pods' logs come first; three healthy node-exporters, the rest sampled out
    const logs = listed.filter((p: string) => p.startsWith('logs/'));
    expect(logs.slice(0, 3)).toEqual(['logs/ksm-1/main.log', 'logs/ksm-1/main.previous.log', 'logs/ne-5/main.log']);
    expect(logs).toHaveLength(6);
    expect(u.manifest.logs.sampledOut.map((s: any) => s.pod)).toEqual(['ne-3', 'ne-4', 'ne-6', 'ne-7']);
    expect(readFileSync(join(u.dir, 'logs/ksm-1/main.previous.log'), 'utf8')).not.toContain('abcdefghijkl');
    expect(u.manifest.files.find((f: any) => f.path === 'logs/ksm-1/main.previous.log').redactions).toEqual({ bearer: 1 });
    expect(JSON.parse(readFileSync(join(u.dir, 'objects/pods.json'), 'utf8')).items[0].metadata.managedFields).toBeUndefined();
    expect(JSON.parse(readFileSync(join(u.dir, 'coexistence.json'), 'utf8'))).toEqual([{ id: 'coexist.arms-prom', status: 'passed' }]);
    // a second run makes a new file next to the first
    const r2 = await runBundle(opts(dir), fakeDeps(fakeApi(c)));
    expect(r2.path).not.toBe(r.path);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tar.gz'))).toHaveLength(2);
  });

  it('stays under a tiny --max-size: entries omitted, still a valid archive with its manifest', async () => {
    const dir = temp(join(tmpdir(), 'bundle-'));
    const c = cluster();
    // Logs that do not compress, so they cannot all fit.
    for (let i = 0; i < 8; i++) c.logs[`ne-${i}/main`] = Buffer.from(Array.from({ length: 30_000 }, () => Math.floor(Math.random() * 256))).toString('latin1');
    const maxSize = 80_000;
    const r = await runBundle(opts(dir, { maxSize }), fakeDeps(fakeApi(c)));
    expect(statSync(r.path!).size).toBeLessThanOrEqual(maxSize);
    const u = unpack(r.path!);
    const omitted = u.manifest.files.filter((f: any) => f.status === 'omitted');
    expect(omitted.length).toBeGreaterThan(0);
    expect(omitted.every((f: any) => f.reason === 'max-size')).toBe(true);
    expect(u.names).toContain('versions.json');
    expect(u.names).toContain('README.txt');
    for (const f of omitted) expect(u.names).not.toContain(f.path);
  });

  it('refuses a --max-size that cannot hold the manifest, before writing anything', async () => {
    const dir = temp(join(tmpdir(), 'bundle-'));
    await expect(runBundle(opts(dir, { maxSize: 2000 }), fakeDeps(fakeApi(cluster())))).rejects.toThrow(/cannot hold even/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('never overwrites -o, and a dry run writes nothing', async () => {
    const dir = temp(join(tmpdir(), 'bundle-'));
    writeFileSync(join(dir, 'taken.tar.gz'), 'mine');
    await expect(runBundle(opts(dir, { outputFile: 'taken.tar.gz' }), fakeDeps(fakeApi(cluster())))).rejects.toThrow(/already exists/);
    expect(readFileSync(join(dir, 'taken.tar.gz'), 'utf8')).toBe('mine');
    const d = await runBundle(opts(dir, { dryRun: true }), fakeDeps(fakeApi(cluster())));
    expect(d.files.map((f) => f.path)).toContain('logs/ksm-1/main.previous.log');
    expect(d.files.every((f) => f.status === 'planned' && f.source)).toBe(true);
    expect(readdirSync(dir)).toEqual(['taken.tar.gz']);
  });

  it('writes the local parts when the API server cannot be reached', async () => {
    const dir = temp(join(tmpdir(), 'bundle-'));
    const down = new InsightError('unreachable', 'cannot reach the API server at https://127.0.0.1:1 (ECONNREFUSED)');
    const r = await runBundle(opts(dir), fakeDeps(down));
    const u = unpack(r.path!);
    expect(u.names).toEqual(expect.arrayContaining(['versions.json', 'reports/preflight.json']));
    expect(u.manifest.errors[0]).toEqual({ component: 'cluster', message: down.message });
    expect(u.manifest.files.find((f: any) => f.path === 'nodes.json').status).toBe('error');
  });
});

describe('log sampling and node summaries', () => {
  it('caps the files, failing pods first', () => {
    const pods = [pod('a', { ds: 'd', ready: false }), pod('b', { ds: 'd' }), pod('c', { ds: 'd' }), pod('z', { restarts: 1 })] as any[];
    const s = selectLogs(pods, 1, 3);
    expect(s.selected.map((l) => `${l.pod}${l.previous ? '.prev' : ''}`)).toEqual(['a', 'z', 'z.prev']);
    expect(s.sampledOut.map((x) => x.pod)).toEqual(['c', 'b']);
  });

  it('summarises above the limit and lists every node that is not fine', () => {
    const nodes = Array.from({ length: 5 }, (_, i) => ({
      metadata: { name: `n${i}` },
      status: { conditions: [{ type: 'Ready', status: i === 2 ? 'False' : 'True' }, { type: 'DiskPressure', status: i === 4 ? 'True' : 'False' }], capacity: { cpu: '2', memory: '1Gi' }, nodeInfo: { kubeletVersion: 'v1.36.3' } },
    })) as any[];
    const v = nodesView(nodes, 3) as any;
    expect(v.summary).toBe(true);
    expect(v.byReady).toEqual({ True: 4, False: 1 });
    expect(v.capacityTotals).toEqual({ cpu: 10, memory: 5 * 1024 ** 3 });
    expect(v.notFine.map((n: any) => n.name)).toEqual(['n2', 'n4']);
    expect((nodesView(nodes, 10) as any).nodes).toHaveLength(5);
  });
});

describe('interrupted', () => {
  it('SIGINT in the middle leaves no partial file and no bundle', async () => {
    const work = temp(join(tmpdir(), 'bundle-sigint-'));
    const out = join(work, 'out');
    execFileSync('mkdir', [out]);
    const prog = join(work, 'prog.mjs');
    buildSync({
      stdin: {
        contents: `import { runBundle } from './src/actions/bundle.ts';
import { fakeApi, fakeDeps, NS, pod } from './test/unit/bundle/fake.ts';
const api = fakeApi({ lists: { ['/api/v1/namespaces/' + NS + '/pods']: [pod('p1')], ['/api/v1/namespaces/' + NS + '/secrets']: [], ['/api/v1/namespaces/' + NS + '/configmaps']: [] }, logs: {},
  // The log request hangs: the bundle is half-written when the signal comes.
  onGet: (p) => p.includes('/log?') ? new Promise((r) => setTimeout(r, 60_000)) : undefined });
await runBundle({ namespace: NS, release: 'r', sinceMs: 1000, logBytes: 1024, maxSize: 1e6, redactExtra: [], dryRun: false, allowUnknownSecrets: true, dir: ${JSON.stringify(out)}, context: 'c', server: 's' }, fakeDeps(api));`,
        resolveDir: process.cwd(),
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: prog,
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      logLevel: 'silent',
    });
    const child = spawn(process.execPath, [prog], { stdio: ['ignore', 'ignore', 'inherit'] });
    let seen: string[] = [];
    for (let i = 0; i < 200 && !seen.some((f) => f.includes('.partial-')); i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = readdirSync(out);
    }
    expect(seen.some((f) => f.includes('.partial-'))).toBe(true);
    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(130);
    expect(readdirSync(out)).toEqual([]);
  });
});
