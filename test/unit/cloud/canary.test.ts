/**
 * Canary: a unique secret goes through every credential function and every failure path; it must
 * appear in no result, error message, hint, JSON, inspect() output, console output, and not on the
 * wire (the stand-in records every request header and URL it received).
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { Secret } from '../../../src/secret.js';
import { getCallerIdentity, getPrometheusInstance, getSlsProject, type CloudCallOptions } from '../../../src/cloud/credentials.js';
import { probePermissions } from '../../../src/cloud/permissions.js';
import { startCloudStandin, type CloudStandin } from '../../support/cloud-standin/server.js';
import { closedPort, startPlainHttp } from '../../support/cloud-standin/faults.js';

const CANARY = `canary-${randomUUID()}`;
const AK = 'LTAI5tCanaryKey000001';
let standin: CloudStandin;

beforeAll(async () => {
  standin = await startCloudStandin({
    users: [
      { accessKeyId: AK, secret: CANARY, allowedActions: ['log:GetProject'] },
      { accessKeyId: 'LTAI5tOtherKey0000001', secret: 'other-secret-not-canary', allowedActions: ['*'] },
    ],
    projects: [{ name: 'canary-proj', region: 'cn-hangzhou' }],
    prometheusInstances: [{ id: 'rw-canary', region: 'cn-hangzhou' }],
  });
});
afterAll(async () => standin?.close());

it('the AccessKey secret appears nowhere', async () => {
  const printed: string[] = [];
  const capture = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
  const spies = [vi.spyOn(console, 'log').mockImplementation(capture), vi.spyOn(console, 'error').mockImplementation(capture), vi.spyOn(console, 'warn').mockImplementation(capture)];
  const writes = [
    vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (printed.push(String(c)), true)),
    vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (printed.push(String(c)), true)),
  ];

  const good = { accessKeyId: AK, accessKeySecret: new Secret(CANARY) };
  // The canary used as a *wrong* secret for another key: SignatureDoesNotMatch paths.
  const wrong = { accessKeyId: 'LTAI5tOtherKey0000001', accessKeySecret: new Secret(CANARY) };
  // The canary with an unknown key id: InvalidAccessKeyId paths.
  const unknown = { accessKeyId: 'LTAI5tNobody00000001', accessKeySecret: new Secret(CANARY) };
  const o: CloudCallOptions = { overrides: standin.overrides(), timeoutMs: 3000 };
  const skew: CloudCallOptions = { ...o, now: () => new Date(Date.now() - 40 * 60_000) };
  const refused: CloudCallOptions = { overrides: { '*.aliyuncs.com': { address: '127.0.0.1', port: await closedPort() } }, timeoutMs: 3000 };
  const plain = await startPlainHttp();
  const tls: CloudCallOptions = { overrides: { '*.aliyuncs.com': { address: '127.0.0.1', port: plain.port } }, timeoutMs: 3000 };

  const outputs: unknown[] = [];
  try {
    for (const c of [good, wrong, unknown]) {
      for (const opts of [o, skew, refused, tls]) {
        outputs.push(await getCallerIdentity(c, opts));
        for (const sig of ['v1', 'v4'] as const) outputs.push(await getSlsProject(c, 'cn-hangzhou', 'canary-proj', { ...opts, slsSignature: sig }));
        outputs.push(await getSlsProject(c, 'cn-hangzhou', 'missing-proj', opts));
        outputs.push(await getPrometheusInstance(c, 'cn-hangzhou', 'rw-canary', opts));
      }
      outputs.push(await probePermissions(c, { region: 'cn-hangzhou', project: 'canary-proj', prometheusInstanceId: 'rw-canary' }, o));
    }
  } finally {
    await plain.close();
    for (const s of [...spies, ...writes]) s.mockRestore();
  }

  // Every kind of outcome was exercised, so the check below covers them all.
  const codes = new Set(
    outputs.flatMap((r) => {
      const x = r as { ok?: boolean; error?: { code: string }; checks?: { error?: { code: string } }[] };
      return x.checks ? x.checks.map((c) => c.error?.code ?? 'ok') : [x.ok ? 'ok' : x.error!.code];
    }),
  );
  expect([...codes].sort()).toEqual(['ConnectionRefused', 'Forbidden', 'InvalidAccessKeyId', 'NotFound', 'RequestTimeExpired', 'SignatureDoesNotMatch', 'TlsError', 'ok'].sort());

  const haystack = [
    JSON.stringify(outputs),
    inspect(outputs, { depth: 20 }),
    ...printed,
    JSON.stringify(standin.requests),
  ].join('\n');
  expect(standin.requests.length).toBeGreaterThan(20);
  expect(haystack.includes(CANARY)).toBe(false);
  // Nor a recognisable part of it (a truncated or split copy).
  expect(haystack.includes(CANARY.slice(7, 30))).toBe(false);
});
