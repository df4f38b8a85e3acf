import { describe, expect, it } from 'vitest';
import { selectNodes, tolerates, untoleratedTaints } from '../../../src/net/nodes.js';
import { node } from '../preflight/helpers.js';

describe('tolerates (Kubernetes semantics)', () => {
  const taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
  it.each([
    [{ operator: 'Exists' }, true],
    [{ key: 'dedicated', operator: 'Exists' }, true],
    [{ key: 'dedicated', operator: 'Equal', value: 'gpu' }, true],
    [{ key: 'dedicated', value: 'gpu' }, true],
    [{ key: 'dedicated', operator: 'Equal', value: 'db' }, false],
    [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, false],
    [{ key: 'other', operator: 'Exists' }, false],
    [{ operator: 'Equal', value: 'gpu' }, false],
  ])('%o → %s', (tol, want) => expect(tolerates(tol, taint)).toBe(want));
  it('ignores PreferNoSchedule taints', () => {
    expect(untoleratedTaints(node('n', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }] }), [])).toEqual([]);
  });
});

describe('selectNodes', () => {
  const zone = (n: string, z: string) => node(n, { labels: { 'topology.kubernetes.io/zone': z } });
  it('excludes tainted, cordoned, NotReady and unselected nodes, saying why', () => {
    const s = selectNodes(
      [node('ok'), node('tainted', { taints: [{ key: 'x', effect: 'NoSchedule' }] }), node('cordoned', { unschedulable: true }), node('down', { ready: false }), node('other', { labels: { pool: 'b' } })],
      { nodeSelector: {}, tolerations: [] },
    );
    expect(s.selected.map((n) => n.metadata!.name)).toEqual(['ok', 'other']);
    expect(s.excluded.map((e) => e.node).sort()).toEqual(['cordoned', 'down', 'tainted']);
    expect(s.excluded.find((e) => e.node === 'tainted')!.reason).toContain('x:NoSchedule');
  });
  it('honours the node selector', () => {
    const s = selectNodes([node('a', { labels: { pool: 'b' } }), node('c')], { nodeSelector: { pool: 'b' } });
    expect(s.selected.map((n) => n.metadata!.name)).toEqual(['a']);
  });
  it('samples across zones, deterministically', () => {
    const nodes = [zone('a1', 'a'), zone('a2', 'a'), zone('a3', 'a'), zone('b1', 'b'), zone('c1', 'c'), zone('c2', 'c')];
    const s = selectNodes(nodes, {}, 4);
    expect(s.selected.map((n) => n.metadata!.name)).toEqual(['a1', 'b1', 'c1', 'a2']);
    expect(s.sampledOut).toBe(2);
    expect(selectNodes([...nodes].reverse(), {}, 4).selected.map((n) => n.metadata!.name)).toEqual(['a1', 'b1', 'c1', 'a2']);
  });
});
