/**
 * One preflight run against one context, as the command and each context of a fleet run make it: the
 * input with this context's clients, namespace and release, the report, and the meta its renderers print.
 */
import type { Configuration } from '../configuration.js';
import { exitCodeFor, type Observer, type Report } from '../checks/engine.js';
import { resolveInput, runPreflight, type PreflightInput } from '../checks/preflight/index.js';
import type { PreflightMeta } from '../output/preflight.js';

/** Everything but the cluster: flags, region, key and values, the same for every context. */
export type PreflightPlan = Omit<PreflightInput, 'kubeconfig' | 'context' | 'namespace' | 'release' | 'deps'> & { failOn: 'fatal' | 'warning' };

export interface PreflightSession {
  report: Report;
  meta: PreflightMeta;
  exitCode: number;
}

export async function preflightSession(cfg: Configuration, plan: PreflightPlan, where: { namespace: string; release: string }, observer: Observer = {}): Promise<PreflightSession> {
  const { failOn, ...rest } = plan;
  const kube = await cfg.kube();
  const input: PreflightInput = { ...rest, ...cfg.connection, namespace: where.namespace, release: where.release, deps: { kube, helm: await cfg.helm() } };
  const resolved = resolveInput(input);
  const started = Date.now();
  const report = await runPreflight(input, observer);
  const meta: PreflightMeta = {
    context: kube.context,
    server: kube.server,
    namespace: resolved.namespace,
    release: resolved.release,
    ...(resolved.region ? { region: resolved.region } : {}),
    net: resolved.net,
    networkVantage: resolved.fromLocal ? 'local' : 'nodes',
    ...(resolved.fromLocal ? {} : { probeImage: resolved.probeImage }),
    failOn,
    durationMs: Date.now() - started,
  };
  return { report, meta, exitCode: exitCodeFor(report, failOn) };
}
