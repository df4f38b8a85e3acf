// Which contexts a fleet run checks: the merged kubeconfig's, in kubectl's order; a contexts file's
// columns; every bad name or line refused before anything is contacted.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InsightError } from '../../../src/errors.js';
import { isFleet, parseContextsFile, resolveTargets } from '../../../src/fleet/targets.js';

const dir = mkdtempSync(join(tmpdir(), 'fleet-targets-'));
function kubeconfig(name: string, contexts: Array<[string, string]>, clusters: Array<[string, string]>, current?: string): string {
  const f = join(dir, name);
  writeFileSync(
    f,
    [
      'apiVersion: v1',
      'kind: Config',
      ...(current ? [`current-context: ${current}`] : []),
      'clusters:',
      ...clusters.map(([n, s]) => `- {name: ${n}, cluster: {server: "${s}"}}`),
      'users: [{name: u, user: {token: t}}]',
      'contexts:',
      ...contexts.map(([n, c]) => `- {name: ${n}, context: {cluster: ${c}, user: u}}`),
    ].join('\n'),
  );
  return f;
}
const first = kubeconfig('one', [['prod', 'p'], ['stage', 's']], [['p', 'https://10.0.0.1:6443'], ['s', 'https://10.0.0.2:6443']], 'stage');
// The second file repeats "prod" pointing elsewhere: kubectl keeps the first file's.
const second = kubeconfig('two', [['prod', 'x'], ['dev', 'd']], [['x', 'https://10.9.9.9:6443'], ['d', 'https://10.0.0.3:6443']]);
const defaults = { namespace: 'cms-monitoring', release: 'insight' };
const env = { KUBECONFIG: [first, second].join(delimiter), HOME: dir };

function usage(fn: () => unknown): InsightError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InsightError);
    return e as InsightError;
  }
  throw new Error('no error');
}

describe('fleet mode is asked for', () => {
  it('by --all-contexts, --contexts-file or a second --context; not by one --context', () => {
    expect(isFleet({})).toBe(false);
    expect(isFleet({ contexts: ['a'] })).toBe(false);
    expect(isFleet({ contexts: ['a', 'b'] })).toBe(true);
    expect(isFleet({ allContexts: true })).toBe(true);
    expect(isFleet({ contextsFile: 'f' })).toBe(true);
  });
});

describe('resolveTargets', () => {
  it('--all-contexts: every context of the merged files, first file first, a repeated name once with the first file’s cluster', () => {
    const t = resolveTargets({ allContexts: true, ...defaults, env });
    expect(t.map((x) => [x.context, x.server])).toEqual([
      ['prod', 'https://10.0.0.1:6443'],
      ['stage', 'https://10.0.0.2:6443'],
      ['dev', 'https://10.0.0.3:6443'],
    ]);
    expect(t.every((x) => x.namespace === 'cms-monitoring' && x.release === 'insight')).toBe(true);
  });

  it('--kubeconfig alone replaces $KUBECONFIG, as kubectl does', () => {
    expect(resolveTargets({ allContexts: true, kubeconfig: second, ...defaults, env }).map((x) => x.context)).toEqual(['prod', 'dev']);
  });

  it('--context in the order given, each listed once', () => {
    expect(resolveTargets({ contexts: ['dev', 'prod', 'dev'], ...defaults, env }).map((x) => x.context)).toEqual(['dev', 'prod']);
  });

  it('refuses every unknown context at once, naming the known ones', () => {
    const e = usage(() => resolveTargets({ contexts: ['prod', 'nope', 'also-nope'], ...defaults, env }));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe('contexts not in kubeconfig: "nope" (--context), "also-nope" (--context)');
    expect(e.hint).toContain('prod, stage, dev');
  });

  it('a contexts file adds its lines after the flags, with their own namespace and release', () => {
    const f = join(dir, 'clusters.txt');
    writeFileSync(f, '# fleet\nprod\n\nstage  monitoring   # staging has its own namespace\ndev - other-release\nprod\n');
    const t = resolveTargets({ contexts: ['dev'], contextsFile: f, ...defaults, env });
    expect(t.map((x) => [x.context, x.namespace, x.release])).toEqual([
      ['dev', 'cms-monitoring', 'insight'],
      ['prod', 'cms-monitoring', 'insight'],
      ['stage', 'monitoring', 'insight'],
      ['dev', 'cms-monitoring', 'other-release'],
    ]);
  });

  it('a context in the file that kubeconfig lacks is named with its line', () => {
    const f = join(dir, 'typo.txt');
    writeFileSync(f, 'prod\nprdo\n');
    expect(usage(() => resolveTargets({ contextsFile: f, ...defaults, env })).message).toBe(`context not in kubeconfig: "prdo" (${f}:2)`);
  });

  it('an unreadable contexts file is one error', () => {
    expect(usage(() => resolveTargets({ contextsFile: join(dir, 'missing.txt'), ...defaults, env })).message).toMatch(/missing\.txt does not exist$/);
    mkdirSync(join(dir, 'adir'), { recursive: true });
    expect(usage(() => resolveTargets({ contextsFile: join(dir, 'adir'), ...defaults, env })).message).toMatch(/adir is not a file$/);
  });

  it('a kubeconfig without contexts has nothing for --all-contexts', () => {
    const empty = kubeconfig('empty', [], [['p', 'https://10.0.0.1:6443']]);
    expect(usage(() => resolveTargets({ allContexts: true, kubeconfig: empty, ...defaults, env })).message).toBe('--all-contexts: kubeconfig has no context');
  });

  it('a context whose cluster entry is missing is kept, with no server: the run reports it', () => {
    const broken = kubeconfig('broken', [['orphan', 'gone']], [['p', 'https://10.0.0.1:6443']]);
    expect(resolveTargets({ allContexts: true, kubeconfig: broken, ...defaults, env })).toEqual([{ context: 'orphan', server: '', namespace: 'cms-monitoring', release: 'insight' }]);
  });
});

describe('parseContextsFile', () => {
  it('CRLF line ends, tabs and trailing comments', () => {
    expect(parseContextsFile('a\tns1\r\nb # comment\r\n', 'f', defaults).map((x) => [x.context, x.namespace, x.where])).toEqual([
      ['a', 'ns1', 'f:1'],
      ['b', 'cms-monitoring', 'f:2'],
    ]);
  });

  it('a bad namespace or release names its line and column rule', () => {
    expect(usage(() => parseContextsFile('a\nb Bad_NS\n', 'f', defaults)).message).toBe('--contexts-file f:2: namespace "Bad_NS" is not a namespace name');
    expect(usage(() => parseContextsFile('a ns REL!\n', 'f', defaults)).message).toBe('--contexts-file f:1: release "REL!" is not a helm release name');
  });

  it('more than three columns, or no context at all, is refused', () => {
    expect(usage(() => parseContextsFile('a b c d\n', 'f', defaults)).message).toBe('--contexts-file f:1: 4 columns; a line is: context [namespace [release]]');
    expect(usage(() => parseContextsFile('# only comments\n\n', 'f', defaults)).message).toBe('--contexts-file f lists no context');
  });

  it('a # inside a name is part of it; only a # after a blank starts a comment', () => {
    expect(parseContextsFile('team#1 ns\n', 'f', defaults)[0]!.context).toBe('team#1');
  });
});
