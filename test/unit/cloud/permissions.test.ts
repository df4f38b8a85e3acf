/**
 * The permission probe against the stand-in: users with all, none and some of the guide's actions;
 * and the rendered policy for the missing ones.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../../src/secret.js';
import { POLICY_ACTIONS, probePermissions, renderMissingPolicy } from '../../../src/cloud/permissions.js';
import { startCloudStandin, type CloudStandin } from '../../support/cloud-standin/server.js';

const REGION = 'cn-beijing';
const PROJECT = 'probe-proj';
const INSTANCE = 'rw-probe-1';
const PROBED = ['log:ListMachineGroup', 'log:GetMachineGroup', 'log:GetLogtailPipelineConfig', 'log:GetProject', 'log:GetLogStore', 'log:ListTagResources', 'log:GetAppliedMachineGroups', 'cms:GetPrometheusInstance'];

let standin: CloudStandin;
const user = (id: string, allowedActions: string[]) => ({ accessKeyId: id, secret: `${id}-secret-abcdefghijkl`, allowedActions });
const creds = (id: string) => ({ accessKeyId: id, accessKeySecret: new Secret(`${id}-secret-abcdefghijkl`) });

beforeAll(async () => {
  standin = await startCloudStandin({
    regions: [REGION],
    users: [
      user('LTAI5tAllowAll000001', ['log:*', 'cms:*']),
      user('LTAI5tAllowNone00001', []),
      // What a hand-made policy often looks like: the Get/List on SLS, nothing on CMS, no tags.
      user('LTAI5tAllowSome00001', ['log:Get*', 'log:ListMachineGroup']),
    ],
    projects: [{ name: PROJECT, region: REGION }],
    prometheusInstances: [{ id: INSTANCE, region: REGION }],
  });
});
afterAll(async () => standin?.close());

const target = { region: REGION, project: PROJECT, prometheusInstanceId: INSTANCE };

describe('probePermissions', () => {
  it('a fully allowed key: every probed action allowed, the write actions listed as not checked', async () => {
    const r = await probePermissions(creds('LTAI5tAllowAll000001'), target, { overrides: standin.overrides() });
    expect(r.checks.map((c) => c.action)).toEqual([...POLICY_ACTIONS]);
    expect(r.allowed.sort()).toEqual([...PROBED].sort());
    expect(r.denied).toEqual([]);
    expect(r.unknown).toEqual([]);
    expect(r.notChecked).toEqual(POLICY_ACTIONS.filter((a) => !PROBED.includes(a)));
    // Only GET requests were sent.
    expect(new Set(standin.requests.map((q) => q.method))).toEqual(new Set(['GET']));
  });

  it('a key with no permissions: every probed action denied', async () => {
    const r = await probePermissions(creds('LTAI5tAllowNone00001'), target, { overrides: standin.overrides() });
    expect(r.denied.sort()).toEqual([...PROBED].sort());
    for (const c of r.checks.filter((x) => x.status === 'denied')) expect(c.error?.action).toBe(c.action);
  });

  it('a partial policy: exactly the missing ones are denied', async () => {
    const r = await probePermissions(creds('LTAI5tAllowSome00001'), target, { overrides: standin.overrides() });
    expect(r.denied.sort()).toEqual(['cms:GetPrometheusInstance', 'log:ListTagResources']);
    const policy = JSON.parse(renderMissingPolicy(r.denied));
    expect(policy.Statement[0].Action).toEqual(['log:ListTagResources', 'cms:GetPrometheusInstance']);
  });

  it('a missing project makes project probes unknown, not allowed', async () => {
    const r = await probePermissions(creds('LTAI5tAllowAll000001'), { ...target, project: 'no-such-proj' }, { overrides: standin.overrides() });
    expect(r.checks.find((c) => c.action === 'log:GetLogStore')).toMatchObject({ status: 'unknown', error: { code: 'NotFound', apiCode: 'ProjectNotExist' } });
    expect(r.checks.find((c) => c.action === 'log:GetProject')?.status).toBe('unknown');
  });

  it('a bad key makes every probe unknown with InvalidAccessKeyId', async () => {
    const r = await probePermissions({ accessKeyId: 'LTAI5tUnknownKey0001', accessKeySecret: new Secret('unknown-key-secret-xyz') }, target, { overrides: standin.overrides() });
    expect(r.unknown.sort()).toEqual([...PROBED].sort());
    expect(r.checks.filter((c) => c.status === 'unknown').every((c) => c.error?.code === 'InvalidAccessKeyId')).toBe(true);
  });

  it('without an instance id, cms:GetPrometheusInstance is not checked', async () => {
    const r = await probePermissions(creds('LTAI5tAllowAll000001'), { region: REGION, project: PROJECT }, { overrides: standin.overrides() });
    expect(r.checks.find((c) => c.action === 'cms:GetPrometheusInstance')).toMatchObject({ status: 'not-checked' });
  });
});

describe('renderMissingPolicy', () => {
  it('renders a RAM policy in the guide order, without duplicates', () => {
    const text = renderMissingPolicy(['cms:GetPrometheusInstance', 'log:GetProject', 'log:GetProject', 'log:ListMachineGroup']);
    expect(JSON.parse(text)).toEqual({
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: ['log:ListMachineGroup', 'log:GetProject', 'cms:GetPrometheusInstance'], Resource: '*' }],
    });
    expect(text).toContain('\n  "Statement"');
  });
});

// The custom RAM policy the product's install guide documents, kept as a fixture: the permission
// checks and the policy we print must ask for exactly these actions, in this order.
describe('POLICY_ACTIONS', () => {
  it('equals the custom policy in the install guide', () => {
    const policy = JSON.parse(readFileSync(new URL('../../fixtures/policy/install-guide-custom-policy.json', import.meta.url), 'utf8'));
    expect(policy.Statement[0].Action).toEqual([...POLICY_ACTIONS]);
  });
});
