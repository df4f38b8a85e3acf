// Fault injection for `uninstall`: interrupt it at every step boundary, then run it again; the end state
// must be the clean one and nothing of "another team's" kube-prometheus-stack may be gone.
//  - kill: test/support/kill-at-point.mjs, preloaded with KUBECTL_INSIGHT_TEST_KILL_AFTER=<point>, SIGKILLs the
//    process right after the uninstall action reports <point> on its diagnostics channel.
//  - API outage: the same hook with SIGSTOP freezes it at <point>; the test cuts a loopback TCP proxy that
//    stands between the CLI (and its helm) and the API server, resumes the process, keeps the API away
//    for OUTAGE_MS, then restores it.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INJECTION_POINTS } from '../../src/actions/uninstall/index.js';
import {
  cleanup, cli, cluster, dropPrivateBuild, ensureCrds, helm, HELM_LIST_ALL, helmLabel, helmMajor, installChart, installKps, kubectl, namespaceGone,
  presentCrds, procState, SHARED_CRDS, snapshotObjects, spawnCli, startApiProxy, usePrivateBuild, waitFor, type ApiProxy,
} from './support/index.js';

// Only the helm-release step runs helm; the other steps are kubectl-insight's own API calls, alike on
// both majors. So the helm 3 pass injects the faults at the boundaries around that step, and the helm 4
// pass at every boundary.
const POINTS = helmMajor() === 3 ? INJECTION_POINTS.filter((p) => p === 'custom-resources' || p === 'helm-release') : INJECTION_POINTS;

const NS = 'uninst-faults';
const REL = 'uninst-faults-rel';
const KPS_NS = 'uninst-faults-kps';
const KPS_REL = 'uninst-faults-kps';
const CID = 'cfaults';
const OUTAGE_MS = 8_000;
const SHORT_OUTAGE_MS = 1_500;
const args = ['uninstall', '--yes', '-n', NS, '--release', REL, '--purge-crds', '--delete-namespace', '--timeout', '15s', '-o', 'json'];

let kpsBefore: Record<string, unknown>[] = [];
let proxy: ApiProxy;
let crdsAtStart: string[] = [];
const results: string[] = [];

/** Everything of kube-prometheus-stack (its namespace, its objects anywhere), by uid and spec. */
const kpsState = () => snapshotObjects((o) => o.namespace === KPS_NS || (o.kind === 'CustomResourceDefinition' && SHARED_CRDS.includes(String(o.name))));

async function assertClean(): Promise<void> {
  const rel = JSON.parse((await helm(['list', '-n', NS, ...HELM_LIST_ALL, '-o', 'json'])).stdout) as unknown[];
  expect(rel).toEqual([]);
  expect((await kubectl(['get', 'ns', NS], { allowFail: true })).exitCode).not.toBe(0);
  // The two CRDs only we use are gone; the shared ones stay because kps uses them.
  expect(await presentCrds()).toEqual([...SHARED_CRDS].sort());
  expect(await kpsState()).toEqual(kpsBefore);
}

beforeAll(async () => {
  cluster();
  await usePrivateBuild();
  crdsAtStart = await presentCrds();
  await cleanup(REL, NS, CID);
  await ensureCrds();
  await helm(['uninstall', KPS_REL, '-n', KPS_NS, '--wait'], { allowFail: true });
  await installKps(KPS_REL, KPS_NS);
  kpsBefore = await kpsState();
  proxy = await startApiProxy();
});

afterAll(async () => {
  dropPrivateBuild();
  await proxy?.close();
  await cleanup(REL, NS, CID);
  await ensureCrds();
  await helm(['uninstall', KPS_REL, '-n', KPS_NS, '--wait'], { allowFail: true });
  await kubectl(['delete', 'ns', KPS_NS, '--ignore-not-found', '--wait=false'], { allowFail: true });
  await namespaceGone(KPS_NS);
  const extra = (await presentCrds()).filter((c) => !crdsAtStart.includes(c));
  if (extra.length) await kubectl(['delete', 'crd', ...extra, '--ignore-not-found']);
  console.log(`[faults] ${results.length} injections:\n  ${results.join('\n  ')}`);
});

/** The environment that makes the CLI signal itself right after `point` (the preload is test-only). */
function killAt(point: string, signal = 'SIGKILL'): Record<string, string> {
  const hook = fileURLToPath(new URL('../support/kill-at-point.mjs', import.meta.url));
  return { NODE_OPTIONS: `--import=${hook}`, KUBECTL_INSIGHT_TEST_KILL_AFTER: point, KUBECTL_INSIGHT_TEST_KILL_SIGNAL: signal };
}

describe.sequential(`uninstall: killed at each step boundary, then run again (${helmLabel()})`, () => {
  it.each(POINTS.map((p) => [p]))('SIGKILL after %s', async (point) => {
    await ensureCrds();
    await installChart(REL, NS, CID);
    const first = await cli(args, { env: killAt(point) });
    // The point was reached and the process died there (no output, no exit code).
    expect(first.signal, `${first.stdout}\n${first.stderr}`).toBe('SIGKILL');
    const second = await cli(args);
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    await assertClean();
    const j = JSON.parse(second.stdout) as { result: string };
    results.push(`kill after ${point}: killed after ${first.ms} ms; re-run ${j.result} in ${second.ms} ms; clean`);
  });
});

/** Freeze the CLI at `point`, take the API away for `outageMs`, resume; returns the first run's result. */
async function outageAt(point: string, outageMs: number): Promise<{ exitCode: number; stdout: string; stderr: string; ms: number }> {
  const child = spawnCli(args, { kubeconfig: proxy.kubeconfig, env: killAt(point, 'SIGSTOP') });
  const pid = child.pid!;
  // Frozen at the point (state T), or already exited if something went wrong (then the test fails below).
  await waitFor(`CLI stopped after ${point}`, () => procState(pid) === 'T' || procState(pid) === undefined || procState(pid) === 'Z', { timeoutMs: 120_000, intervalMs: 50 });
  expect(procState(pid)).toBe('T');
  await proxy.stop();
  const t0 = Date.now();
  process.kill(pid, 'SIGCONT');
  await new Promise((r) => setTimeout(r, outageMs));
  await proxy.start();
  const first = await child;
  return { exitCode: first.exitCode ?? -1, stdout: String(first.stdout), stderr: String(first.stderr), ms: Date.now() - t0 };
}

describe.sequential(`uninstall: API server away for a while at each step boundary, then run again (${helmLabel()})`, () => {
  it.each(POINTS.map((p) => [p]))('API outage after %s', async (point) => {
    await ensureCrds();
    await installChart(REL, NS, CID);
    const first = await outageAt(point, OUTAGE_MS);
    // Either it rode out the outage (retries, re-watches) or it failed with a classified error; never a bug.
    expect(first.exitCode === 0 || [1, 3, 7].includes(first.exitCode), `${first.stdout}\n${first.stderr}`).toBe(true);
    if (first.exitCode !== 0) expect(first.stdout).toMatch(/"kind": "(unreachable|server|timeout|failed)"/);
    const second = await cli(args, { kubeconfig: proxy.kubeconfig });
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    await assertClean();
    const kind = first.exitCode === 0 ? 'finished after the API came back' : `failed (exit ${first.exitCode}: ${/"message": "([^"]*)"/.exec(first.stdout)?.[1] ?? '?'})`;
    results.push(`API away ${OUTAGE_MS} ms after ${point}: first run ${kind} ${first.ms} ms after resume; re-run ${JSON.parse(second.stdout).result} in ${second.ms} ms; clean`);
  });

  // A blip shorter than kubeCall's retries: the run in progress (waiting by watch) must ride it out.
  it.each([['custom-resources:delete-sent'], ['helm-release']])('short API blip after %s is ridden out', async (point) => {
    await ensureCrds();
    await installChart(REL, NS, CID);
    const first = await outageAt(point, SHORT_OUTAGE_MS);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    await assertClean();
    results.push(`API away ${SHORT_OUTAGE_MS} ms after ${point}: first run finished (exit 0) ${first.ms} ms after resume; clean`);
  });
});
