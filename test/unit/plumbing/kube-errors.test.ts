import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ExitCode, InsightError } from '../../../src/errors.js';
import { classifyKubeError, isNotFound, kubeCall, kubeCalls } from '../../../src/kube/errors.js';
import { withCalls } from '../../support/kube.js';
import { RawApiError } from '../../../src/kube/proxy.js';

const op = { verb: 'create', resource: 'clusterroles.rbac.authorization.k8s.io', name: 'x' };
const status = (code: number, reason: string, message: string) =>
  new ApiException(code, 'failed', JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message }), {});

describe('classifyKubeError', () => {
  it('401 is an unauthorized cluster error with a credentials hint', () => {
    const e = classifyKubeError(status(401, 'Unauthorized', 'Unauthorized'), op);
    expect(e.kind).toBe('unauthorized');
    expect(e.exitCode).toBe(ExitCode.Cluster);
    expect(e.hint).toMatch(/kubectl auth whoami/);
  });

  it('403 names the verb and resource and the RBAC rule that is missing', () => {
    const e = classifyKubeError(
      status(403, 'Forbidden', 'clusterroles.rbac.authorization.k8s.io is forbidden: User "dev" cannot create resource "clusterroles"'),
      op,
    );
    expect(e.kind).toBe('forbidden');
    expect(e.exitCode).toBe(ExitCode.Forbidden);
    expect(e.message).toContain('cannot create clusterroles.rbac.authorization.k8s.io "x"');
    expect(e.hint).toContain('apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterroles"], verbs: ["create"]');
    expect(e.hint).toContain('kubectl auth can-i create clusterroles.rbac.authorization.k8s.io');
  });

  it('a 403 from an admission webhook or policy is said to be a policy, not a missing RBAC rule', () => {
    for (const m of [
      'admission webhook "validate.kyverno.svc" denied the request: deleting namespaces is not allowed',
      'namespaces "x" is forbidden: ValidatingAdmissionPolicy \'no-delete\' with binding \'b\' denied request: nope',
    ]) {
      const e = classifyKubeError(status(403, 'Forbidden', m), op);
      expect(e.kind).toBe('forbidden');
      expect(e.message).toMatch(/^refused by an admission policy: cannot create/);
      expect(e.hint).not.toContain('RBAC rule');
      expect(e.hint).toMatch(/admission webhook or a ValidatingAdmissionPolicy/);
    }
  });

  it('404, 409, 429 and 5xx map to their kinds', () => {
    expect(classifyKubeError(status(404, 'NotFound', 'not found'), op).kind).toBe('not-found');
    expect(classifyKubeError(status(409, 'AlreadyExists', 'exists'), op).kind).toBe('conflict');
    expect(classifyKubeError(status(429, 'TooManyRequests', 'slow down'), op).message).toMatch(/throttling/);
    const e = classifyKubeError(status(503, 'ServiceUnavailable', 'etcd down'), op);
    expect(e.kind).toBe('server');
    expect(e.message).toContain('503 ServiceUnavailable');
  });

  it('a refused connection is an unreachable cluster naming the server', () => {
    const refused = Object.assign(new Error('request failed, reason: connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const e = classifyKubeError(refused, op, 'https://127.0.0.1:1');
    expect(e.kind).toBe('unreachable');
    expect(e.exitCode).toBe(ExitCode.Cluster);
    expect(e.message).toContain('https://127.0.0.1:1');
  });

  it('a certificate failure is reported as TLS, not as a generic failure', () => {
    const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(classifyKubeError(tls, op).message).toMatch(/TLS/);
  });
});

describe('kubeCall', () => {
  const noSleep = async () => {};

  it('retries 5xx and 429 for idempotent calls, then succeeds', async () => {
    let n = 0;
    const r = await kubeCall(op, async () => {
      n++;
      if (n === 1) throw status(503, 'ServiceUnavailable', 'x');
      if (n === 2) throw status(429, 'TooManyRequests', 'x');
      return 'ok';
    }, { idempotent: true, sleep: noSleep });
    expect(r).toBe('ok');
    expect(n).toBe(3);
  });

  it('never retries a non-idempotent call', async () => {
    let n = 0;
    await expect(kubeCall(op, async () => {
      n++;
      throw status(503, 'ServiceUnavailable', 'x');
    }, { idempotent: false, sleep: noSleep })).rejects.toBeInstanceOf(InsightError);
    expect(n).toBe(1);
  });

  it('does not retry 403 and gives up after the attempt limit', async () => {
    let n = 0;
    await expect(kubeCall(op, async () => {
      n++;
      throw status(403, 'Forbidden', 'no');
    }, { idempotent: true, sleep: noSleep })).rejects.toMatchObject({ kind: 'forbidden' });
    expect(n).toBe(1);
    n = 0;
    await expect(kubeCall(op, async () => {
      n++;
      throw status(500, 'InternalError', 'boom');
    }, { idempotent: true, attempts: 3, sleep: noSleep })).rejects.toMatchObject({ kind: 'server' });
    expect(n).toBe(3);
  });

  it('honours Retry-After on 429', async () => {
    const waits: number[] = [];
    let n = 0;
    await kubeCall(op, async () => {
      if (n++ === 0) throw new ApiException(429, 'x', '{}', { 'retry-after': '2' });
      return 1;
    }, { idempotent: true, sleep: async (ms) => void waits.push(ms) });
    expect(waits).toEqual([2000]);
  });

  it('caps a Retry-After at 10 s, and never retries a 429 the raw client already waited out', async () => {
    const waits: number[] = [];
    let n = 0;
    await kubeCall(op, async () => {
      if (n++ === 0) throw new ApiException(429, 'x', '{}', { 'retry-after': '3600' });
      return 1;
    }, { idempotent: true, sleep: async (ms) => void waits.push(ms) });
    expect(waits).toEqual([10_000]);
    let calls = 0;
    await expect(kubeCall(op, async () => {
      calls++;
      throw new RawApiError(429, '{}', { 'retry-after': '1' }, true);
    }, { idempotent: true, sleep: noSleep })).rejects.toMatchObject({ kind: 'server' });
    expect(calls).toBe(1);
    // The same 429 not yet waited out (a write's) is retried as before.
    calls = 0;
    await expect(kubeCall(op, async () => {
      calls++;
      throw new RawApiError(429, '{}', {}, false);
    }, { idempotent: true, attempts: 3, sleep: noSleep })).rejects.toMatchObject({ kind: 'server' });
    expect(calls).toBe(3);
  });
});

describe('isNotFound', () => {
  it('a raw 404, a classified not-found, or a wrapped 404; nothing else', () => {
    const raw = status(404, 'NotFound', 'gone');
    expect(isNotFound(raw)).toBe(true);
    expect(isNotFound(classifyKubeError(raw, op))).toBe(true);
    expect(isNotFound(new InsightError('failed', 'x', { cause: raw }))).toBe(true);
    expect(isNotFound(status(403, 'Forbidden', 'no'))).toBe(false);
    expect(isNotFound(new Error('404'))).toBe(false);
  });
});

describe('the calls bound to a server (Kube.call, ifFound, delete)', () => {
  const noSleep = async () => {};
  const k = kubeCalls('https://api.example:6443');

  it('call retries by default, not when told the call is not idempotent, and names the server when unreachable', async () => {
    let n = 0;
    const flaky = async () => {
      if (n++ === 0) throw status(503, 'ServiceUnavailable', 'x');
      return 'ok';
    };
    expect(await k.call(op, flaky, { sleep: noSleep })).toBe('ok');
    n = 0;
    await expect(k.call(op, flaky, { idempotent: false, sleep: noSleep })).rejects.toMatchObject({ kind: 'server' });
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await expect(k.call(op, async () => Promise.reject(refused), { attempts: 1 })).rejects.toThrow(/at https:\/\/api\.example:6443/);
  });

  it('ifFound answers a 404 with undefined and throws anything else', async () => {
    expect(await k.ifFound(op, async () => Promise.reject(status(404, 'NotFound', 'gone')))).toBeUndefined();
    expect(await k.ifFound(op, async () => 'here')).toBe('here');
    await expect(k.ifFound(op, async () => Promise.reject(status(403, 'Forbidden', 'no')))).rejects.toMatchObject({ kind: 'forbidden' });
  });

  it('delete says whether it deleted or the object was gone, and names the delete verb in errors', async () => {
    const target = { resource: 'namespaces', name: 'x' };
    expect(await k.delete(target, async () => undefined)).toBe('deleted');
    expect(await k.delete(target, async () => Promise.reject(status(404, 'NotFound', 'gone')))).toBe('already-gone');
    await expect(k.delete(target, async () => Promise.reject(status(403, 'Forbidden', 'no')))).rejects.toThrow(/^forbidden: cannot delete namespaces "x"/);
  });

  it('withCalls adds the methods to a kube that has only a server, and keeps a kube that has them', () => {
    const bare = withCalls({ server: 'https://s', core: {} });
    expect(typeof bare.call).toBe('function');
    expect(bare.core).toEqual({});
    expect(withCalls(bare)).toBe(bare);
  });
});
