import { describe, expect, it } from 'vitest';
import { exitCodeFor, runChecks, type Check, type CheckResult } from '../../../src/checks/engine.js';
import { renderHuman, renderJson } from '../../../src/output/report.js';
import { makeChalk } from '../../../src/output/style.js';
import { Secret } from '../../../src/secret.js';

interface Ctx {
  log: string[];
  version?: string;
}

const check = (id: string, category: string, run: Check<Ctx>['run'], extra: Partial<Check<Ctx>> = {}): Check<Ctx> => ({
  id,
  category,
  description: id,
  severity: 'fatal',
  run,
  ...extra,
});

describe('runChecks', () => {
  it('runs categories in order, lets earlier checks fill state for later ones, and reports to the observer', async () => {
    const ctx: Ctx = { log: [] };
    const seen: string[] = [];
    const report = await runChecks(
      [
        check('cluster.api', 'Cluster', async (c) => {
          c.version = '1.36.3';
          return { status: 'passed', message: 'API reachable' };
        }),
        check('cluster.version', 'Cluster', async (c) => ({ status: 'passed', message: `version ${c.version}` }), { needs: ['cluster.api'] }),
        check('rbac.install', 'RBAC', async () => ({ status: 'passed', message: 'allowed' })),
      ],
      ctx,
      { onCategory: (c) => seen.push(`cat:${c}`), onResult: (r) => seen.push(r.id) },
    );
    expect(seen).toEqual(['cat:Cluster', 'cluster.api', 'cluster.version', 'cat:RBAC', 'rbac.install']);
    expect(report.results.map((r) => r.message)).toEqual(['API reachable', 'version 1.36.3', 'allowed']);
    expect(exitCodeFor(report)).toBe(0);
  });

  it('skips a check whose dependency failed, and fails the run on a fatal failure only', async () => {
    const report = await runChecks(
      [
        check('cluster.api', 'Cluster', async () => ({ status: 'failed', message: 'unreachable' })),
        check('cluster.version', 'Cluster', async () => ({ status: 'passed', message: 'never runs' }), { needs: ['cluster.api'] }),
        check('conflicts.arms', 'Conflicts', async () => ({ status: 'failed', message: 'arms-prom present' }), { severity: 'warning' }),
      ],
      { log: [] },
    );
    expect(report.results.find((r) => r.id === 'cluster.version')).toMatchObject({ status: 'skipped', message: expect.stringContaining('needs cluster.api') });
    expect(report.summary).toEqual({ passed: 0, failed: 1, warnings: 1, skipped: 1, info: 0 });
    expect(exitCodeFor(report)).toBe(1);
  });

  it('--fail-on warning turns warnings into failures', async () => {
    const report = await runChecks([check('w', 'X', async () => ({ status: 'failed', message: 'w' }), { severity: 'warning' })], { log: [] });
    expect(exitCodeFor(report, 'fatal')).toBe(0);
    expect(exitCodeFor(report, 'warning')).toBe(1);
  });

  it('a hanging check times out without blocking the others, and its signal is aborted', async () => {
    let aborted = false;
    const report = await runChecks(
      [
        check('slow', 'Network', (_c, signal) => new Promise(() => signal.addEventListener('abort', () => (aborted = true))), { timeoutMs: 150 }),
        check('fast', 'Network', async () => ({ status: 'passed', message: 'ok' })),
      ],
      { log: [] },
    );
    // The slow check never settles by itself: the report exists only because its 150 ms timer fired.
    expect(aborted).toBe(true);
    expect(report.results.find((r) => r.id === 'slow')).toMatchObject({ status: 'failed', message: 'check timed out after 0.15s' });
    expect(report.results.find((r) => r.id === 'fast')?.status).toBe('passed');
  });

  it('a check that throws becomes a failed result carrying the error hint', async () => {
    const report = await runChecks(
      [check('x', 'X', async () => { throw Object.assign(new Error('boom\nstack'), { hint: 'do this' }); })],
      { log: [] },
    );
    expect(report.results[0]).toMatchObject({ status: 'failed', message: 'check could not run: boom', hint: 'do this' });
  });

  it('runs independent checks concurrently, bounded by the limit', async () => {
    let running = 0;
    let peak = 0;
    const body: Check<Ctx>['run'] = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 30));
      running--;
      return { status: 'passed', message: 'ok' };
    };
    await runChecks(Array.from({ length: 8 }, (_, i) => check(`c${i}`, 'X', body)), { log: [] }, {}, { concurrency: 3 });
    expect(peak).toBe(3);
  });

  // A check that resolves only when released from outside: the order of events shows who waited for whom.
  const gated = () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    return { gate, release };
  };

  it('without overlap a category starts only after the previous one settled', async () => {
    const slow = gated();
    const log: string[] = [];
    const run = runChecks(
      [
        check('exporters.a', 'Exporters', async () => {
          log.push('exporters.a start');
          await slow.gate;
          log.push('exporters.a end');
          return { status: 'passed', message: 'ok' };
        }),
        check('cr.b', 'CR', async () => {
          log.push('cr.b start');
          return { status: 'passed', message: 'ok' };
        }),
      ],
      { log: [] },
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(log).toEqual(['exporters.a start']);
    slow.release();
    await run;
    expect(log).toEqual(['exporters.a start', 'exporters.a end', 'cr.b start']);
  });

  it('with overlap later categories run while an earlier check waits, and results keep category order', async () => {
    const slow = gated();
    const log: string[] = [];
    const run = runChecks(
      [
        check('exporters.a', 'Exporters', async () => {
          await slow.gate;
          log.push('exporters.a end');
          return { status: 'passed', message: 'a' };
        }),
        check('cr.b', 'CR', async () => {
          log.push('cr.b');
          return { status: 'passed', message: 'b' };
        }),
        check('cr.c', 'CR', async () => {
          log.push('cr.c');
          return { status: 'passed', message: 'c' };
        }, { needs: ['exporters.a'] }),
      ],
      { log: [] },
      {},
      { overlap: true },
    );
    await new Promise((r) => setTimeout(r, 20));
    // cr.b ran beside the waiting exporter check; cr.c needs it, so it has not.
    expect(log).toEqual(['cr.b']);
    slow.release();
    const report = await run;
    expect(log).toEqual(['cr.b', 'exporters.a end', 'cr.c']);
    expect(report.results.map((r) => r.id)).toEqual(['exporters.a', 'cr.b', 'cr.c']);
  });

  it('with overlap a need in another category still skips the check when it failed', async () => {
    const report = await runChecks(
      [
        check('release.present', 'Release', async () => ({ status: 'failed', message: 'no release' })),
        check('pods.x', 'Pods', async () => ({ status: 'passed', message: 'never runs' }), { needs: ['release.present'] }),
      ],
      { log: [] },
      {},
      { overlap: true },
    );
    expect(report.results.find((r) => r.id === 'pods.x')).toMatchObject({ status: 'skipped', message: expect.stringContaining('needs release.present') });
  });

  it('checks that need each other run anyway instead of waiting forever', async () => {
    for (const overlap of [false, true]) {
      const report = await runChecks(
        [
          check('x.a', 'X', async () => ({ status: 'passed', message: 'a' }), { needs: ['x.b'] }),
          check('x.b', 'X', async () => ({ status: 'passed', message: 'b' }), { needs: ['x.a'] }),
        ],
        { log: [] },
        {},
        { overlap },
      );
      expect(report.results.map((r) => r.status)).toEqual(['passed', 'passed']);
    }
  });

  it('settled(prefix) waits for the selected checks of that prefix, and for none when none is selected', async () => {
    const slow = gated();
    const log: string[] = [];
    const checks = [
      check('exporters.a', 'Exporters', async () => {
        await slow.gate;
        log.push('exporters.a');
        return { status: 'failed', message: 'a' };
      }),
      check('kubelet.k', 'Kubelet', async (_c, _s, env) => {
        await env.settled('exporters.');
        log.push('kubelet.k');
        return { status: 'passed', message: 'k' };
      }),
    ];
    const run = runChecks(checks, { log: [] }, {}, { overlap: true });
    await new Promise((r) => setTimeout(r, 20));
    expect(log).toEqual([]);
    slow.release();
    await run;
    // A failed check has settled too: settled() is about knowledge, not success.
    expect(log).toEqual(['exporters.a', 'kubelet.k']);
    const alone = await runChecks(checks, { log: [] }, {}, { overlap: true, only: ['kubelet'] });
    expect(alone.results.map((r) => r.status)).toEqual(['passed']);
  });
});

const sample: CheckResult[] = [
  { id: 'cluster.api', category: 'Cluster', description: 'API', severity: 'fatal', status: 'passed', message: 'API server reachable (v1.36.3)', durationMs: 5 },
  { id: 'network.cms', category: 'Network', description: 'cms', severity: 'fatal', status: 'failed', message: 'cms.cn-hangzhou.aliyuncs.com:443 TCP connect timed out', object: 'endpoint/cms.cn-hangzhou.aliyuncs.com', vantage: 'node/kwok-node-1', evidence: ['dns: 1.2.3.4', 'tcp: timeout after 5s'], hint: 'Open egress to cms.cn-hangzhou.aliyuncs.com:443 from the nodes.', durationMs: 5000 },
  { id: 'conflicts.arms-prom', category: 'Conflicts', description: 'arms', severity: 'warning', status: 'failed', message: 'ARMS Prometheus runs in namespace arms-prom: metrics would be collected twice', hint: 'Uninstall ARMS Prometheus or disable its collection.', durationMs: 1 },
  { id: 'conflicts.dcgm', category: 'Conflicts', description: 'dcgm', severity: 'warning', status: 'skipped', message: 'no GPU nodes', durationMs: 0 },
];
const report = { results: sample, summary: { passed: 1, failed: 1, warnings: 1, skipped: 1, info: 0 } };

describe('renderers', () => {
  it('human report matches the golden file (no colour)', async () => {
    const text = renderHuman(report, makeChalk({ noColor: true }));
    await expect(text + '\n').toMatchFileSnapshot('../../fixtures/golden/report-human.txt');
  });

  it('human report uses colour only when allowed', () => {
    expect(renderHuman(report, makeChalk({ isTTY: true, env: {} }))).toContain('\u001b[');
    expect(renderHuman(report, makeChalk({ isTTY: true, env: { NO_COLOR: '1' } }))).not.toContain('\u001b[');
    expect(renderHuman(report, makeChalk({ isTTY: false, env: {} }))).not.toContain('\u001b[');
  });

  it('JSON report matches the golden file and carries every field', async () => {
    const json = renderJson(report, { command: 'preflight', exitCode: 1 });
    const parsed = JSON.parse(json);
    expect(parsed.results[1]).toMatchObject({ id: 'network.cms', status: 'failed', vantage: 'node/kwok-node-1', hint: expect.any(String) });
    await expect(json + '\n').toMatchFileSnapshot('../../fixtures/golden/report.json');
  });

  it('renderers scrub secret values from any message', () => {
    const s = new Secret('golden-canary-secret-123');
    const leaky = { ...report, results: [{ ...sample[0]!, message: `key ${s.reveal()} rejected` }] };
    expect(renderHuman(leaky, makeChalk({ noColor: true }))).not.toContain(s.reveal());
    expect(renderJson(leaky, { command: 'x', exitCode: 0 })).not.toContain(s.reveal());
  });
});
