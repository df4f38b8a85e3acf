// The in-cluster probe program (sh + curl, exactly the command a probe pod runs) inside a network
// namespace that plays a node: servers inside it, /etc/hosts written from the pod's hostAliases the way
// kubelet does, no DNS server and a black-holed subnet. One scenario per outcome, classified by the
// same parser the probe-pod runner uses. Needs root and curl; skipped otherwise, with the reason.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE_SCRIPT, parseProbeOutput, scriptEnv } from '../../../src/net/script.js';
import type { ProbeOutcome, ProbeTarget } from '../../../src/net/types.js';
import { generatePki } from '../../support/cloud-standin/pki.js';
import { BLACKHOLE_IP, createTestNetns, netnsSkipReason, type TestNetns } from './helpers/netns.js';

const skip = netnsSkipReason();
const d = (h: string) => `${h}.cn-hangzhou.aliyuncs.com`;

describe.skipIf(skip)(`probe script in a node's network namespace${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let ns: TestNetns;
  let dir: string;
  const pki = generatePki(['*.cn-hangzhou.aliyuncs.com']);
  const other = generatePki(['*.cn-hangzhou.aliyuncs.com']);
  const expected = new Map<string, ProbeOutcome>();
  const targets: ProbeTarget[] = [];
  let stdout = '';
  let status = -1;

  beforeAll(async () => {
    ns = createTestNetns(`insight-pf-${process.pid}`);
    dir = mkdtempSync(join(tmpdir(), 'insight-probe-test-'));
    const ok = await ns.startServer({ mode: 'https', cert: pki.certPem, key: pki.keyPem });
    const untrusted = await ns.startServer({ mode: 'https', cert: other.certPem, key: other.keyPem });
    const plain = await ns.startServer({ mode: 'http' });
    const silent = await ns.startServer({ mode: 'silent' });
    const add = (host: string, outcome: ProbeOutcome, t: Partial<ProbeTarget>) => {
      targets.push({ host, port: 443, ...t });
      expected.set(host, outcome);
    };
    add(d('ok'), 'ok', { connectAddress: '127.0.0.1', connectPort: ok.port, ca: pki.caPem });
    // The real host name without an override: nothing resolves it inside the namespace.
    add(d('cms'), 'dns-failure', {});
    add(d('dnsfail'), 'dns-failure', { connectAddress: 'unmapped.test', connectPort: ok.port, ca: pki.caPem });
    add(d('refused'), 'refused', { connectAddress: '127.0.0.1', connectPort: 9 });
    add(d('blackhole'), 'timeout', { connectAddress: BLACKHOLE_IP, connectPort: 443 });
    add(d('untrusted'), 'tls-untrusted', { connectAddress: '127.0.0.1', connectPort: untrusted.port, ca: pki.caPem });
    add(d('plain'), 'http-on-https', { connectAddress: '127.0.0.1', connectPort: plain.port });
    add(d('silent'), 'tls-other', { connectAddress: '127.0.0.1', connectPort: silent.port, ca: pki.caPem });
    const se = scriptEnv(targets, { connectTimeoutS: 2, maxTimeS: 3 });
    ns.setHosts(se.hostAliases); // kubelet's job for a pod with hostAliases
    const r = ns.exec('sh', ['-c', PROBE_SCRIPT], { ...se.env, PROBE_RESULT_FILE: join(dir, 'termination-log'), TMPDIR: dir });
    stdout = r.stdout;
    status = r.status;
  }, 60_000);

  afterAll(() => {
    ns?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs to the end and writes the same lines to the termination-message file', () => {
    expect(status).toBe(0);
    const parsed = parseProbeOutput(stdout, 'node/n1');
    expect(parsed.complete).toBe(true);
    expect(parsed.tool).toMatch(/^curl \d/);
    expect(readFileSync(join(dir, 'termination-log'), 'utf8')).toBe(stdout);
  });

  it.each([...['ok', 'cms', 'dnsfail', 'refused', 'blackhole', 'untrusted', 'plain', 'silent']])('classifies %s', (h) => {
    const r = parseProbeOutput(stdout, 'node/n1').results.find((x) => x.host === d(h));
    expect(r, stdout).toBeDefined();
    expect(r!.outcome, r!.message).toBe(expected.get(d(h)));
    expect(r!.vantage).toBe('node/n1');
    if (h === 'ok') expect(r!.status).toBe(404);
  });

  it('leaves no temp files behind', () => {
    // dir is the script's TMPDIR and nothing else writes there: only the result file may remain,
    // whatever the script names its temp files.
    expect(readdirSync(dir)).toEqual(['termination-log']);
  });
});
