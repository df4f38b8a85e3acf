/**
 * Network checks: can the nodes (or, with --from-local, this machine) reach the Alibaba Cloud
 * endpoints the chart's components use, for the region and --net mode: DNS, TCP 443, verified TLS,
 * an HTTPS answer. One probe run (src/net) serves all of them; each check reads its endpoint's rows.
 */
import { endpointsFor, type Endpoint } from '../../cloud/endpoints.js';
import type { ProbeOutcome, ProbeReport, ProbeResult } from '../../net/types.js';
import type { Check, Finding } from '../engine.js';
import type { PreflightContext } from './context.js';

export const CATEGORY = 'network';

/** What each outcome usually means, for the hint. */
const OUTCOME_HINT: Record<ProbeOutcome, string> = {
  ok: '',
  'dns-failure': 'The name does not resolve from there: check the nodes\' DNS (CoreDNS upstreams, /etc/resolv.conf); in Intranet mode only Alibaba Cloud private DNS (100.100.2.136/138) resolves -intranet/-vpc names.',
  refused: 'Something actively rejects port 443 (a firewall REJECT rule or a proxy): allow outbound HTTPS to this host.',
  timeout: 'Packets are dropped on the way (security group, firewall, no NAT gateway/EIP for outbound traffic): allow outbound TCP 443 to this host.',
  unreachable: 'No route to the address: the nodes need a route to the Internet (NAT gateway) or, in Intranet mode, to Alibaba Cloud\'s VPC endpoints.',
  'tls-untrusted': 'The certificate is not Alibaba Cloud\'s: a TLS-intercepting proxy or DNS pointing elsewhere. Trust the proxy\'s CA on the nodes or exempt *.aliyuncs.com from interception.',
  'tls-other': 'The TLS handshake failed: a proxy or middlebox interferes with TLS to this host.',
  'http-on-https': 'A plain HTTP server answers on port 443: traffic is redirected to a proxy or a wrong address (check DNS and transparent proxies).',
  error: 'The endpoint did not answer HTTPS properly; see the message.',
};

function endpointFor(ctx: PreflightContext, service: 'cms' | 'sls'): Endpoint | undefined {
  if (!ctx.input.region) return undefined;
  return endpointsFor(ctx.input.region, ctx.input.net).find((e) => e.service === service);
}

/**
 * Turn one endpoint's rows into findings: every failing vantage point is its own finding (the node is
 * named); the passing ones are summarised in one, with the node list as evidence.
 */
export function decideEndpoint(ep: Endpoint, report: ProbeReport, opts: { net: string; fromLocal: boolean }): Finding[] {
  const rows = report.results.filter((r) => r.host === ep.host);
  const object = `endpoint/${ep.host}`;
  if (!rows.length) {
    const why = report.failures.length ? `no probe could run (${report.failures[0]!.message})` : 'no vantage point was probed';
    return [{ status: 'skipped', message: `${ep.host}: not measured: ${why}`, object }];
  }
  const ok = rows.filter((r) => r.outcome === 'ok');
  const bad = rows.filter((r) => r.outcome !== 'ok');
  const findings: Finding[] = bad.map((r: ProbeResult) => ({
    status: 'failed' as const,
    message: `${ep.host} ${describeOutcome(r.outcome)} from ${r.vantage}`,
    hint: [OUTCOME_HINT[r.outcome], ep.ifUnreachable].filter(Boolean).join(' '),
    object,
    vantage: r.vantage,
    evidence: [r.message, `outcome: ${r.outcome}`, ...(r.address ? [`address: ${r.address}`] : [])],
  }));
  if (ok.length) {
    const where = opts.fromLocal ? 'this machine' : `${ok.length} node${ok.length === 1 ? '' : 's'}`;
    const statuses = [...new Set(ok.map((r) => r.status))].join('/');
    findings.push({
      status: 'passed',
      message: `${ep.host}:443 reachable from ${where} (DNS, TCP, verified TLS, HTTPS ${statuses})`,
      object,
      vantage: opts.fromLocal ? 'local' : ok.length === 1 ? ok[0]!.vantage : `${ok.length} nodes`,
      evidence: ok.slice(0, 50).map((r) => `${r.vantage}: ${r.message}`).concat(ok.length > 50 ? [`... and ${ok.length - 50} more`] : []),
    });
  }
  return findings;
}

export function describeOutcome(o: ProbeOutcome): string {
  switch (o) {
    case 'dns-failure':
      return 'does not resolve';
    case 'refused':
      return 'refuses TCP 443';
    case 'timeout':
      return 'times out (black-holed)';
    case 'unreachable':
      return 'is unreachable (no route)';
    case 'tls-untrusted':
      return 'presents an untrusted certificate';
    case 'tls-other':
      return 'fails the TLS handshake';
    case 'http-on-https':
      return 'answers plain HTTP on 443';
    case 'ok':
      return 'is reachable';
    default:
      return 'fails';
  }
}

function endpointCheck(service: 'sls' | 'cms', severity: 'fatal' | 'warning', description: string): Check<PreflightContext> {
  return {
    id: `network.${service}`,
    category: CATEGORY,
    description,
    severity,
    async run(ctx, signal) {
      const ep = endpointFor(ctx, service);
      if (!ep) return { status: 'skipped', message: `${service.toUpperCase()} endpoint not checked: no --region given` };
      const report = await ctx.probes(signal);
      return decideEndpoint(ep, report, { net: ctx.input.net, fromLocal: ctx.input.fromLocal });
    },
  };
}

export const networkChecks: Check<PreflightContext>[] = [
  {
    id: 'network.probe',
    category: CATEGORY,
    description: 'network probes ran from every selected vantage point',
    severity: 'warning',
    hint: 'Pass --probe-image with an image this cluster can pull (sh + curl), or --from-local to probe from this machine instead.',
    async run(ctx, signal) {
      if (!ctx.input.region) return { status: 'skipped', message: 'network probes not run: no --region given' };
      const report = await ctx.probes(signal);
      const findings: Finding[] = report.failures.map((f) => ({ status: 'failed' as const, message: f.message, vantage: f.vantage, ...(f.hint ? { hint: f.hint } : {}), ...(f.evidence ? { evidence: f.evidence } : {}) }));
      const vantages = new Set(report.results.map((r) => r.vantage));
      if (vantages.size) {
        const extra = [
          ...(report.skippedNodes ? [`${report.skippedNodes} eligible nodes not probed (--sample)`] : []),
          ...(report.excluded ?? []).map((e) => `not probed: node/${e.node}: ${e.reason}`),
        ];
        findings.push({
          status: 'passed',
          message: ctx.input.fromLocal ? 'probed from this machine (--from-local): results say nothing about the nodes' : `probed from ${vantages.size} node${vantages.size === 1 ? '' : 's'} (probe image ${ctx.input.probeImage})`,
          vantage: ctx.input.fromLocal ? 'local' : `${vantages.size} nodes`,
          ...(extra.length ? { evidence: extra } : {}),
        });
      }
      if (!findings.length) return { status: 'failed', message: 'no node was eligible for probing', evidence: (report.excluded ?? []).map((e) => `node/${e.node}: ${e.reason}`) };
      return findings;
    },
  },
  endpointCheck('sls', 'fatal', 'Log Service (SLS) endpoint reachable: DNS, TCP 443, verified TLS, HTTPS'),
  endpointCheck('cms', 'warning', 'Cloud Monitor endpoint reachable (alert-rule sync): DNS, TCP 443, verified TLS, HTTPS'),
];
