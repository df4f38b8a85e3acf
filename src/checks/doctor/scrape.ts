/**
 * The scrape chain of each ServiceMonitor/PodMonitor: selector → Services (or pods), port name →
 * a port they have, Service → ready endpoints, and the declared scheme against what the endpoint
 * speaks (asked through the pod proxy in both schemes). Seeds 002 (https/http mismatch, port name)
 * and 003 (a Service that selects nothing).
 */
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import type { Check, Finding } from '../engine.js';
import type { DoctorContext, EndpointSlice, MonitorEndpoint, PodMonitor, ServiceMonitor } from './context.js';
import { describeSelector, matchesMap, matchesSelector } from '../../kube/selectors.js';
import { cachedProbe, describeOutcome, type Scheme, type SchemeProbe } from './probe.js';

const CATEGORY = 'Scrape chain';
const DEFAULT_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';

const list = (xs: string[], n = 8) => (xs.length > n ? `${xs.slice(0, n).join(', ')} and ${xs.length - n} more` : xs.join(', ') || '<none>');

function monitorNamespaces(m: ServiceMonitor | PodMonitor): string[] {
  const sel = m.spec.namespaceSelector;
  if (sel?.any) return ['*'];
  if (sel?.matchNames?.length) return sel.matchNames;
  return [m.metadata.namespace];
}

/** What the scheme probe says about the declared scheme and the TLS/token settings. */
export function judgeScheme(monitor: string, ep: MonitorEndpoint, r: SchemeProbe, target: string): Finding[] {
  const declared: Scheme = ep.scheme === 'https' ? 'https' : 'http';
  const out: Finding[] = [];
  const tried = Object.entries(r.tried).map(([s, x]) => `${s}: ${describeOutcome(x)}${x.outcome !== 'ok' ? ` (${x.detail})` : ''}`);
  if (r.speaks === 'none') {
    out.push({
      status: 'failed',
      message: `${monitor}: the endpoint ${target} does not answer (${describeOutcome(r.best)})`,
      evidence: tried,
      hint: 'See the Exporters category for this target; the scraper sees the same.',
    });
    return out;
  }
  if (r.speaks !== declared) {
    out.push({
      status: 'failed',
      message: `${monitor}: scheme ${declared} but the endpoint ${target} speaks ${r.speaks}`,
      evidence: tried,
      hint:
        r.speaks === 'https'
          ? `Set \`scheme: https\` with \`tlsConfig: {insecureSkipVerify: true}\` (or the CA) on this endpoint (\`kubectl edit servicemonitor ...\`); for the chart's own monitors re-run \`kubectl insight upgrade\` so its values agree (kube-rbac-proxy serves https).`
          : `Set \`scheme: http\` on this endpoint (\`kubectl edit servicemonitor ...\`): the exporter serves plain http.`,
    });
    return out;
  }
  const authNeeded = r.best.outcome === 'unauthorized' || r.best.outcome === 'forbidden';
  const sendsToken = !!(ep.bearerTokenFile || ep.bearerTokenSecret?.name || ep.authorization?.credentials || ep.authorization?.type);
  if (authNeeded && !sendsToken) {
    out.push({
      status: 'failed',
      message: `${monitor}: the endpoint ${target} requires a token (${describeOutcome(r.best)}) but the monitor sends none`,
      evidence: tried,
      hint: `Add \`bearerTokenFile: ${DEFAULT_TOKEN_FILE}\` to this endpoint, and grant the collector's service account \`get\` on the exporter's resource (kube-rbac-proxy checks it).`,
    });
  }
  if (declared === 'https' && !ep.tlsConfig?.insecureSkipVerify && !ep.tlsConfig?.ca && !ep.tlsConfig?.caFile) {
    out.push({
      status: 'failed',
      severity: 'warning',
      message: `${monitor}: scheme https without tlsConfig: the scraper verifies the certificate against system CAs`,
      evidence: [`tlsConfig=${JSON.stringify(ep.tlsConfig ?? {})}`],
      hint: 'A self-signed certificate (kube-rbac-proxy) then fails with "certificate issuer not trusted": set `tlsConfig.ca` (or `caFile`) to the serving CA, or `insecureSkipVerify: true`.',
    });
  }
  if (declared === 'http' && sendsToken && ep.bearerTokenFile) {
    out.push({
      status: 'failed',
      severity: 'warning',
      message: `${monitor}: a bearer token is sent over plain http`,
      evidence: [`bearerTokenFile=${ep.bearerTokenFile}`, 'scheme=http'],
      hint: 'Use https for authenticated endpoints, or drop bearerTokenFile if the endpoint needs no token.',
    });
  }
  if (ep.bearerTokenFile && ep.bearerTokenFile !== DEFAULT_TOKEN_FILE) {
    out.push({
      status: 'failed',
      severity: 'warning',
      message: `${monitor}: bearerTokenFile ${ep.bearerTokenFile} is not the service-account token path`,
      evidence: [`bearerTokenFile=${ep.bearerTokenFile}`],
      hint: `The file must exist inside the collector pod; the usual path is ${DEFAULT_TOKEN_FILE}.`,
    });
  }
  if (!out.length) out.push({ status: 'passed', message: `${monitor}: ${target} speaks ${declared} as declared${authNeeded ? ' (token required and sent)' : ''}` });
  return out;
}

/** `exportersDone` settles when the exporter checks have ended (RunEnv.settled): until then their probes may still name a pod that answers. */
export async function checkServiceMonitor(ctx: DoctorContext, sm: ServiceMonitor, exportersDone: Promise<unknown> = Promise.resolve()): Promise<Finding[]> {
  const name = `ServiceMonitor ${sm.metadata.namespace}/${sm.metadata.name}`;
  const object = `servicemonitor/${sm.metadata.namespace}/${sm.metadata.name}`;
  const namespaces = monitorNamespaces(sm);
  const services: V1Service[] = (await Promise.all(namespaces.map((n) => ctx.services(n)))).flat();
  const selected = services.filter((s) => matchesSelector(s.metadata?.labels, sm.spec.selector ?? {}));
  const f = (x: Finding): Finding => ({ object, ...x });
  if (!selected.length) {
    const near = services.filter((s) => namespaces.includes('*') || namespaces.includes(s.metadata?.namespace ?? '')).slice(0, 5);
    return [
      f({
        status: 'failed',
        message: `${name}: its selector matches no Service`,
        evidence: [`selector: ${describeSelector(sm.spec.selector)}`, `namespaces: ${namespaces.join(', ')}`, ...near.map((s) => `service ${s.metadata?.namespace}/${s.metadata?.name} labels: ${describeSelector({ matchLabels: s.metadata?.labels ?? {} })}`)],
        hint: `Make spec.selector match the Service's labels (\`kubectl get svc -n ${namespaces[0] === '*' ? '<ns>' : namespaces[0]} --show-labels\`).`,
      }),
    ];
  }
  const findings: Finding[] = [];
  for (const [i, ep] of (sm.spec.endpoints ?? []).entries()) {
    const epName = `${name} endpoint ${ep.port ?? ep.targetPort ?? i}`;
    const withPort = ep.port ? selected.filter((s) => (s.spec?.ports ?? []).some((p) => p.name === ep.port)) : selected;
    if (!withPort.length) {
      findings.push(
        f({
          status: 'failed',
          message: `${epName}: port "${ep.port}" matches no port of the selected Service${selected.length > 1 ? 's' : ''}`,
          evidence: selected.slice(0, 5).map((s) => `service ${s.metadata?.namespace}/${s.metadata?.name} ports: ${list((s.spec?.ports ?? []).map((p) => `${p.name ?? '<unnamed>'}=${p.port}`))}`),
          hint: `Set the endpoint's \`port:\` to one of the Service's port names (a ServiceMonitor matches ports by name, not number).`,
        }),
      );
      continue;
    }
    // Endpoints of the matching Services: one list of EndpointSlices per namespace, shared.
    let ready: Array<{ svc: V1Service; slice: EndpointSlice; addr: string; pod?: { ns: string; name: string }; port?: number }> = [];
    const notReady: string[] = [];
    for (const svc of withPort) {
      const sns = svc.metadata?.namespace ?? '';
      const slices = (await ctx.endpointSlices(sns)).filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata?.name);
      let total = 0;
      for (const sl of slices) {
        const port = ep.port ? sl.ports?.find((p) => p.name === ep.port)?.port : sl.ports?.[0]?.port;
        for (const e of sl.endpoints ?? []) {
          total++;
          const addr = e.addresses[0] ?? '?';
          if (e.conditions?.ready === false) notReady.push(`${addr}${e.targetRef?.name ? ` (${e.targetRef.name})` : ''}`);
          else ready.push({ svc, slice: sl, addr, port, ...(e.targetRef?.kind === 'Pod' && e.targetRef.name ? { pod: { ns: e.targetRef.namespace ?? sns, name: e.targetRef.name } } : {}) });
        }
      }
      if (!total) {
        const sel = svc.spec?.selector;
        let why = 'it has no endpoints';
        if (!sel || !Object.keys(sel).length) why = 'it has no selector and no manually managed endpoints';
        else if (sns === ctx.opts.namespace) {
          const pods = await ctx.pods();
          const matched = pods.filter((p) => matchesMap(p.metadata?.labels, sel));
          why = matched.length ? `its selector matches ${matched.length} pod(s), none Ready` : 'its selector matches no pod';
        } else why = 'its selector matches no Ready pod';
        findings.push(
          f({
            status: 'failed',
            message: `${epName}: Service ${sns}/${svc.metadata?.name} has no endpoints: ${why}`,
            object: `service/${sns}/${svc.metadata?.name}`,
            evidence: [`service selector: ${describeSelector({ matchLabels: sel ?? {} })}`, `EndpointSlices: ${slices.length}, endpoints: 0`],
            hint: `Make the Service's selector match the pod labels: compare \`kubectl get svc -n ${sns} ${svc.metadata?.name} -o jsonpath='{.spec.selector}'\` with \`kubectl get pods -n ${sns} --show-labels\`.`,
          }),
        );
      }
    }
    if (!ready.length) {
      if (notReady.length) {
        findings.push(
          f({
            status: 'failed',
            message: `${epName}: no ready endpoints (${notReady.length} not ready)`,
            evidence: [`not ready: ${list(notReady)}`],
            hint: 'The pods behind the Service fail their readiness probe: see pods.health.',
          }),
        );
      }
      continue;
    }
    // Ask one ready pod in both schemes; pods of one Service serve alike.
    // Prefer a pod already known to answer: one black-holed node must not cost this check a timeout
    // (the exporter checks report that node); the scheme question is the same for every pod.
    const answered = (x: (typeof ready)[number]) => !!x.pod && ctx.answered.has(`${x.pod.ns}/${x.pod.name}:${x.port}`);
    await ctx.whenKnown(() => ready.some(answered), exportersDone);
    const rank = (x: (typeof ready)[number]) => (!x.pod ? 2 : answered(x) ? 0 : 1);
    ready = ready.sort((a, b) => rank(a) - rank(b));
    const target = ready[0]!;
    if (!target.pod || !target.port) {
      findings.push(f({ status: 'passed', message: `${epName}: ${ready.length} ready endpoints (scheme not probed: no pod behind ${target.addr})` }));
      continue;
    }
    const declared: Scheme = ep.scheme === 'https' ? 'https' : 'http';
    const r = await cachedProbe(ctx, target.pod.ns, target.pod.name, target.port, ep.path ?? '/metrics', declared);
    const judged = judgeScheme(epName, ep, r, `${target.pod.name}:${target.port}`);
    for (const j of judged) findings.push(f({ ...j, ...(j.status === 'passed' ? { message: `${j.message} (${ready.length} ready endpoints)` } : {}) }));
  }
  if (!(sm.spec.endpoints ?? []).length) findings.push(f({ status: 'failed', severity: 'warning', message: `${name} has no endpoints`, hint: 'Add spec.endpoints with a port name.' }));
  return findings;
}

export async function checkPodMonitor(ctx: DoctorContext, pm: PodMonitor, exportersDone: Promise<unknown> = Promise.resolve()): Promise<Finding[]> {
  const name = `PodMonitor ${pm.metadata.namespace}/${pm.metadata.name}`;
  const object = `podmonitor/${pm.metadata.namespace}/${pm.metadata.name}`;
  const f = (x: Finding): Finding => ({ object, ...x });
  const pods: V1Pod[] = (await Promise.all(monitorNamespaces(pm).map((n) => ctx.podsMatching(n, pm.spec.selector ?? {})))).flat();
  if (!pods.length) {
    return [f({ status: 'failed', message: `${name}: its selector matches no pod`, evidence: [`selector: ${describeSelector(pm.spec.selector)}`, `namespaces: ${monitorNamespaces(pm).join(', ')}`], hint: 'Make spec.selector match the pods\' labels (`kubectl get pods --show-labels`).' })];
  }
  const findings: Finding[] = [];
  for (const [i, ep] of (pm.spec.podMetricsEndpoints ?? []).entries()) {
    const epName = `${name} endpoint ${ep.port ?? ep.targetPort ?? i}`;
    const portOf = (p: V1Pod) => (p.spec?.containers ?? []).flatMap((c) => c.ports ?? []).find((x) => (ep.port ? x.name === ep.port : true));
    const withPort = pods.filter((p) => portOf(p));
    if (!withPort.length) {
      const names = [...new Set(pods.flatMap((p) => (p.spec?.containers ?? []).flatMap((c) => c.ports ?? []).map((x) => `${x.name ?? '<unnamed>'}=${x.containerPort}`)))];
      findings.push(f({ status: 'failed', message: `${epName}: port "${ep.port}" matches no container port of the ${pods.length} selected pods`, evidence: [`container ports: ${list(names)}`], hint: 'Set the endpoint\'s `port:` to a container port name.' }));
      continue;
    }
    const ready = withPort.filter((p) => p.status?.phase === 'Running' && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'));
    if (!ready.length) {
      findings.push(f({ status: 'failed', message: `${epName}: none of the ${withPort.length} selected pods is Ready`, hint: 'See pods.health.' }));
      continue;
    }
    const answered = (x: V1Pod) => ctx.answered.has(`${x.metadata!.namespace}/${x.metadata!.name}:${portOf(x)!.containerPort}`);
    await ctx.whenKnown(() => ready.some(answered), exportersDone);
    const p = ready.find(answered) ?? ready[0]!;
    const r = await cachedProbe(ctx, p.metadata!.namespace!, p.metadata!.name!, portOf(p)!.containerPort, ep.path ?? '/metrics', ep.scheme === 'https' ? 'https' : 'http');
    for (const j of judgeScheme(epName, ep, r, `${p.metadata!.name}:${portOf(p)!.containerPort}`)) findings.push(f({ ...j, ...(j.status === 'passed' ? { message: `${j.message} (${ready.length} ready pods)` } : {}) }));
  }
  return findings;
}

export const scrapeChecks: Check<DoctorContext>[] = [
  {
    id: 'scrape.servicemonitors',
    category: CATEGORY,
    description: 'ServiceMonitors select Services with a matching port, ready endpoints and the right scheme',
    severity: 'fatal',
    timeoutMs: 120_000,
    async run(ctx, _signal, run) {
      const { items, missing } = await ctx.serviceMonitors();
      if (missing) return { status: 'failed', severity: 'warning', message: 'the ServiceMonitor CRD is not installed', hint: 'The chart installs it; `kubectl get crd servicemonitors.monitoring.coreos.com`.' };
      const where = ctx.opts.allMonitors ? 'in the cluster' : `in ${ctx.opts.namespace}`;
      if (!items.length) return { status: 'skipped', message: `no ServiceMonitors ${where}` };
      return (await Promise.all(items.map((sm) => checkServiceMonitor(ctx, sm, run.settled('exporters.'))))).flat();
    },
  },
  {
    id: 'scrape.podmonitors',
    category: CATEGORY,
    description: 'PodMonitors select pods with a matching port and the right scheme',
    severity: 'fatal',
    timeoutMs: 120_000,
    async run(ctx, _signal, run) {
      const { items, missing } = await ctx.podMonitors();
      const where = ctx.opts.allMonitors ? 'in the cluster' : `in ${ctx.opts.namespace}`;
      if (missing || !items.length) return { status: 'skipped', message: `no PodMonitors ${where}` };
      return (await Promise.all(items.map((pm) => checkPodMonitor(ctx, pm, run.settled('exporters.'))))).flat();
    },
  },
];
