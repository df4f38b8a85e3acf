// A fake API server for the bundle action: lists by path, pod logs by pod/container, and a hook to
// hold a request open (the interruption tests).
import { RawApiError, type RawResponse } from '../../../src/kube/proxy.js';
import type { BundleApi, BundleDeps } from '../../../src/actions/bundle.js';

export interface FakeCluster {
  lists: Record<string, unknown[]>;
  /** pod/container[.previous] → log text; absent: HTTP 404. */
  logs: Record<string, string>;
  /** Paths answered 403. */
  forbidden?: string[];
  /** Called before each GET; may hang. */
  onGet?: (path: string) => Promise<void> | void;
}

export function fakeApi(c: FakeCluster): BundleApi {
  const base = (p: string) => p.split('?')[0]!;
  const get = async (path: string): Promise<RawResponse> => {
    await c.onGet?.(path);
    if (c.forbidden?.includes(base(path))) return { status: 403, body: JSON.stringify({ kind: 'Status', code: 403, message: `forbidden: ${base(path)}` }), truncated: false };
    const log = /\/pods\/([^/]+)\/log\?(.*)$/.exec(path);
    if (log) {
      const q = new URLSearchParams(log[2]);
      const key = `${decodeURIComponent(log[1]!)}/${q.get('container')}${q.get('previous') ? '.previous' : ''}`;
      const text = c.logs[key];
      if (text === undefined) return { status: 404, body: '{"kind":"Status","message":"no log"}', truncated: false };
      // The API server's semantics: the last tailLines lines, then the first limitBytes bytes of them.
      const tail = q.get('tailLines');
      const lines = text.split(/(?<=\n)/);
      const kept = Buffer.from(tail ? lines.slice(-Number(tail)).join('') : text);
      const limit = Number(q.get('limitBytes') ?? Infinity);
      return { status: 200, body: kept.subarray(0, Math.min(kept.length, limit)).toString('utf8'), truncated: false };
    }
    if (base(path) === '/version') return { status: 200, body: '{"gitVersion":"v1.36.3","platform":"linux/amd64"}', truncated: false };
    const items = c.lists[base(path)];
    if (items === undefined) return { status: 404, body: '{"kind":"Status","code":404,"message":"not found"}', truncated: false };
    return { status: 200, body: JSON.stringify({ items, metadata: {} }), truncated: false };
  };
  const getJson = async <T>(path: string): Promise<T> => {
    const r = await get(path);
    if (r.status !== 200) throw new RawApiError(r.status, r.body);
    return JSON.parse(r.body) as T;
  };
  return {
    get,
    getJson,
    list: async <T>(path: string) => (await getJson<{ items: T[] }>(path)).items,
    probe: async () => ({ outcome: 'ok', detail: '', ms: 0, url: '' }),
  };
}

export function fakeDeps(api: BundleDeps['api'], over: Partial<BundleDeps> = {}): BundleDeps {
  return {
    api,
    helmVersion: async () => '4.3.1',
    doctorJson: async () => JSON.stringify({ command: 'doctor', findings: [{ id: 'coexist.arms-prom', status: 'passed' }, { id: 'pods.health', status: 'passed' }] }),
    preflightJson: async () => JSON.stringify({ command: 'preflight', results: [] }),
    progress: () => {},
    ...over,
  };
}

export const NS = 'cms-monitoring';

export function pod(name: string, opts: { ds?: string; ready?: boolean; restarts?: number; containers?: string[]; annotations?: Record<string, string> } = {}) {
  const containers = opts.containers ?? ['main'];
  return {
    metadata: { name, namespace: NS, ...(opts.ds ? { ownerReferences: [{ kind: 'DaemonSet', name: opts.ds, controller: true }] } : {}), annotations: opts.annotations ?? {}, managedFields: [{ manager: 'x' }] },
    spec: { containers: containers.map((n) => ({ name: n, image: 'x' })) },
    status: {
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
      containerStatuses: containers.map((n) => ({ name: n, restartCount: opts.restarts ?? 0, state: { running: {} } })),
    },
  };
}

