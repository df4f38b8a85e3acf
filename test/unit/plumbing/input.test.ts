import { describe, expect, it } from 'vitest';
import { checkClusterId, checkImage, checkNamespace, checkRegistry, checkRelease } from '../../../src/input.js';
import { insightErrorOf } from '../../support/errors.js';

describe('flag values checked before use', () => {
  it('namespaces are DNS labels', () => {
    for (const ok of ['cms-monitoring', 'a', 'x1', 'a'.repeat(63)]) expect(checkNamespace(ok)).toBe(ok);
    for (const bad of ['', 'Cms', 'a_b', '-a', 'a-', 'a.b', 'a'.repeat(64), '../x']) expect(insightErrorOf(() => checkNamespace(bad))).toMatchObject({ kind: 'usage', exitCode: 2 });
  });
  it('release names follow helm (53 characters at most)', () => {
    for (const ok of ['aliyun-loongcollector-cluster-insight', 'a.b', 'r1']) expect(checkRelease(ok)).toBe(ok);
    for (const bad of ['', 'Bad_Release', 'a'.repeat(54), '.a', 'a b']) expect(insightErrorOf(() => checkRelease(bad)).message).toMatch(/is not a helm release name$/);
  });
  it('cluster IDs name a Kubernetes resource', () => {
    expect(checkClusterId('c1234567890abcdef')).toBe('c1234567890abcdef');
    for (const bad of ['UPPER', 'a/b', 'a'.repeat(94)]) expect(insightErrorOf(() => checkClusterId(bad)).message).toMatch(/is not a cluster ID$/);
  });
  it('images are references a kubelet can pull', () => {
    for (const ok of ['curl', 'registry-cn-hangzhou.ack.aliyuncs.com/dev/curl:8.11.1', 'localhost:5000/a/b@sha256:' + 'a'.repeat(64), 'r.example.com:443/x/y:1.0-rc.1'])
      expect(checkImage(ok)).toBe(ok);
    for (const bad of ['', 'no such image!', 'UPPER/path', 'a::b', 'x:' + 't'.repeat(200)]) expect(insightErrorOf(() => checkImage(bad)).message).toMatch(/is not an image reference$/);
  });
  it('registries are host[:port], optionally with a path, never a URL', () => {
    expect(checkRegistry('mirror.example.com:5000')).toBe('mirror.example.com:5000');
    expect(checkRegistry('mirror.example.com/prefix/')).toBe('mirror.example.com/prefix');
    for (const bad of ['https://mirror.example.com', 'mir ror', '']) expect(insightErrorOf(() => checkRegistry(bad)).message).toMatch(/is not a registry host$/);
  });
});
