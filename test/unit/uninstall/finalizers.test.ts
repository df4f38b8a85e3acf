import { describe, expect, it } from 'vitest';
import { collectionPath, deleteCustomObject, finalizerPatch, removeFinalizer, type CustomRef, type FinalizerKube } from '../../../src/kube/finalizers.js';
import { withCalls } from '../../../src/kube/errors.js';

const FIN = 'clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com/finalizer';
const ref: CustomRef = { group: 'telemetry.alibabacloud.com', version: 'v1alpha1', plural: 'clusteraliyunpipelineconfigs', kind: 'ClusterAliyunPipelineConfig', name: 'cr1' };

class ApiError extends Error {
  constructor(
    public code: number,
    public body: unknown = {},
  ) {
    super(`HTTP ${code}`);
  }
}

/** A fake API server object store that applies JSON patches with real `test` semantics. */
function fakeKube(initial: { finalizers: string[]; deletionTimestamp?: string } | undefined, hooks: { beforePatch?: (n: number) => void } = {}) {
  let obj = initial ? { metadata: { name: 'cr1', resourceVersion: '1', ...initial } } : undefined;
  const patches: unknown[] = [];
  const calls: string[] = [];
  let patchCount = 0;
  const custom = {
    async getClusterCustomObject() {
      calls.push('get');
      if (!obj) throw new ApiError(404);
      return structuredClone(obj);
    },
    async patchClusterCustomObject(p: { body: Array<{ op: string; path: string; value?: string }> }, options: unknown) {
      calls.push('patch');
      patches.push({ body: p.body, options });
      hooks.beforePatch?.(++patchCount);
      if (!obj) throw new ApiError(404);
      const fins = [...obj.metadata.finalizers];
      for (const op of p.body) {
        const i = Number(op.path.split('/').pop());
        if (op.op === 'test' && fins[i] !== op.value) throw new ApiError(422, { message: 'test failed' });
        if (op.op === 'remove') fins.splice(i, 1);
      }
      obj.metadata.finalizers = fins;
      return obj;
    },
    async deleteClusterCustomObject() {
      calls.push('delete');
      if (!obj) throw new ApiError(404);
      obj.metadata.deletionTimestamp = 'now';
      return {};
    },
  };
  return {
    kube: withCalls({ custom, server: 'https://127.0.0.1:1', kc: {} }) as unknown as FinalizerKube,
    patches,
    calls,
    current: () => obj,
    set: (f: string[]) => {
      if (obj) obj.metadata.finalizers = f;
    },
  };
}

describe('finalizerPatch', () => {
  it('tests the index before removing it', () => {
    expect(finalizerPatch(FIN, 2)).toEqual([
      { op: 'test', path: '/metadata/finalizers/2', value: FIN },
      { op: 'remove', path: '/metadata/finalizers/2' },
    ]);
  });
});

describe('removeFinalizer', () => {
  it('removes exactly the named finalizer and keeps the others, with a JSON patch', async () => {
    const f = fakeKube({ finalizers: ['a.io/x', FIN, 'b.io/y'] });
    expect(await removeFinalizer(f.kube, ref, FIN)).toBe('removed');
    expect(f.current()!.metadata.finalizers).toEqual(['a.io/x', 'b.io/y']);
    expect(f.calls).not.toContain('update');
    const sent = f.patches[0] as { body: unknown };
    expect(sent.body).toEqual(finalizerPatch(FIN, 1));
  });

  it('re-reads and retries when the list changed under it (test op fails), never removing another entry', async () => {
    const f = fakeKube({ finalizers: [FIN] }, {
      // Someone prepends a finalizer right before our first patch lands.
      beforePatch: (n) => {
        if (n === 1) f.set(['other.io/first', FIN]);
      },
    });
    expect(await removeFinalizer(f.kube, ref, FIN)).toBe('removed');
    expect(f.current()!.metadata.finalizers).toEqual(['other.io/first']);
    expect(f.patches).toHaveLength(2);
  });

  it('not-present and gone are results, not errors', async () => {
    expect(await removeFinalizer(fakeKube({ finalizers: ['x.io/y'] }).kube, ref, FIN)).toBe('not-present');
    expect(await removeFinalizer(fakeKube(undefined).kube, ref, FIN)).toBe('gone');
  });

  it('a 403 is a classified error naming verb and resource', async () => {
    const f = fakeKube({ finalizers: [FIN] }, {
      beforePatch: () => {
        throw new ApiError(403, { message: 'forbidden' });
      },
    });
    await expect(removeFinalizer(f.kube, ref, FIN)).rejects.toMatchObject({ kind: 'forbidden', message: expect.stringContaining('patch clusteraliyunpipelineconfigs.telemetry.alibabacloud.com "cr1"') });
  });
});

describe('deleteCustomObject', () => {
  it('is idempotent', async () => {
    const f = fakeKube({ finalizers: [FIN] });
    expect(await deleteCustomObject(f.kube, ref)).toBe('deleted');
    expect(await deleteCustomObject(f.kube, ref)).toBe('already-deleting');
    expect(await deleteCustomObject(fakeKube(undefined).kube, ref)).toBe('already-gone');
  });
});

describe('collectionPath', () => {
  it('cluster-scoped, namespaced and core', () => {
    expect(collectionPath(ref)).toBe('/apis/telemetry.alibabacloud.com/v1alpha1/clusteraliyunpipelineconfigs');
    expect(collectionPath({ group: 'log.alibabacloud.com', version: 'v1alpha1', plural: 'aliyunlogconfigs', namespace: 'ns' })).toBe('/apis/log.alibabacloud.com/v1alpha1/namespaces/ns/aliyunlogconfigs');
    expect(collectionPath({ group: '', version: 'v1', plural: 'pods', namespace: 'ns' })).toBe('/api/v1/namespaces/ns/pods');
  });
});
