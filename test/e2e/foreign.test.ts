// Another application's release under our release name: install, upgrade and uninstall (every flag)
// refuse and change nothing; the chart is part of the release's identity.
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartTgz, cleanup, cli, FIXTURE_CHART_DIR, helm, helmLabel, kubectl, requiredValues, snapshotText, writeValues } from './support/index.js';

const NS = 'e2e-foreign-chart';
const RELEASE = 'aliyun-loongcollector-cluster-insight';

/** A small chart of "another team": one ConfigMap and one Secret. */
function otherChart(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'insight-other-chart-')), 'team-app');
  mkdirSync(join(dir, 'templates'), { recursive: true });
  writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: team-app\nversion: 2.3.4\nappVersion: "2.3"\n');
  writeFileSync(join(dir, 'templates', 'objects.yaml'), [
    'apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: team-app-config', 'data:', '  owner: team', '---',
    'apiVersion: v1', 'kind: Secret', 'metadata:', '  name: team-app-secret', 'stringData:', '  token: team-token', '',
  ].join('\n'));
  return dir;
}

describe(`another chart under our release name (${helmLabel()})`, () => {
  beforeAll(async () => {
    await helm(['uninstall', RELEASE, '-n', NS, '--wait'], { allowFail: true, timeoutMs: 300_000 });
    await helm(['install', RELEASE, otherChart(), '-n', NS, '--create-namespace', '--wait', '--timeout', '60s']);
  });
  afterAll(async () => {
    await helm(['uninstall', RELEASE, '-n', NS, '--wait'], { allowFail: true, timeoutMs: 300_000 });
    await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=90s'], { allowFail: true });
  });

  it('uninstall refuses with every flag, and changes nothing', async () => {
    const before = await snapshotText([NS]);
    for (const extra of [[], ['--purge-crds'], ['--delete-namespace'], ['--purge-crds', '--delete-namespace'], ['--dry-run']]) {
      const r = await cli(['uninstall', '-n', NS, '--yes', ...extra]);
      expect(r.exitCode, `${extra.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/^Error: release e2e-foreign-chart\/aliyun-loongcollector-cluster-insight runs chart team-app-2\.3\.4, not loongcollector-cluster-insight: uninstalling it would remove another application$/m);
      expect(r.stderr).toContain('--force');
    }
    expect(await snapshotText([NS])).toBe(before);
  });

  it('upgrade and install refuse it too, and change nothing', async () => {
    const before = await snapshotText([NS]);
    const up = await cli(['upgrade', '-n', NS, '--chart', await chartTgz('1.1.0'), '--yes']);
    expect(up.exitCode, up.stderr).toBe(1);
    expect(up.stderr).toMatch(/^Error: release e2e-foreign-chart\/aliyun-loongcollector-cluster-insight runs chart team-app-2\.3\.4/m);
    const inst = await cli(['install', '--no-verify', '-n', NS, '--chart', await chartTgz('1.0.0'), '-f', writeValues(requiredValues('e2e-foreign-1')), '--skip-preflight', '--yes'], { env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'ForeignE2eSecret0123456789abcd' } });
    expect(inst.exitCode, inst.stderr).toBe(1);
    expect(inst.stderr).toMatch(/runs chart team-app-2\.3\.4/);
    expect(await snapshotText([NS])).toBe(before);
  });

  it('install with --chart of another name refuses before anything changes (usage error)', async () => {
    const fresh = 'e2e-foreign-target';
    const before = await snapshotText([NS]);
    const inst = await cli(['install', '--no-verify', '-n', fresh, '--release', 'fresh-insight', '--chart', otherChart(), '-f', writeValues(requiredValues('e2e-foreign-2')), '--skip-preflight', '--yes'], { env: { ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'ForeignE2eSecret0123456789abcd' } });
    expect(inst.exitCode, inst.stderr).toBe(2);
    expect(inst.stderr).toMatch(/^Error: --chart is chart team-app, not loongcollector-cluster-insight$/m);
    expect(inst.stderr.match(/^Error:/gm)).toHaveLength(1);
    expect(inst.stderr).toMatch(/^Hint: .*--force/m);
    expect((await kubectl(['get', 'namespace', fresh, '--ignore-not-found', '-o', 'name'])).stdout.trim()).toBe('');
    expect(await snapshotText([NS])).toBe(before);
  });
});

describe(`a chart version that ships a CRD in templates/ (${helmLabel()})`, () => {
  const TNS = 'e2e-templated-crd';
  const TREL = 'insight-e2e-templated';
  const TID = 'e2e-templated-1';
  const CRD = 'gadgets.insight-e2e.example.com';
  const env = { ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'TemplatedCrdE2eSecret012345678' };
  const chart = () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'insight-templated-')), 'loongcollector-cluster-insight');
    cpSync(FIXTURE_CHART_DIR, dir, { recursive: true });
    writeFileSync(join(dir, 'templates', 'gadget-crd.yaml'), [
      'apiVersion: apiextensions.k8s.io/v1', 'kind: CustomResourceDefinition', 'metadata:', `  name: ${CRD}`, 'spec:', '  group: insight-e2e.example.com',
      '  names: { kind: Gadget, plural: gadgets, singular: gadget }', '  scope: Namespaced', '  versions:', '  - name: v1', '    served: true', '    storage: true',
      '    schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }', '',
    ].join('\n'));
    return dir;
  };
  const crdExists = async () => (await kubectl(['get', 'crd', CRD, '--ignore-not-found', '-o', 'name'])).stdout.trim() !== '';

  afterAll(async () => {
    await kubectl(['delete', 'gadgets.insight-e2e.example.com', '--all', '-A', '--ignore-not-found'], { allowFail: true });
    await kubectl(['delete', 'crd', CRD, '--ignore-not-found'], { allowFail: true });
    await cleanup(TREL, TNS, TID);
    await kubectl(['delete', 'namespace', 'e2e-gadget-owner', '--ignore-not-found', '--wait=true', '--timeout=90s'], { allowFail: true });
  });

  it('uninstall stops before anything changes when others use that CRD; --force removes it', async () => {
    const i = await cli(['install', '--no-verify', '--release', TREL, '-n', TNS, '--chart', chart(), '-f', writeValues(requiredValues(TID)), '--skip-preflight', '--timeout', '90s', '--yes'], { env });
    expect(i.exitCode, i.stderr).toBe(0);
    expect(await crdExists()).toBe(true);
    await kubectl(['create', 'namespace', 'e2e-gadget-owner']);
    await kubectl(['apply', '-f', '-'], { input: 'apiVersion: insight-e2e.example.com/v1\nkind: Gadget\nmetadata:\n  name: theirs\n  namespace: e2e-gadget-owner\n' });
    const before = await snapshotText([TNS, 'e2e-gadget-owner']);
    for (const extra of [[], ['--purge-crds'], ['--dry-run']]) {
      const r = await cli(['uninstall', '--release', TREL, '-n', TNS, '--yes', ...extra]);
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toContain(`Error: helm uninstall would delete CRD ${CRD} (the release's templates hold it), and with it 1 object(s) of others: Gadget e2e-gadget-owner/theirs`);
      expect(r.stderr).toContain('--force');
    }
    expect(await snapshotText([TNS, 'e2e-gadget-owner'])).toBe(before);
    const forced = await cli(['uninstall', '--release', TREL, '-n', TNS, '--yes', '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
  });
});
