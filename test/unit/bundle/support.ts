// Shared by the bundle's unit tests: temp directories removed after the file's tests, a small
// cluster, the options the tests start from, and unpacking a written bundle with the system tar.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { BundleOptions } from '../../../src/actions/bundle.js';
import { NS, pod, type FakeCluster } from './fake.js';

const made: string[] = [];
/** A temp directory, removed when the file's tests end. */
export const temp = (prefix: string) => {
  const d = mkdtempSync(prefix);
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
export const P = `/api/v1/namespaces/${NS}`;

export function cluster(over: Partial<FakeCluster> = {}): FakeCluster {
  const pods = [pod('ksm-1', { restarts: 2 }), ...Array.from({ length: 8 }, (_, i) => pod(`ne-${i}`, { ds: 'cms-node-exporter', ready: i !== 5 }))];
  const logs: Record<string, string> = { 'ksm-1/main': 'ksm log line\n'.repeat(50), 'ksm-1/main.previous': 'crashed: Bearer abcdefghijkl\n' };
  for (let i = 0; i < 8; i++) logs[`ne-${i}/main`] = `node-exporter ${i} `.repeat(400);
  return {
    lists: {
      [`${P}/pods`]: pods,
      [`${P}/secrets`]: [],
      [`${P}/configmaps`]: [],
      [`/apis/apps/v1/namespaces/${NS}/daemonsets`]: [],
      [`/apis/apps/v1/namespaces/${NS}/deployments`]: [],
      [`${P}/services`]: [],
      [`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`]: [],
      [`${P}/events`]: [{ metadata: { name: 'e1' }, message: 'pulled', lastTimestamp: '2026-12-01T00:00:00Z' }],
      '/api/v1/nodes': [{ metadata: { name: 'n1' }, status: { conditions: [{ type: 'Ready', status: 'True' }], capacity: { cpu: '2' } } }],
    },
    logs,
    ...over,
  };
}

export function opts(dir: string, over: Partial<BundleOptions> = {}): BundleOptions {
  return { namespace: NS, release: 'aliyun-loongcollector-cluster-insight', sinceMs: 3_600_000, logBytes: 262_144, maxSize: 20_000_000, redactExtra: [], dryRun: false, dir, context: 'kind-test', server: 'https://127.0.0.1:6443', logsPerDaemonSet: 3, allowUnknownSecrets: true, ...over };
}

export function unpack(file: string): { dir: string; names: string[]; manifest: any } {
  const dir = temp(join(tmpdir(), 'bundle-unpacked-'));
  execFileSync('tar', ['-xzf', file, '-C', dir]);
  const names = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
  return { dir, names, manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) };
}

