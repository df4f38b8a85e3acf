// The fleet renderers: columns padded to their widest cell whatever colour codes they carry, the RELEASE
// column only when the contexts look at different installations, --summary without reports.
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { fleetJson, renderFleetHuman, table, type FleetRow, type FleetView } from '../../../src/output/fleet.js';

const coloured = new Chalk({ level: 1 });
const row = (context: string, o: Partial<FleetRow> = {}): FleetRow => ({
  target: { context, server: `https://${context}:6443`, namespace: 'cms-monitoring', release: 'insight' },
  server: `https://${context}:6443`,
  verdict: 'healthy',
  passed: true,
  durationMs: 1234,
  release: { found: true, release: { chart: 'c-1.2.3', chartName: 'c', chartVersion: '1.2.3', appVersion: '1.2.3', status: 'deployed', revision: 2 } },
  ...o,
});
const view = (rows: FleetRow[], o: Partial<FleetView> = {}): FleetView => ({ command: 'doctor', rows, text: rows.map((r) => `report of ${r.target.context}`), json: rows.map((r) => ({ of: r.target.context })), exitCode: 0, durationMs: 2000, summaryOnly: false, ...o });

describe('table', () => {
  it('pads by visible width: colour codes do not shift the columns', () => {
    // eslint-disable-next-line no-control-regex -- the colour codes chalk writes
    const t = table(['A', 'B', 'C'], [[coloured.red('x'), 'yy', 'z'], ['longer', coloured.green('b'), 'c']]).replace(/\u001b\[[0-9;]*m/g, '');
    expect(t.split('\n')).toEqual(['A       B   C', 'x       yy  z', 'longer  b   c']);
  });
});

describe('renderFleetHuman', () => {
  it('one shared installation goes in the title; different ones get a RELEASE column', () => {
    const same = renderFleetHuman(view([row('a'), row('b')]), new Chalk({ level: 0 }));
    expect(same.split('\n')[0]).toBe('kubectl insight doctor: 2 contexts, release cms-monitoring/insight');
    expect(same).not.toContain('RELEASE');
    const other = row('b');
    other.target = { ...other.target, namespace: 'monitoring' };
    const mixed = renderFleetHuman(view([row('a'), other]), new Chalk({ level: 0 }));
    expect(mixed.split('\n')[0]).toBe('kubectl insight doctor: 2 contexts');
    expect(mixed).toMatch(/^CONTEXT\s+SERVER\s+RELEASE\s+CHART/m);
    expect(mixed).toMatch(/^b\s+https:\/\/b:6443\s+monitoring\/insight\s+1\.2\.3/m);
  });

  it('a release that is not deployed shows its status; no record shows "not installed"', () => {
    const failed = row('a', { release: { found: true, release: { chart: 'c-1.2.3', chartName: 'c', chartVersion: '1.2.3', appVersion: '', status: 'failed', revision: 3 } }, verdict: 'unhealthy', passed: false, topCause: { id: 'release.deployed', message: 'release is failed' } });
    const out = renderFleetHuman(view([failed, row('b', { release: { found: false } })], { exitCode: 1 }), new Chalk({ level: 0 }));
    expect(out).toMatch(/^a\s+\S+\s+1\.2\.3 \(failed\)\s+unhealthy\s+release\.deployed: release is failed\s+1\.2s$/m);
    expect(out).toMatch(/^b\s+\S+\s+not installed\s+healthy/m);
    expect(out.trim().split('\n').at(-1)).toBe('FAIL: 1 unhealthy, 1 healthy (2.0s)');
  });

  it('--summary: the table and the verdict line, no context sections', () => {
    const out = renderFleetHuman(view([row('a')], { summaryOnly: true, text: [] }), new Chalk({ level: 0 }));
    expect(out).not.toContain('===');
    expect(out).not.toContain('report of');
  });
});

describe('fleetJson', () => {
  it('a report for each context that ran, an error for one that did not; --summary leaves reports out', () => {
    const down = row('down', { verdict: 'unreachable', passed: false, failure: { verdict: 'unreachable', reason: 'refused', kind: 'unreachable', message: 'cannot reach', exitCode: 3 } });
    delete down.release;
    const doc = JSON.parse(fleetJson(view([row('a'), down], { exitCode: 3 })));
    expect(doc.contexts[0]).toMatchObject({ context: 'a', verdict: 'healthy', chart: { version: '1.2.3', revision: 2 }, report: { of: 'a' } });
    expect(doc.contexts[1]).toMatchObject({ context: 'down', verdict: 'unreachable', chart: null, error: { reason: 'refused', exitCode: 3 } });
    expect(doc.contexts[1].report).toBeUndefined();
    expect(doc.summary).toEqual({ contexts: 2, passed: 1, failed: 0, unreachable: 1, error: 0, verdicts: { healthy: 1, unreachable: 1 } });
    const summary = JSON.parse(fleetJson(view([row('a')], { summaryOnly: true, json: [] })));
    expect(summary.contexts[0].report).toBeUndefined();
  });
});
