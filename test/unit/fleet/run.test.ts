// The fleet runner against loopback API servers in every state a fleet meets: one answers (with a
// release, without one), one refuses connections, one has a certificate from another CA, one says 401,
// one 403, one accepts and never answers. Each context ends with its own reason; the silent one is cut
// at its deadline and its socket closed; the others' results do not wait for it.
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttps, type Server } from 'node:https';
import { createServer as createTcp, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnFleet, type FleetEntry } from '../../../src/fleet/fleet.js';
import { contextFailure, fleetExitCode } from '../../../src/fleet/run.js';
import { resolveTargets } from '../../../src/fleet/targets.js';
import { InsightError } from '../../../src/errors.js';
import { reachFailure } from '../../../src/kube/errors.js';
import { makeCert, type TestCert } from '../../support/tls.js';
import { helmSecret, NS, REL } from '../doctor/fake.js';

let ours: TestCert;
let other: TestCert;
const servers: Array<Server | TcpServer> = [];
const silentSockets: Socket[] = [];
let closedSilent = 0;
const ports: Record<string, number> = {};
const dir = mkdtempSync(join(tmpdir(), 'fleet-run-'));
let kubeconfig = '';

async function listen(s: Server | TcpServer): Promise<number> {
  servers.push(s);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return (s.address() as AddressInfo).port;
}

/** An API server answering /version and the release-record list; `status` other than 200 answers every path with it. */
function apiServer(cert: TestCert, o: { status?: number; installed?: boolean }): Server {
  return createHttps({ cert: cert.cert, key: cert.key }, (req, res) => {
    res.setHeader('content-type', 'application/json');
    if (o.status && o.status !== 200) {
      res.statusCode = o.status;
      return res.end(JSON.stringify({ kind: 'Status', code: o.status, message: o.status === 401 ? 'Unauthorized' : 'forbidden: User "u" cannot get path "/version"' }));
    }
    if (req.url === '/version') return res.end(JSON.stringify({ gitVersion: 'v1.36.3' }));
    if (req.url?.startsWith(`/api/v1/namespaces/${NS}/secrets`)) return res.end(JSON.stringify({ items: o.installed ? [helmSecret({ revision: 4, manifest: [] })] : [] }));
    if (req.url?.startsWith(`/api/v1/namespaces/${NS}/configmaps`)) return res.end(JSON.stringify({ items: [] }));
    res.statusCode = 404;
    res.end('{}');
  });
}

beforeAll(async () => {
  ours = makeCert(['127.0.0.1']);
  other = makeCert(['127.0.0.1']);
  ports['installed'] = await listen(apiServer(ours, { installed: true }));
  ports['empty'] = await listen(apiServer(ours, {}));
  ports['tls'] = await listen(apiServer(other, { installed: true }));
  ports['unauthorized'] = await listen(apiServer(ours, { status: 401 }));
  ports['forbidden'] = await listen(apiServer(ours, { status: 403 }));
  const silent = createTcp((sock) => {
    silentSockets.push(sock);
    sock.resume(); // read the TLS hello (and never answer it), so the client's close is seen
    sock.on('close', () => closedSilent++);
  });
  ports['silent'] = await listen(silent);
  // A port that was free a moment ago: connections to it are refused.
  const gone = createTcp();
  gone.listen(0, '127.0.0.1');
  await once(gone, 'listening');
  ports['refused'] = (gone.address() as AddressInfo).port;
  await new Promise<void>((r) => gone.close(() => r()));

  const ca = Buffer.from(ours.ca).toString('base64');
  const names = Object.keys(ports);
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      ...names.map((n) => `- {name: ${n}, cluster: {server: "https://127.0.0.1:${ports[n]}", certificate-authority-data: ${ca}}}`),
      'users: [{name: u, user: {token: not-a-real-token}}]',
      'contexts:',
      ...names.map((n) => `- {name: ${n}, context: {cluster: ${n}, user: u}}`),
      `current-context: ${names[0]}`,
    ].join('\n'),
  );
});

afterAll(() => {
  for (const s of silentSockets) s.destroy();
  for (const s of servers) s.close();
  ours.cleanup();
  other.cleanup();
});

describe('runOnFleet', () => {
  it('each context ends with its own outcome; the silent one at its deadline, after every other', async () => {
    const targets = resolveTargets({ allContexts: true, kubeconfig, namespace: NS, release: REL });
    const settled: string[] = [];
    const entries = await runOnFleet(targets, { kubeconfig }, { maxSockets: 4, run: async (_cfg, t) => `ran on ${t.context}` }, { parallel: 10, timeoutMs: 3000, onSettled: (o) => settled.push(o.target.context) });
    const by = Object.fromEntries(entries.map((e) => [e.target.context, e])) as Record<string, FleetEntry<string>>;

    const installed = by['installed']!;
    expect(installed.ok && installed.value).toBe('ran on installed');
    expect(installed.ok && installed.facts).toMatchObject({ kubernetesVersion: 'v1.36.3', release: { found: true, release: { chartVersion: '1.0.0', revision: 4, status: 'deployed' } } });
    const empty = by['empty']!;
    expect(empty.ok && empty.facts.release).toEqual({ found: false });

    const reasons = Object.fromEntries(entries.filter((e) => !e.ok).map((e) => [e.target.context, !e.ok && [e.failure.verdict, e.failure.reason]]));
    expect(reasons).toEqual({
      tls: ['unreachable', 'tls'],
      unauthorized: ['unreachable', 'unauthorized'],
      forbidden: ['unreachable', 'forbidden'],
      silent: ['unreachable', 'timeout'],
      refused: ['unreachable', 'refused'],
    });
    // Outcomes come back in the order the contexts were listed, whatever order they finished in.
    expect(entries.map((e) => e.target.context)).toEqual(Object.keys(ports));
    // Nothing waited for the silent server: it finished last, and its connection was closed at the deadline.
    expect(settled.at(-1)).toBe('silent');
    await expect.poll(() => closedSilent).toBeGreaterThan(0);
  });

  it('with --parallel 1 the contexts run one after the other and still all end', async () => {
    const targets = resolveTargets({ contexts: ['empty', 'refused', 'installed'], kubeconfig, namespace: NS, release: REL });
    let inFlight = 0;
    let most = 0;
    const entries = await runOnFleet(
      targets,
      { kubeconfig },
      {
        maxSockets: 4,
        run: async () => {
          most = Math.max(most, ++inFlight);
          await new Promise((r) => setImmediate(r));
          inFlight--;
        },
      },
      { parallel: 1, timeoutMs: 10_000 },
    );
    expect(most).toBe(1);
    expect(entries.map((e) => e.ok)).toEqual([true, false, true]);
  });

  it('a job that throws something unexpected is that context’s bug, not the run’s end', async () => {
    const targets = resolveTargets({ contexts: ['empty', 'installed'], kubeconfig, namespace: NS, release: REL });
    const entries = await runOnFleet(targets, { kubeconfig }, { maxSockets: 4, run: async (_c, t) => { if (t.context === 'empty') throw new TypeError('x is undefined'); return 1; } }, { parallel: 2, timeoutMs: 10_000 });
    expect(entries[0]).toMatchObject({ ok: false, failure: { verdict: 'error', reason: 'bug', exitCode: 70, message: 'internal error: x is undefined' } });
    expect(entries[1]).toMatchObject({ ok: true, value: 1 });
  });
});

describe('reachFailure', () => {
  it('reads DNS, reset and timeout codes from the cause chain', () => {
    const wrap = (code: string) => new InsightError('unreachable', 'x', { cause: Object.assign(new Error('y'), { code }) });
    expect(reachFailure(wrap('ENOTFOUND'))).toBe('dns');
    expect(reachFailure(wrap('EAI_AGAIN'))).toBe('dns');
    expect(reachFailure(wrap('ECONNRESET'))).toBe('network');
    expect(reachFailure(wrap('ETIMEDOUT_PROBE'))).toBe('timeout');
    expect(reachFailure(new InsightError('invalid-input', 'bad kubeconfig'))).toBeUndefined();
    expect(contextFailure(new InsightError('tool', 'helm not found'))).toMatchObject({ verdict: 'error', reason: 'tool', exitCode: 5 });
  });
});

describe('fleetExitCode', () => {
  it('0 only when all passed; 1 when a checked context failed; 3 when only some could not be checked', () => {
    const down = { passed: false, failure: contextFailure(new InsightError('unreachable', 'down')) };
    expect(fleetExitCode([{ passed: true }, { passed: true }])).toBe(0);
    expect(fleetExitCode([{ passed: true }, down])).toBe(3);
    expect(fleetExitCode([{ passed: false }, down])).toBe(1);
    expect(fleetExitCode([down, down])).toBe(3);
    expect(fleetExitCode([])).toBe(0);
  });
});
