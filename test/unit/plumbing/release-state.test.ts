import { describe, expect, it } from 'vitest';
import { chartNameOf, judgeRelease } from '../../../src/helm/release-state.js';
import { decideRelease } from '../../../src/checks/preflight/conflicts.js';
import { judgeExisting } from '../../../src/actions/releases.js';
import { InsightError } from '../../../src/errors.js';

const rel = (status: string, revision = 1, chart = 'loongcollector-cluster-insight-1.0.0') => ({ name: 'aliyun-loongcollector-cluster-insight', namespace: 'cms-monitoring', status, revision, chart, app_version: '1.0.0' });

describe('one verdict per release state', () => {
  const table: Array<[string, number, string, string, string, string]> = [
    // status, revision, state, install, upgrade, uninstall
    ['deployed', 3, 'deployed', 'refuse', 'proceed', 'proceed'],
    ['failed', 1, 'failed-install', 'replace', 'refuse', 'proceed'],
    ['failed', 4, 'failed', 'refuse', 'proceed', 'proceed'],
    ['pending-install', 1, 'pending-install', 'refuse', 'refuse', 'proceed'],
    ['pending-upgrade', 3, 'pending-upgrade', 'refuse', 'refuse', 'proceed'],
    ['pending-rollback', 3, 'pending-rollback', 'refuse', 'refuse', 'proceed'],
    ['uninstalling', 2, 'uninstalling', 'refuse', 'refuse', 'proceed'],
    ['uninstalled', 2, 'uninstalled', 'replace', 'refuse', 'proceed'],
    ['superseded', 2, 'unknown', 'refuse', 'refuse', 'proceed'],
  ];
  for (const [status, revision, state, install, upgrade, uninstall] of table) {
    it(`${status} (revision ${revision}) is ${state}`, () => {
      expect(judgeRelease(rel(status, revision))).toMatchObject({ state, install, upgrade, uninstall, ourChart: true });
    });
  }

  it('install, preflight and the verdict give the same hint for every stuck state', () => {
    for (const [status, revision] of table) {
      const v = judgeRelease(rel(status, revision));
      if (v.install === 'proceed' || v.state === 'uninstalled') continue;
      const pf = decideRelease('install', rel(status, revision), [], 'aliyun-loongcollector-cluster-insight', 'cms-monitoring');
      let installHint: string | undefined;
      try {
        judgeExisting([{ ...rel(status, revision), same: true }], { release: 'aliyun-loongcollector-cluster-insight', namespace: 'cms-monitoring', replace: false });
      } catch (e) {
        installHint = (e as InsightError).hint;
      }
      expect(pf.hint, status).toBe(v.hint);
      expect(installHint, status).toContain(v.hint);
    }
  });

  it('pending-install never suggests --replace, which helm does not allow over a pending release', () => {
    expect(judgeRelease(rel('pending-install')).hint).not.toContain('--replace');
    expect(judgeRelease(rel('pending-install')).hint).toContain('kubectl insight uninstall');
  });

  it('another chart under our release name is never ours', () => {
    const v = judgeRelease(rel('deployed', 1, 'wordpress-19.0.1'));
    expect(v).toMatchObject({ ourChart: false, chartName: 'wordpress', install: 'refuse', upgrade: 'refuse', uninstall: 'refuse', healthy: false });
    expect(v.hint).toContain('--force');
  });

  it('reads the chart name off helm\'s chart column', () => {
    expect(chartNameOf('loongcollector-cluster-insight-1.2.0')).toBe('loongcollector-cluster-insight');
    expect(chartNameOf('kube-prometheus-stack-77.0.0')).toBe('kube-prometheus-stack');
    expect(chartNameOf('foo-v2.0.0-rc.1')).toBe('foo');
    expect(chartNameOf('loongcollector-cluster-insight-1.2.0+build.5')).toBe('loongcollector-cluster-insight');
    expect(chartNameOf('loongcollector-cluster-insight-0.1.0-rc.1+build.5')).toBe('loongcollector-cluster-insight');
    expect(chartNameOf('loongcollector-cluster-insight-1.2')).toBe('loongcollector-cluster-insight');
    // The name helm recorded wins over the column when the caller has it.
    expect(judgeRelease({ ...rel('deployed'), chart: 'x-1.0.0', chartName: 'loongcollector-cluster-insight' }).ourChart).toBe(true);
  });
});

describe('checkTargetChart', () => {
  it('our chart passes; another name (a fork, or a mistaken --chart) needs --force', async () => {
    const { checkTargetChart } = await import('../../../src/helm/release-state.js');
    expect(() => checkTargetChart('loongcollector-cluster-insight', false)).not.toThrow();
    expect(() => checkTargetChart('loongcollector-cluster-insight-fork', false)).toThrow(/--chart is chart loongcollector-cluster-insight-fork, not loongcollector-cluster-insight/);
    expect(() => checkTargetChart('kube-prometheus-stack', false)).toThrow(/not loongcollector-cluster-insight/);
    expect(() => checkTargetChart('kube-prometheus-stack', true)).not.toThrow();
  });
  it('a chart name with a version-like tail is still told apart in helm list', () => {
    expect(chartNameOf('loongcollector-cluster-insight-fork-1.0.0')).toBe('loongcollector-cluster-insight-fork');
  });
});

describe('chartNameOf with forks whose names end in digits', () => {
  it.each([
    ['loongcollector-cluster-insight-v2-1.0.0', 'loongcollector-cluster-insight-v2'],
    ['loongcollector-cluster-insight-2-1.0.0', 'loongcollector-cluster-insight-2'],
    ['loongcollector-cluster-insight-1.2.0-rc.1+build.5', 'loongcollector-cluster-insight'],
    ['loongcollector-cluster-insight-v1.2.0', 'loongcollector-cluster-insight'],
  ])('%s → %s', (col, name) => {
    expect(chartNameOf(col)).toBe(name);
  });
});
