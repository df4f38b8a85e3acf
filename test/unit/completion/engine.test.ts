import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedFlags } from '../../../src/base-command.js';
import { REGIONS } from '../../../src/cloud/regions.js';
import { commands } from '../../../src/commands.js';
import { complete, type CompletionSources, type LineConnection } from '../../../src/completion/engine.js';
import { Directive } from '../../../src/completion/protocol.js';
import { treeFromConfig, type CompletionCommand } from '../../../src/completion/tree.js';
import { valueFlags } from '../../../src/values/flags.js';

// The tree as the plugin sees it: oclif's loaded config (the manifest `npm run build` writes).
const root = fileURLToPath(new URL('../../..', import.meta.url));
let tree: CompletionCommand[];
beforeAll(async () => {
  tree = treeFromConfig((await Config.load(root)).commands);
});

/** Sources that record what they were asked for. */
function fakeSources(o: { namespaces?: () => Promise<readonly string[]>; contexts?: () => { name: string; cluster: string; current: boolean }[] } = {}) {
  const asked: { namespaces: LineConnection[]; contexts: LineConnection[] } = { namespaces: [], contexts: [] };
  const sources: CompletionSources = {
    regions: () => REGIONS,
    contexts: (c) => {
      asked.contexts.push(c);
      return o.contexts ? o.contexts() : [{ name: 'prod-hz', cluster: 'hz', current: true }, { name: 'staging', cluster: 'st', current: false }];
    },
    namespaces: (c) => {
      asked.namespaces.push(c);
      return o.namespaces ? o.namespaces() : Promise.resolve(['default', 'kube-public', 'kube-system', 'cms-monitoring']);
    },
  };
  return { sources, asked };
}

const run = async (line: string[], sources: CompletionSources = fakeSources().sources) => complete(line, tree, sources);
const values = async (line: string[], sources?: CompletionSources) => (await run(line, sources)).candidates.map((c) => c.value);

describe('the tree comes from oclif config', () => {
  it('has every command of src/commands.ts (a stale manifest would fail here)', () => {
    expect(tree.map((c) => c.id).sort()).toEqual(Object.keys(commands).sort());
  });

  it('has the shared flags on every command, hidden flags on none', () => {
    for (const c of tree) {
      if (c.hidden) continue;
      expect(c.flags.map((f) => f.name)).toEqual(expect.arrayContaining(Object.keys(sharedFlags)));
      expect(c.flags.map((f) => f.name)).not.toContain('access-key-secret');
    }
  });
});

describe('command names', () => {
  it('offers every visible command with its summary, no file names', async () => {
    const r = await run(['']);
    const visible = Object.entries(commands).filter(([, c]) => !c.hidden);
    expect(r.candidates.map((c) => c.value).sort()).toEqual(visible.map(([id]) => id).sort());
    expect(r.candidates.find((c) => c.value === 'doctor')?.description).toBe(commands.doctor.summary);
    expect(r.directive).toBe(Directive.NoFileComp);
  });

  it('completes a prefix', async () => {
    expect(await values(['doc'])).toEqual(['doctor']);
    expect((await values(['u'])).sort()).toEqual(['uninstall', 'upgrade']);
    expect(await values(['comp'])).toEqual(['completion']);
  });

  it('never offers a hidden command (__complete)', async () => {
    expect(await values(['__'])).toEqual([]);
    expect(await values([''])).not.toContain('__complete');
  });

  it('offers topics once and the commands under them, from the tree alone', async () => {
    const t: CompletionCommand[] = [
      { id: 'fleet:status', summary: 'Status.', hidden: false, flags: [] },
      { id: 'fleet:run', summary: 'Run.', hidden: false, flags: [] },
      { id: 'fleet:secret', hidden: true, flags: [] },
      { id: 'doctor', summary: 'Doctor.', hidden: false, flags: [] },
    ];
    const s = fakeSources().sources;
    expect((await complete([''], t, s)).candidates.map((c) => c.value)).toEqual(['fleet', 'doctor']);
    expect((await complete(['fleet', ''], t, s)).candidates).toEqual([{ value: 'status', description: 'Status.' }, { value: 'run', description: 'Run.' }]);
  });

  it('offers nothing after the command (no command takes arguments), and no file names', async () => {
    expect(await run(['doctor', ''])).toEqual({ candidates: [], directive: Directive.NoFileComp });
  });

  it('before a command, a dash offers only what oclif answers there', async () => {
    expect(await values(['--'])).toEqual(['--help', '--version']);
  });
});

describe('flag names', () => {
  it('offers the command\'s own and the shared flags, long names with their summaries', async () => {
    const r = await run(['doctor', '--']);
    const names = r.candidates.map((c) => c.value);
    for (const f of ['--fail-on', '--watch', '--cloud', '--kubeconfig', '--context', '--namespace', '--output', '--no-color', '--help']) expect(names).toContain(f);
    expect(names).not.toContain('--region'); // install's, not doctor's
    expect(r.candidates.find((c) => c.value === '--fail-on')?.description).toBe('Lowest severity that makes the exit code 1.');
    expect(r.directive).toBe(Directive.NoFileComp);
    expect(names.every((n) => n.startsWith('--'))).toBe(true);
  });

  it('offers short names too after a single dash', async () => {
    const names = await values(['doctor', '-']);
    expect(names).toEqual(expect.arrayContaining(['-n', '-o', '-v', '-y', '--namespace']));
  });

  it('completes a prefix', async () => {
    expect((await values(['doctor', '--wat'])).sort()).toEqual(['--watch', '--watch-interval', '--watch-timeout']);
  });

  it('never offers a hidden flag', async () => {
    expect(await values(['install', '--access-key-s'])).toEqual(['--access-key-secret-stdin']);
  });

  it('does not offer a flag already given (long, short, --flag=value, --no-x)', async () => {
    expect(await values(['doctor', '--output', 'json', '--out'])).toEqual([]);
    expect(await values(['doctor', '-o', 'json', '--out'])).toEqual([]);
    expect(await values(['doctor', '--output=json', '--out'])).toEqual([]);
    expect(await values(['doctor', '-vy', '--ver'])).toEqual(['--verify-timeout']);
    expect(await values(['doctor', '-vy', '--y'])).toEqual([]);
    expect(await values(['install', '--no-node-exporter', '--node-'])).toEqual([]);
    expect(await values(['doctor', '--fail-on', 'warning', '--fail'])).toEqual([]);
    // Not given: still offered.
    expect(await values(['doctor', '--out'])).toEqual(['--output']);
  });

  it('offers a repeatable flag again', async () => {
    expect(await values(['install', '-f', 'a.yaml', '--val'])).toEqual(['--values']);
    expect(await values(['doctor', '--only', 'pods', '--onl'])).toEqual(['--only']);
  });

  it('offers --context again on the fleet commands only (the others refuse a second one)', async () => {
    expect(await values(['doctor', '--context', 'a', '--context'])).toContain('--context');
    expect(await values(['install', '--context', 'a', '--context'])).toEqual([]);
  });

  it('leaves out flags that cannot go with one given', async () => {
    const names = await values(['doctor', '--all-contexts', '--']);
    expect(names).not.toContain('--context');
    expect(names).not.toContain('--contexts-file');
    expect(await values(['doctor', '--context', 'a', '--all'])).toEqual(['--all-monitors']);
  });

  it('offers the --no- forms once --no- is typed', async () => {
    expect(await values(['install', '--no-'])).toEqual(expect.arrayContaining(['--no-color', '--no-entity-collector', '--no-node-exporter']));
    expect(await values(['install', '--'])).not.toContain('--no-node-exporter');
  });

  it('offers nothing after --', async () => {
    expect(await run(['doctor', '--', '--'])).toEqual({ candidates: [], directive: Directive.NoFileComp });
    expect(await run(['doctor', '--', ''])).toEqual({ candidates: [], directive: Directive.NoFileComp });
  });
});

describe('flag values', () => {
  it('offers the options of the flag definitions (--output, --fail-on, --net)', async () => {
    expect(await values(['doctor', '--output', ''])).toEqual([...sharedFlags.output.options!]);
    expect(await values(['doctor', '-o', ''])).toEqual([...sharedFlags.output.options!]);
    expect(await values(['doctor', '--fail-on', ''])).toEqual([...commands.doctor.flags['fail-on'].options!]);
    expect(await values(['doctor', '--fail-on', 'w'])).toEqual(['warning']);
    expect(await values(['install', '--net', ''])).toEqual([...valueFlags.net.options!]);
    expect((await run(['install', '--net', 'Int'])).directive).toBe(Directive.NoFileComp);
  });

  it('completes --flag=value: the values alone, as Cobra returns them', async () => {
    expect(await values(['doctor', '--output=j'])).toEqual(['json']);
    expect(await values(['doctor', '--output='])).toEqual(['text', 'json']);
    expect(await values(['install', '--region=ap-north'])).toEqual(['ap-northeast-1', 'ap-northeast-2']);
    expect(await run(['doctor', '--nosuch=x'])).toEqual({ candidates: [], directive: Directive.NoFileComp });
  });

  it('offers the known regions with their names', async () => {
    const r = await run(['install', '--region', 'cn-h']);
    expect(r.candidates).toEqual(REGIONS.filter((x) => x.id.startsWith('cn-h')).map((x) => ({ value: x.id, description: x.name })));
    expect(r.candidates.length).toBeGreaterThan(1);
    expect((await values(['install', '--region', ''])).length).toBe(REGIONS.length);
  });

  it('offers kubeconfig contexts, for --kubeconfig as given earlier on the line', async () => {
    const { sources, asked } = fakeSources();
    const r = await run(['doctor', '--kubeconfig', '/tmp/kc', '--context', ''], sources);
    expect(r.candidates).toEqual([{ value: 'prod-hz', description: 'cluster hz (current)' }, { value: 'staging', description: 'cluster st' }]);
    expect(asked.contexts).toEqual([{ kubeconfig: '/tmp/kc' }]);
    expect(await values(['doctor', '--context=st'], sources)).toEqual(['staging']);
  });

  it('offers no contexts, quietly, when kubeconfig cannot be read', async () => {
    const { sources } = fakeSources({ contexts: () => { throw new Error('no kubeconfig found'); } });
    expect(await run(['doctor', '--context', ''], sources)).toEqual({ candidates: [], directive: Directive.NoFileComp });
  });

  it('offers the cluster\'s namespaces, asking the cluster of --kubeconfig/--context given earlier', async () => {
    const { sources, asked } = fakeSources();
    expect(await values(['doctor', '--kubeconfig=/k', '--context', 'c2', '-n', 'kube-'], sources)).toEqual(['kube-public', 'kube-system']);
    expect(asked.namespaces).toEqual([{ kubeconfig: '/k', context: 'c2' }]);
    expect(await values(['doctor', '--namespace=cms'], sources)).toEqual(['cms-monitoring']);
    expect(await values(['preflight', '--probe-namespace', 'def'], sources)).toEqual(['default']);
  });

  it('offers no namespaces, quietly, when the cluster cannot be asked', async () => {
    const { sources } = fakeSources({ namespaces: () => Promise.reject(new Error('connect ECONNREFUSED')) });
    expect(await run(['doctor', '-n', ''], sources)).toEqual({ candidates: [], directive: Directive.NoFileComp });
  });

  it('asks no source for a word that is not a value of its flag', async () => {
    const { sources, asked } = fakeSources();
    await run(['doctor', '--watch', ''], sources); // boolean: the next word is not its value
    await run(['doctor', '-n', 'ns', '--context', 'c', ''], sources);
    expect(asked).toEqual({ namespaces: [], contexts: [] });
  });

  it('lets the shell complete file names for flags that take a path', async () => {
    for (const line of [['install', '-f', ''], ['install', '--values', 'x'], ['doctor', '--contexts-file', ''], ['doctor', '--kubeconfig', ''], ['bundle', '--output-file', ''], ['install', '--chart', './'], ['doctor', '--helm-binary=']]) {
      expect(await run(line), line.join(' ')).toEqual({ candidates: [], directive: Directive.Default });
    }
  });

  it('offers nothing, and no file names, for a free value', async () => {
    expect(await run(['install', '--cluster-id', ''])).toEqual({ candidates: [], directive: Directive.NoFileComp });
    expect(await run(['install', '--access-key-secret=', ''])).toEqual({ candidates: [], directive: Directive.NoFileComp });
  });

  it('never hands back a word that was typed (a secret pasted on the line)', async () => {
    const secret = 'sEcReT0123456789abcdef';
    for (const line of [['install', `--access-key-secret=${secret}`], ['install', '--access-key-secret', secret], [secret], ['install', '--cluster-id', secret], ['install', secret, '']]) {
      const r = await run(line);
      expect(JSON.stringify(r)).not.toContain(secret);
    }
  });
});
