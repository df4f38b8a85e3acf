import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { findOperator, judgeOperator, operatorsInManifest, waitOperatorVerdict, type OperatorKube } from '../../../src/kube/operator.js';
import { withCalls } from '../../support/kube.js';

const ref = { namespace: 'cms', name: 'cms-loongcollector-operator' };
const live = { releaseGone: false };
const dep = (o: { replicas?: number; ready?: number; deleting?: boolean; labels?: Record<string, string>; annotations?: Record<string, string>; name?: string; namespace?: string } = {}): V1Deployment => ({
  metadata: { name: o.name ?? ref.name, namespace: o.namespace ?? ref.namespace, labels: o.labels ?? {}, annotations: o.annotations ?? {}, ...(o.deleting ? { deletionTimestamp: new Date() } : {}) },
  spec: { replicas: o.replicas ?? 1, selector: {}, template: {} },
  status: { readyReplicas: o.ready ?? 0 },
});

describe('is the operator gone? (one sample)', () => {
  it('running with a ready pod', () => {
    expect(judgeOperator([ref], [dep({ ready: 1 })], live)).toMatchObject({ state: 'running', ready: 1 });
  });
  it('gone: absent, being deleted, scaled to zero, or the release has none', () => {
    expect(judgeOperator([ref], [undefined], live)).toMatchObject({ state: 'gone', why: 'Deployment cms/cms-loongcollector-operator does not exist' });
    expect(judgeOperator([ref], [dep({ deleting: true, ready: 1 })], live)).toMatchObject({ state: 'gone', why: expect.stringContaining('is being deleted') });
    expect(judgeOperator([ref], [dep({ replicas: 0 })], live)).toMatchObject({ state: 'gone', why: expect.stringContaining('scaled to zero') });
    expect(judgeOperator([], [], { releaseGone: true })).toMatchObject({ state: 'gone' });
  });
  it('a release whose manifest has no recognisable operator is unknown, never gone', () => {
    expect(judgeOperator([], [], live)).toMatchObject({ state: 'unknown' });
  });
  it('no ready pod while replicas are wanted is not gone (a rolling restart, a crash)', () => {
    expect(judgeOperator([ref], [dep({ replicas: 1, ready: 0 })], live)).toMatchObject({ state: 'not-ready' });
  });
});

describe('which Deployment is the operator', () => {
  it('comes from the release manifest by the pod label, never by name', () => {
    const docs = [
      { kind: 'Deployment', metadata: { name: 'cms-loongcollector-operator' }, spec: { template: { metadata: { labels: { 'app.kubernetes.io/name': 'loongcollector-operator' } } } } },
      { kind: 'Deployment', metadata: { name: 'my-operator-of-something' }, spec: { template: { metadata: { labels: { 'app.kubernetes.io/name': 'other' } } } } },
      { kind: 'Service', metadata: { name: 'cms-loongcollector-operator' } },
    ];
    expect(operatorsInManifest(docs, 'cms')).toEqual([{ namespace: 'cms', name: 'cms-loongcollector-operator' }]);
  });
  it('without a release: only the installation\'s own labelled Deployments, never another release\'s', async () => {
    const op = { 'app.kubernetes.io/name': 'loongcollector-operator' };
    const kube = withCalls({
      server: 'x',
      apps: {
        listNamespacedDeployment: async () => ({
          items: [
            dep({ name: 'ours', labels: op, annotations: { 'meta.helm.sh/release-name': 'r', 'meta.helm.sh/release-namespace': 'cms' } }),
            dep({ name: 'theirs', labels: op, annotations: { 'meta.helm.sh/release-name': 'other', 'meta.helm.sh/release-namespace': 'cms' } }),
          ],
        }),
      },
    }) as unknown as OperatorKube;
    expect(await findOperator(kube, { release: 'r', namespace: 'cms' }, undefined)).toEqual([{ namespace: 'cms', name: 'ours' }]);
  });
});

describe('the verdict to act on waits out a restart', () => {
  const kubeWith = (samples: Array<V1Deployment | undefined>) => {
    let i = 0;
    return withCalls({
      server: 'x',
      apps: {
        readNamespacedDeployment: async () => {
          const d = samples[Math.min(i++, samples.length - 1)];
          if (!d) throw Object.assign(new Error('nf'), { code: 404, body: { message: 'not found' } });
          return d;
        },
      },
    }) as unknown as OperatorKube;
  };
  /** The verdict on these samples with a fake clock (grace 30s), and how long it waited. */
  const verdictOn = async (samples: Array<V1Deployment | undefined>, deadlineInMs: number) => {
    let now = 1_000_000;
    const real = Date.now;
    Date.now = () => now;
    try {
      const v = await waitOperatorVerdict(kubeWith(samples), [ref], { source: live, graceMs: 30_000, deadline: now + deadlineInMs, sleep: async (ms) => void (now += ms) });
      return { v, waitedMs: now - 1_000_000 };
    } finally {
      Date.now = real;
    }
  };

  it('a restart that comes back within the grace period is running, not gone', async () => {
    const { v } = await verdictOn([dep({ ready: 0 }), dep({ ready: 0 }), dep({ ready: 1 })], 120_000);
    expect(v.state).toBe('running');
  });
  it('a --timeout shorter than the grace period ends the wait as not-ready, not gone', async () => {
    const { v } = await verdictOn([dep({ ready: 0 })], 10_000);
    expect(v.state).toBe('not-ready');
    expect((v as { why: string }).why).toContain('waited 10s, until --timeout');
  });
  it('no ready pod for the whole grace period is gone, and says how long', async () => {
    const { v } = await verdictOn([dep({ ready: 0 })], 120_000);
    expect(v).toMatchObject({ state: 'gone', why: 'Deployment cms/cms-loongcollector-operator has no ready pod for 30s' });
  });
  it('scaled to zero is gone at once, without waiting', async () => {
    const { v, waitedMs } = await verdictOn([dep({ replicas: 0 })], 120_000);
    expect(v.state).toBe('gone');
    expect(waitedMs).toBe(0);
  });
});
