/**
 * Exporter reachability through the API server's pod proxy: every pod of every exporter is asked
 * (bounded concurrency, one timeout each), and a sample per component has its full /metrics fetched
 * and validated as Prometheus text with the expected families. A DaemonSet's other pods get a light
 * request (the exporter's `/`): on 1,000 nodes, 1,000 full scrapes through the API server would cost
 * the API server hundreds of MB and the exporters real CPU; `--full-scrape` asks for them anyway.
 */
import pLimit from 'p-limit';
import type { V1Pod } from '@kubernetes/client-node';
import type { Check, Finding, Severity } from '../engine.js';
import type { DoctorContext } from './context.js';
import { EXPORTERS, metricsPort, podsOf, workloadsOf, type Component } from './components.js';
import { cachedProbe, describeOutcome, probeScheme, type Scheme, type SchemeProbe } from './probe.js';
import { looksLikeHtml, missingFamilies, validatePromText } from './promtext.js';
import { targetNode } from './pods.js';

const CATEGORY = 'Exporters';

export interface PodVerdict {
  pod: string;
  node?: string;
  /** ok | auth | invalid | families | <probe outcome> */
  kind: string;
  severity: Severity | 'ok';
  detail: string;
  scheme?: Scheme;
}

/** The verdict on one pod from its probe (and, for sampled pods, its /metrics body). */
export function judgeProbe(c: Component, pod: string, node: string | undefined, r: SchemeProbe, full: boolean): PodVerdict {
  const best = r.best;
  const base = { pod, ...(node ? { node } : {}), ...(r.speaks !== 'none' ? { scheme: r.speaks } : {}) };
  if (best.outcome === 'ok') {
    if (!full) return { ...base, kind: 'ok', severity: 'ok', detail: `answers over ${r.speaks}` };
    const body = best.body ?? '';
    if (looksLikeHtml(body)) return { ...base, kind: 'invalid', severity: 'fatal', detail: `${c.path} returns an HTML page, not Prometheus text` };
    const v = validatePromText(body);
    if (!v.valid) return { ...base, kind: 'invalid', severity: 'fatal', detail: `${c.path} is not valid Prometheus text: ${v.errors.slice(0, 2).join('; ')}` };
    const missing = missingFamilies(v, c.families);
    if (missing.length) return { ...base, kind: 'families', severity: 'warning', detail: `${c.path} lacks ${missing.join(', ')} (${v.samples} samples)` };
    return { ...base, kind: 'ok', severity: 'ok', detail: `${v.samples} samples, has ${c.families.join(', ')}` };
  }
  if (best.outcome === 'unauthorized' || best.outcome === 'forbidden') {
    return { ...base, kind: 'auth', severity: 'info', detail: `${describeOutcome(best)} over ${r.speaks}: ${best.detail}` };
  }
  if (best.outcome === 'http-error') {
    // A light probe of `/` only asks "does an HTTP server answer": any status proves that.
    if (!full) return { ...base, kind: 'ok', severity: 'ok', detail: `answers over ${r.speaks} (${best.status} on /)` };
    return { ...base, kind: 'http-error', severity: 'fatal', detail: `${c.path} answers ${best.detail}` };
  }
  const tried = Object.entries(r.tried).map(([s, x]) => `${s}: ${describeOutcome(x)}`).join(', ');
  return { ...base, kind: best.outcome, severity: 'fatal', detail: `${best.detail}${Object.keys(r.tried).length > 1 ? ` (${tried})` : ''}` };
}

function hintFor(kind: string, c: Component, port: number, ns: string, example?: PodVerdict): string {
  const logs = example ? `\`kubectl logs -n ${ns} ${example.pod} --all-containers --tail=50\`` : '';
  switch (kind) {
    case 'refused':
      return `Nothing listens on port ${port} at the pod's address: is ${c.title} running and bound to the pod/node IP (not 127.0.0.1)? ${logs}`.trim();
    case 'timeout':
      return `Packets to port ${port} are dropped: a firewall, security group or NetworkPolicy blocks TCP ${port} from the API server to the nodes; allow it (the collector needs the same path).`;
    case 'unreachable':
      return `The API server has no route to the pod/node address: check node networking (\`kubectl get nodes -o wide\`) and the CNI.`;
    case 'tls-error':
    case 'wrong-protocol':
      return `The endpoint answers neither http nor https cleanly on port ${port}: check the exporter's listen address and TLS setup. ${logs}`.trim();
    case 'api-forbidden':
      return `Your user may not proxy to pods: \`kubectl auth can-i get pods/proxy -n ${ns}\`; ask for a Role with resources ["pods/proxy"], verbs ["get"].`;
    case 'no-target':
      return `The pod has no address the API server will proxy to (not scheduled, or a non-routable IP): see pods.health.`;
    case 'invalid':
      return `The endpoint does not serve Prometheus text on ${c.path}: check the image and its args (another program may hold the port). ${logs}`.trim();
    case 'families':
      return `The exporter runs but lacks expected metrics: check its collectors/flags and version (\`--set\` the chart's ${c.key} image to a supported tag).`;
    case 'http-error':
      return `The exporter answers with an error: ${logs}`.trim();
    case 'auth':
      return 'Expected behind kube-rbac-proxy: the port is reachable and requires a bearer token, so its content was not checked. The collector must send its service-account token (ServiceMonitor bearerTokenFile).';
    default:
      return logs;
  }
}

const list = (xs: string[], n = 10) => (xs.length > n ? `${xs.slice(0, n).join(', ')} and ${xs.length - n} more` : xs.join(', '));

function runningPods(pods: V1Pod[]): V1Pod[] {
  return pods.filter((p) => p.status?.phase === 'Running' && p.status?.podIP && !p.metadata?.deletionTimestamp);
}

/** The scheme the installation's ServiceMonitor declares for this component, as the first guess. */
async function declaredScheme(ctx: DoctorContext, c: Component): Promise<Scheme> {
  try {
    const { items } = await ctx.serviceMonitors();
    const sm = items.find((m) => m.metadata.namespace === ctx.opts.namespace && c.match.test(m.metadata.name));
    return sm?.spec.endpoints?.[0]?.scheme === 'https' ? 'https' : 'http';
  } catch {
    return 'http';
  }
}

/** Remember who answered (for the scrape chain) and which nodes are silent (for the kubelet sample). */
function note(ctx: DoctorContext, ns: string, p: V1Pod, port: number, r: SchemeProbe): void {
  const node = p.spec?.nodeName;
  if (r.speaks !== 'none') {
    ctx.answered.set(`${ns}/${p.metadata!.name}:${port}`, r.speaks);
    if (node) ctx.nodesAnswering.add(node);
  } else if (node && (r.best.outcome === 'timeout' || r.best.outcome === 'unreachable')) {
    ctx.nodesSilent.add(node);
  }
  ctx.learned();
}

/** The scheme of the first sampled probe that got an HTTP answer; undefined when none did. */
async function firstAnswer(probes: Array<Promise<SchemeProbe>>): Promise<Scheme | undefined> {
  return new Promise((resolve) => {
    let left = probes.length;
    if (!left) resolve(undefined);
    for (const p of probes) {
      void p.then((r) => {
        if (r.speaks !== 'none') resolve(r.speaks);
        if (--left === 0) resolve(undefined);
      });
    }
  });
}

/** A probe still unanswered after this long is probably black-holed: it moves to the slow pool. */
export const slowAfterMs = (timeoutMs: number) => Math.min(1000, Math.max(100, Math.floor(timeoutMs / 10)));

/**
 * Run fn over items with `concurrency` probes in flight, where a probe that is slower than
 * `slowAfter` gives its slot to the next one and waits out its own timeout in a pool of at most
 * `slowPool`. So 50 black-holed exporters among 1,000 cost about one probe timeout in total, not
 * 50/concurrency timeouts in a row; and in-flight requests stay bounded by concurrency + slowPool.
 */
export async function probeBounded<T>(items: T[], concurrency: number, slowPool: number, slowAfter: number, fn: (item: T) => Promise<void>): Promise<void> {
  const limit = pLimit(Math.max(1, concurrency));
  let slow = 0;
  const all: Array<Promise<void>> = [];
  await Promise.all(
    items.map((item) =>
      limit(async () => {
        const p = fn(item);
        all.push(p);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((r) => {
          timer = setTimeout(() => r('late'), slowAfter);
        });
        const first = await Promise.race([p.then(() => 'done' as const), late]);
        clearTimeout(timer);
        if (first === 'done') return;
        if (slow >= slowPool) return p; // the slow pool is full: keep the slot until this one ends
        slow++;
        void p.finally(() => slow--);
      }),
    ),
  );
  await Promise.all(all);
}

export function exporterCheck(c: Component): Check<DoctorContext> {
  return {
    id: `exporters.${c.key}`,
    category: CATEGORY,
    description: `${c.title} answers with valid metrics`,
    severity: 'fatal',
    timeoutMs: 300_000,
    async run(ctx) {
      const ns = ctx.opts.namespace;
      const ws = workloadsOf(c, await ctx.workloads());
      if (!ws.length) return { status: 'skipped', message: `${c.title} is not installed (disabled in the values?)` };
      const pods = (await Promise.all(ws.map((w) => podsOf(ctx, w)))).flat();
      const running = runningPods(pods);
      if (!running.length) {
        return { status: 'skipped', message: `${c.title}: no Running pod to probe${pods.length ? ' (see pods.health)' : ''}`, object: `${ws[0]!.kind.toLowerCase()}/${ns}/${ws[0]!.metadata?.name}` };
      }
      const isDaemon = ws.some((w) => w.kind === 'DaemonSet');
      const sampleSize = isDaemon ? Math.min(running.length, Math.max(1, ctx.opts.scrapeSample)) : running.length;
      const sample = running.slice(0, sampleSize);
      const rest = running.slice(sampleSize);
      const port = metricsPort(running[0]!, c);
      let first = await declaredScheme(ctx, c);
      const verdicts: PodVerdict[] = [];
      // The sample first: it teaches which scheme the rest speak, so they need one request each. The
      // rest start as soon as one sampled pod answers (a black-holed sample must not hold them back).
      ctx.probesStarted();
      const sampling = sample.map(async (p) => {
        const r = await cachedProbe(ctx, ns, p.metadata!.name!, metricsPort(p, c), c.path, first);
        note(ctx, ns, p, metricsPort(p, c), r);
        verdicts.push(judgeProbe(c, p.metadata!.name!, targetNode(p), r, true));
        return r;
      });
      const learned = await firstAnswer(sampling);
      if (learned) first = learned;
      let done = sample.length;
      await probeBounded(rest, ctx.opts.concurrency, ctx.opts.slowPool, slowAfterMs(ctx.opts.probeTimeoutMs), async (p) => {
        const r = await probeScheme(ctx, ns, p.metadata!.name!, metricsPort(p, c), '/', first, 64 * 1024);
        note(ctx, ns, p, metricsPort(p, c), r);
        verdicts.push(judgeProbe(c, p.metadata!.name!, targetNode(p), r, false));
        done++;
        if (done % 50 === 0) ctx.progress(`${c.title}: ${done}/${running.length} pods probed`);
      });
      await Promise.all(sampling);
      // Probes finish in any order; the report must not.
      verdicts.sort((a, b) => (a.node ?? a.pod).localeCompare(b.node ?? b.pod, 'en', { numeric: true }) || a.pod.localeCompare(b.pod));
      const findings: Finding[] = [];
      const ok = verdicts.filter((v) => v.severity === 'ok');
      const wkind = ws[0]!.kind.toLowerCase();
      const wname = ws[0]!.metadata?.name;
      if (ok.length) {
        const schemes = [...new Set(ok.map((v) => v.scheme))].join('/');
        findings.push({
          status: 'passed',
          message: `${c.title} answers over ${schemes} on ${ok.length} of ${running.length} pods${sampleSize < running.length ? ` (metrics validated on ${sample.length})` : ''}`,
          object: `${wkind}/${ns}/${wname}`,
          evidence: ok.filter((v) => v.detail.includes('samples')).slice(0, 3).map((v) => `${v.pod}${v.node ? ` on ${v.node}` : ''}: ${v.detail}`),
        });
      }
      const byKind = new Map<string, PodVerdict[]>();
      for (const v of verdicts.filter((x) => x.severity !== 'ok')) byKind.set(v.kind, [...(byKind.get(v.kind) ?? []), v]);
      for (const [kind, vs] of byKind) {
        const one = vs.length === 1 ? vs[0]! : undefined;
        const what = kind === 'auth' ? 'requires authentication' : kind === 'families' ? 'lacks expected metrics' : kind === 'invalid' ? 'serves invalid metrics' : describeOutcome({ outcome: kind as never, detail: '', ms: 0, url: '', ...(vs[0]!.detail.match(/HTTP (\d+)/) ? { status: Number(vs[0]!.detail.match(/HTTP (\d+)/)![1]) } : {}) });
        findings.push({
          status: 'failed',
          severity: vs[0]!.severity as Severity,
          message: `${c.title} port ${port}: ${what} on ${vs.length} of ${running.length} pod${running.length === 1 ? '' : 's'}${one?.node ? ` (node ${one.node})` : ''}`,
          object: one ? `pod/${ns}/${one.pod}` : `${wkind}/${ns}/${wname}`,
          evidence: vs.slice(0, 10).map((v) => `${v.node ? `node ${v.node}, ` : ''}pod ${v.pod}: ${v.detail}`).concat(vs.length > 10 ? [`... and ${vs.length - 10} more: ${list(vs.slice(10).map((v) => v.node ?? v.pod), 20)}`] : []),
          hint: hintFor(kind, c, port, ns, vs[0]),
        });
      }
      return findings;
    },
  };
}

export const exporterChecks: Check<DoctorContext>[] = EXPORTERS.map(exporterCheck);
