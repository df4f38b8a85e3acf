import { describe, expect, it } from 'vitest';
import { collectionPath, deleteCustomObject, finalizerPatch, removeFinalizer, type CustomRef, type FinalizerKube } from '../../../src/kube/finalizers.js';
import { withCalls } from '../../support/kube.js';

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

/** JSON patch test/remove on a finalizer list, as the API server applies it (all or nothing; 422 when a test fails). */
function applyFinalizerPatch(finalizers: string[], ops: Array<{ op: string; path: string; value?: string }>): string[] {
  const fins = [...finalizers];
  for (const op of ops) {
    const i = Number(op.path.split('/').pop());
    if (op.op === 'test' && fins[i] !== op.value) throw new ApiError(422, { message: 'test failed' });
    if (op.op === 'remove') fins.splice(i, 1);
  }
  return fins;
}

/** A fake API server object store that applies JSON patches with real `test` semantics. */
function fakeKube(initial: { finalizers: string[]; deletionTimestamp?: string } | undefined, hooks: { beforePatch?: (n: number) => void } = {}) {
  const obj = initial ? { metadata: { name: 'cr1', resourceVersion: '1', ...initial } } : undefined;
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
      obj.metadata.finalizers = applyFinalizerPatch(obj.metadata.finalizers, p.body);
      return obj;
    },
    async deleteClusterCustomObject() {
      calls.push('delete');
      if (!obj) throw new ApiError(404);
      obj.metadata.deletionTimestamp = 'now';
      return {};
    },
  };
  // Any other method (a replace/update, a merge patch under another name) is recorded and fails, so
  // "only JSON patches" below is something the code can get wrong.
  const recording = new Proxy(custom, {
    get(target, name) {
      if (typeof name !== 'string' || name === 'then') return undefined;
      if (name in target) return target[name as keyof typeof target];
      return async () => {
        calls.push(name);
        throw new Error(`unexpected call ${name}`);
      };
    },
  });
  return {
    kube: withCalls({ custom: recording, server: 'https://127.0.0.1:1', kc: {} }) as unknown as FinalizerKube,
    patches,
    calls,
    current: () => obj,
    set: (f: string[]) => {
      if (obj) obj.metadata.finalizers = f;
    },
  };
}

describe('finalizerPatch', () => {
  it('removes the finalizer at that index, and only while that index still holds it', () => {
    expect(applyFinalizerPatch(['a.io/x', 'b.io/y', FIN], finalizerPatch(FIN, 2))).toEqual(['a.io/x', 'b.io/y']);
    // The list changed meanwhile (someone prepended one): the patch is refused rather than removing another entry.
    expect(() => applyFinalizerPatch(['new.io/z', 'a.io/x', 'b.io/y', FIN], finalizerPatch(FIN, 2))).toThrow(/HTTP 422/);
    expect(() => applyFinalizerPatch(['a.io/x'], finalizerPatch(FIN, 2))).toThrow(/HTTP 422/);
  });
});

describe('removeFinalizer', () => {
  it('removes exactly the named finalizer and keeps the others, with a JSON patch', async () => {
    const f = fakeKube({ finalizers: ['a.io/x', FIN, 'b.io/y'] });
    expect(await removeFinalizer(f.kube, ref, FIN)).toBe('removed');
    expect(f.current()!.metadata.finalizers).toEqual(['a.io/x', 'b.io/y']);
    expect(f.calls.filter((c) => c !== 'get')).toEqual(['patch']);
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
