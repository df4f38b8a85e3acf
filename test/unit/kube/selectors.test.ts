import { describe, expect, it } from 'vitest';
import { describeSelector, matchesMap, matchesSelector, selectorString } from '../../../src/kube/selectors.js';

const labels = { app: 'web', tier: 'front' };

describe('matchesSelector', () => {
  it('matchLabels: every pair must hold', () => {
    expect(matchesSelector(labels, { matchLabels: { app: 'web' } })).toBe(true);
    expect(matchesSelector(labels, { matchLabels: { app: 'web', tier: 'back' } })).toBe(false);
    expect(matchesSelector(undefined, { matchLabels: { app: 'web' } })).toBe(false);
  });
  it('In: the key is present with one of the values', () => {
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'mid'] }] })).toBe(true);
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] })).toBe(false);
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] })).toBe(false);
  });
  it('NotIn: absent, or present with none of the values', () => {
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['back'] }] })).toBe(true);
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] })).toBe(true);
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] })).toBe(false);
  });
  it('Exists and DoesNotExist look at the key only', () => {
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'app', operator: 'Exists' }] })).toBe(true);
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'zone', operator: 'Exists' }] })).toBe(false);
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] })).toBe(true);
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] })).toBe(false);
    expect(matchesSelector({ gpu: '' }, { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] })).toBe(true);
  });
  it('matchLabels and matchExpressions must all hold', () => {
    expect(matchesSelector(labels, { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] })).toBe(false);
  });
  it('no selector selects nothing, an empty one everything, an unknown operator nothing', () => {
    expect(matchesSelector(labels, undefined)).toBe(false);
    expect(matchesSelector(labels, {})).toBe(true);
    expect(matchesSelector(labels, { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] })).toBe(false);
  });
  it('a nodeSelector map is matchLabels', () => {
    expect(matchesSelector({ 'kubernetes.io/os': 'linux' }, { matchLabels: { 'kubernetes.io/os': 'linux' } })).toBe(true);
    expect(matchesSelector({ 'kubernetes.io/os': 'linux' }, { matchLabels: {} })).toBe(true);
  });
});

describe('matchesMap (a Service selector)', () => {
  it('an empty or missing map selects nothing', () => {
    expect(matchesMap(labels, { app: 'web' })).toBe(true);
    expect(matchesMap(labels, {})).toBe(false);
    expect(matchesMap(labels, undefined)).toBe(false);
  });
});

describe('selectorString', () => {
  it('writes the API query syntax for every operator', () => {
    expect(
      selectorString({
        matchLabels: { a: 'b' },
        matchExpressions: [
          { key: 'c', operator: 'In', values: ['x', 'y'] },
          { key: 'd', operator: 'NotIn', values: ['z'] },
          { key: 'e', operator: 'Exists' },
          { key: 'f', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('a=b,c in (x,y),d notin (z),e,!f');
    expect(selectorString({})).toBe('');
    expect(selectorString(undefined)).toBe('');
  });
  it('describeSelector names the missing and the empty selector', () => {
    expect(describeSelector(undefined)).toBe('<none>');
    expect(describeSelector({ matchLabels: {} })).toBe('<everything>');
    expect(describeSelector({ matchLabels: { app: 'web' } })).toBe('app=web');
  });
});
