import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { inspectPod, PROBE_LABELS, probePodSpec, runProbePods } from '../../../src/net/probe-pods.js';
import { PROBE_SCRIPT } from '../../../src/net/script.js';
import { node } from '../preflight/helpers.js';

const OUTPUT = (host: string) => `INSIGHT-PROBE-BEGIN v1 curl 8\nINSIGHT-PROBE ${host} 443 rc=0 conn=1 tls=1 plain=- W 404 1.2.3.4 0.1 0.2 | \nINSIGHT-PROBE-END\n`;
const target = { host: 'cms.cn-hangzhou.aliyuncs.com', port: 443 };

function withStatus(status: V1Pod['status'], created = '2026-01-01T00:00:00Z'): V1Pod {
  return { metadata: { name: 'p', creationTimestamp: new Date(created), annotations: { 'insight.alibabacloud.com/probe-node': 'n1' } }, status };
}
const opts = (log?: string) => ({ image: 'img', now: Date.parse('2026-01-01T00:01:00Z'), unschedulableGraceMs: 20_000, readLog: async () => log });

describe('probePodSpec', () => {
  const p = probePodSpec({ name: 'insight-probe-x-0', namespace: 'default', runId: 'x', node: 'n1', image: 'img:1', tolerations: [{ operator: 'Exists' }], targets: [{ ...target, connectAddress: '127.0.0.1', connectPort: 8443 }], deadlineS: 150 });
  it('pins the pod to its node through the scheduler (taints honoured), with the DaemonSet tolerations', () => {
    expect(p.spec!.nodeName).toBeUndefined();
    expect(p.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchFields).toEqual([{ key: 'metadata.name', operator: 'In', values: ['n1'] }]);
    expect(p.spec!.tolerations).toEqual([{ operator: 'Exists' }]);
  });
  it('is short-lived, self-limiting and labelled for clean-up', () => {
    expect(p.spec!.restartPolicy).toBe('Never');
    expect(p.spec!.activeDeadlineSeconds).toBe(150);
    expect(p.spec!.automountServiceAccountToken).toBe(false);
    expect(p.metadata!.labels).toMatchObject({ [PROBE_LABELS.name.key]: PROBE_LABELS.name.value, [PROBE_LABELS.run]: 'x' });
  });
  it('runs the probe script with targets in env and IP overrides as hostAliases', () => {
    const c = p.spec!.containers[0]!;
    expect(c.command).toEqual(['sh', '-c', PROBE_SCRIPT]);
    expect(c.image).toBe('img:1');
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    expect(c.env!.find((e) => e.name === 'PROBE_TARGETS')!.value).toBe('cms.cn-hangzhou.aliyuncs.com 443 - 8443 - /');
    expect(p.spec!.hostAliases).toEqual([{ ip: '127.0.0.1', hostnames: ['cms.cn-hangzhou.aliyuncs.com'] }]);
  });
});

describe('inspectPod', () => {
  it('reads results from the termination message', async () => {
    const st = await inspectPod(withStatus({ phase: 'Succeeded', containerStatuses: [{ name: 'probe', image: 'img', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, message: OUTPUT(target.host) } } }] }), opts());
    expect(st).toMatchObject({ done: true, results: [{ host: target.host, outcome: 'ok', vantage: 'node/n1' }] });
  });
  it('falls back to the log when the message is empty', async () => {
    const st = await inspectPod(withStatus({ phase: 'Succeeded', containerStatuses: [{ name: 'probe', image: 'img', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0 } } }] }), opts(OUTPUT(target.host)));
    expect(st).toMatchObject({ done: true, results: [{ outcome: 'ok' }] });
  });
  it('takes a running pod\'s complete log', async () => {
    expect(await inspectPod(withStatus({ phase: 'Running', containerStatuses: [{ name: 'probe', image: 'img', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] }), opts(OUTPUT(target.host)))).toMatchObject({ done: true });
    expect(await inspectPod(withStatus({ phase: 'Running', containerStatuses: [{ name: 'probe', image: 'img', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] }), opts('INSIGHT-PROBE-BEGIN v1 curl\n'))).toMatchObject({ done: false });
  });
  it('names an image that cannot be pulled, with the --probe-image hint', async () => {
    const st = await inspectPod(withStatus({ phase: 'Pending', containerStatuses: [{ name: 'probe', image: 'img', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "img"' } } }] }), opts());
    expect(st).toMatchObject({ done: true, failure: { vantage: 'node/n1' } });
    expect((st as { failure: { message: string; hint: string } }).failure.message).toContain('cannot pull the probe image img');
    expect((st as { failure: { hint: string } }).failure.hint).toContain('--probe-image');
  });
  it('says when the image has no curl', async () => {
    const st = await inspectPod(withStatus({ phase: 'Failed', containerStatuses: [{ name: 'probe', image: 'img', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 3, message: 'INSIGHT-PROBE-BEGIN v1 no-curl\nINSIGHT-PROBE-END\n' } } }] }), opts());
    expect((st as { failure: { message: string } }).failure.message).toContain('has no curl');
  });
  it('gives an unschedulable pod a grace period, then names the node', async () => {
    const unsched = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available' }] };
    expect(await inspectPod(withStatus(unsched, '2026-01-01T00:00:55Z'), opts())).toMatchObject({ done: false });
    const st = await inspectPod(withStatus(unsched, '2026-01-01T00:00:00Z'), opts());
    expect(st).toMatchObject({ done: true, failure: { message: 'probe pod cannot be scheduled on node n1', evidence: ['0/3 nodes are available'] } });
  });
});

/** A fake CoreV1Api slice: created pods become Succeeded with the given output on the next list. */
function fakeCore(behaviour: (name: string, node: string) => V1Pod['status'] | 'hang', fail?: { create?: Error; del?: Error }) {
  const pods = new Map<string, V1Pod>();
  const calls = { created: [] as string[], deleted: [] as string[] };
  return {
    calls,
    pods,
    core: {
      async createNamespacedPod({ body }: { namespace: string; body: V1Pod }) {
        if (fail?.create) throw fail.create;
        calls.created.push(body.metadata!.name!);
        pods.set(body.metadata!.name!, { ...body, metadata: { ...body.metadata, creationTimestamp: new Date() } });
        return body;
      },
      async listNamespacedPod() {
        return {
          items: [...pods.values()].map((p) => {
            const st = behaviour(p.metadata!.name!, p.metadata!.annotations!['insight.alibabacloud.com/probe-node']!);
            return st === 'hang' ? { ...p, status: { phase: 'Pending' } } : { ...p, status: st };
          }),
        };
      },
      async readNamespacedPodLog() {
        return '';
      },
      async deleteNamespacedPod({ name }: { name: string }) {
        if (fail?.del) throw fail.del;
        calls.deleted.push(name);
        pods.delete(name);
        return {};
      },
    },
  };
}

const done = (host: string): V1Pod['status'] => ({ phase: 'Succeeded', containerStatuses: [{ name: 'probe', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, message: OUTPUT(host) } } }] });

describe('runProbePods', () => {
  it('probes from every node, names each vantage, and deletes every pod', async () => {
    const f = fakeCore(() => done(target.host));
    const r = await runProbePods({ core: f.core, namespace: 'default', image: 'img', nodes: [node('a'), node('b')], targets: [target], tolerations: [], timeoutMs: 5000, pollMs: 10, kubectl: { binary: '/bin/false' } });
    expect(r.results.map((x) => x.vantage).sort()).toEqual(['node/a', 'node/b']);
    expect(r.failures).toEqual([]);
    expect(f.calls.deleted.sort()).toEqual(f.calls.created.sort());
    expect(f.pods.size).toBe(0);
  });
  it('reports a node whose pod never finishes, and still deletes all pods', async () => {
    const f = fakeCore((_n, nodeName) => (nodeName === 'b' ? 'hang' : done(target.host)));
    const r = await runProbePods({ core: f.core, namespace: 'default', image: 'img', nodes: [node('a'), node('b')], targets: [target], tolerations: [], timeoutMs: 300, pollMs: 20, kubectl: { binary: '/bin/false' } });
    expect(r.results.map((x) => x.vantage)).toEqual(['node/a']);
    expect(r.failures).toMatchObject([{ vantage: 'node/b' }]);
    expect(r.failures[0]!.message).toContain('did not finish');
    expect(f.pods.size).toBe(0);
  });
  it('stops when aborted and cleans up', async () => {
    const f = fakeCore(() => 'hang');
    // Polls counted: evidence that the wait stops at the abort, not at the 10 s deadline.
    let polls = 0;
    let pollsAtAbort = -1;
    const list = f.core.listNamespacedPod.bind(f.core);
    f.core.listNamespacedPod = () => (polls++, list());
    const ac = new AbortController();
    setTimeout(() => ((pollsAtAbort = polls), ac.abort()), 50);
    await runProbePods({ core: f.core, namespace: 'default', image: 'img', nodes: [node('a')], targets: [target], tolerations: [], timeoutMs: 10_000, pollMs: 20, signal: ac.signal, kubectl: { binary: '/bin/false' } });
    expect(pollsAtAbort).toBeGreaterThan(0);
    expect(polls - pollsAtAbort).toBeLessThanOrEqual(1);
    expect(f.pods.size).toBe(0);
  });
  it('fails the run clearly when pods may not be created (RBAC), leaving nothing behind', async () => {
    const forbidden = Object.assign(new Error('forbidden'), { code: 403, body: { message: 'pods is forbidden' } });
    const f = fakeCore(() => done(target.host), { create: forbidden });
    await expect(runProbePods({ core: f.core, namespace: 'default', image: 'img', nodes: [node('a')], targets: [target], tolerations: [], timeoutMs: 1000, pollMs: 10, kubectl: { binary: '/bin/false' } })).rejects.toMatchObject({ kind: 'forbidden' });
    expect(f.pods.size).toBe(0);
  });
  it('one create failing (quota) while others succeed: the error is raised and every created pod deleted', async () => {
    const f = fakeCore(() => 'hang');
    const create = f.core.createNamespacedPod;
    let n = 0;
    f.core.createNamespacedPod = async (req) => {
      if (n++ === 1) {
        await new Promise((r) => setTimeout(r, 5));
        throw Object.assign(new Error('quota'), { code: 403, body: { message: 'exceeded quota' } });
      }
      await new Promise((r) => setTimeout(r, 30)); // still in flight when the other fails
      return create(req);
    };
    await expect(runProbePods({ core: f.core, namespace: 'default', image: 'img', nodes: [node('a'), node('b'), node('c')], targets: [target], tolerations: [], timeoutMs: 1000, pollMs: 10, kubectl: { binary: '/bin/false' } })).rejects.toMatchObject({ kind: 'forbidden' });
    expect(f.calls.created).toHaveLength(2);
    expect(f.pods.size).toBe(0);
  });
  it('falls back to `kubectl delete -l <run>` when the API delete fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'insight-kubectl-'));
    try {
      const bin = join(dir, 'kubectl');
      writeFileSync(bin, `#!/bin/sh\necho "$@" > ${join(dir, 'args')}\n`);
      chmodSync(bin, 0o755);
      const f = fakeCore(() => done(target.host), { del: Object.assign(new Error('boom'), { code: 500, body: {} }) });
      await runProbePods({ core: f.core, namespace: 'probe-ns', image: 'img', nodes: [node('a')], targets: [target], tolerations: [], timeoutMs: 1000, pollMs: 10, kubectl: { binary: bin, kubeconfig: '/k/config', context: 'ctx' } });
      const args = readFileSync(join(dir, 'args'), 'utf8');
      expect(args).toMatch(/^delete pod -n probe-ns -l insight\.alibabacloud\.com\/probe-run=[0-9a-f]{6} --wait=false --ignore-not-found --grace-period=0 --kubeconfig \/k\/config --context ctx/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
