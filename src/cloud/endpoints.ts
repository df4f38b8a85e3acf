/**
 * The Alibaba Cloud endpoints the chart's components talk to, per region and `--net` mode, and the
 * override map that points a real host name at another address (a mirror, a proxy, or a test's local
 * server). Real hosts stay the defaults; an override changes only where we connect, never the name we
 * put in the Host header, the TLS SNI or the signature, so what is tested is what production sends.
 *
 * Hosts (from the install guide and the SLS, CMS and STS endpoint lists):
 *   Internet: cms.[REGION].aliyuncs.com, [REGION].log.aliyuncs.com, sts.aliyuncs.com
 *   Intranet: cms-vpc.[REGION].aliyuncs.com, [REGION]-intranet.log.aliyuncs.com, sts-vpc.[REGION].aliyuncs.com
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { inputError } from '../errors.js';

export type NetMode = 'Internet' | 'Intranet';

/** `prometheus`: an instance's Prometheus HTTP API (its host comes from GetPrometheusInstance). */
export type CloudService = 'cms' | 'sls' | 'sts' | 'prometheus';

export interface Endpoint {
  service: CloudService;
  host: string;
  port: number;
  /** What the chart (or this tool) uses the endpoint for, for reports. */
  purpose: string;
  /** Whether the chart's components need it from inside the cluster (STS is only used by this tool). */
  usedByCluster: boolean;
  /**
   * What to do when it is unreachable. cms-vpc only serves alert-rule sync, which can be switched off;
   * without SLS nothing is collected.
   */
  ifUnreachable: string;
}

export function cmsHost(region: string, net: NetMode = 'Internet'): string {
  return net === 'Intranet' ? `cms-vpc.${region}.aliyuncs.com` : `cms.${region}.aliyuncs.com`;
}

export function slsHost(region: string, net: NetMode = 'Internet'): string {
  return net === 'Intranet' ? `${region}-intranet.log.aliyuncs.com` : `${region}.log.aliyuncs.com`;
}

/** SLS addresses a project as a sub-domain of the regional endpoint. */
export function slsProjectHost(project: string, region: string, net: NetMode = 'Internet'): string {
  return `${project}.${slsHost(region, net)}`;
}

/**
 * STS answers GetCallerIdentity on its global endpoint from anywhere on the Internet; inside a VPC only
 * the regional VPC endpoint resolves. A region-specific public endpoint (`sts.[REGION].aliyuncs.com`)
 * is returned when `regional` is asked for.
 */
export function stsHost(region?: string, net: NetMode = 'Internet', regional = false): string {
  if (net === 'Intranet' && region) return `sts-vpc.${region}.aliyuncs.com`;
  if (regional && region) return `sts.${region}.aliyuncs.com`;
  return 'sts.aliyuncs.com';
}

/** Every endpoint for a region and mode, in the order a report should list them. */
export function endpointsFor(region: string, net: NetMode): Endpoint[] {
  const intranet = net === 'Intranet';
  return [
    {
      service: 'sls',
      host: slsHost(region, net),
      port: 443,
      purpose: 'log/metrics ingestion (SLS: Prometheus remote write, entity data, pipeline configs)',
      usedByCluster: true,
      ifUnreachable: intranet
        ? `Open the VPC route to ${slsHost(region, net)} (resolved by Alibaba Cloud private DNS 100.100.2.136/138), or use --net Internet.`
        : `Allow outbound HTTPS to ${slsHost(region, net)} from every node.`,
    },
    {
      service: 'cms',
      host: cmsHost(region, net),
      port: 443,
      purpose: 'alert-rule sync (PrometheusRule -> Cloud Monitor) and Prometheus instance API',
      usedByCluster: true,
      ifUnreachable: intranet
        ? `cms-vpc is only used for alert-rule sync: install with --disable-alert-rule (operator.enableAlertRule=false), or open the route to ${cmsHost(region, net)} (100.103.0.0/16).`
        : `Allow outbound HTTPS to ${cmsHost(region, net)}, or install with --disable-alert-rule.`,
    },
    {
      service: 'sts',
      host: stsHost(region, net),
      port: 443,
      purpose: 'AccessKey verification (STS GetCallerIdentity, used by this tool only)',
      usedByCluster: false,
      ifUnreachable: `Allow outbound HTTPS to ${stsHost(region, net)} from this machine, or skip the credential checks.`,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Overrides

/** Environment variable holding a JSON `EndpointOverrides` object. */
export const ENDPOINT_OVERRIDES_ENV = 'KUBECTL_INSIGHT_ENDPOINT_OVERRIDES';

export interface EndpointOverride {
  /** Where to connect instead: an IP address or a host name. */
  address: string;
  port: number;
  /** PEM of the CA(s) to trust for this host instead of the system roots. */
  ca?: string;
  /** Path to a PEM file with the CA(s); read once when the overrides are parsed. */
  caFile?: string;
  /** The name the certificate must carry, when it is not the real host (an internal proxy). */
  tlsServerName?: string;
}

/**
 * Real host name -> where to connect. Keys are exact host names or `*.suffix` wildcards (one or more
 * labels), e.g. `*.cn-hangzhou.log.aliyuncs.com` for every SLS project host in a region.
 */
export type EndpointOverrides = Readonly<Record<string, EndpointOverride>>;

export interface ResolvedEndpoint {
  /** The real host: Host header, SNI and signatures use it. */
  host: string;
  /** Where the TCP connection goes. */
  address: string;
  port: number;
  ca?: string;
  /** Name checked against the server certificate. */
  servername: string;
  overridden: boolean;
}

function matchOverride(host: string, overrides: EndpointOverrides | undefined): EndpointOverride | undefined {
  if (!overrides) return undefined;
  const h = host.toLowerCase();
  const exact = Object.entries(overrides).find(([k]) => k.toLowerCase() === h);
  if (exact) return exact[1];
  // Longest wildcard suffix wins, so a per-project entry can refine a per-region one.
  let best: { len: number; o: EndpointOverride } | undefined;
  for (const [k, o] of Object.entries(overrides)) {
    if (!k.startsWith('*.')) continue;
    const suffix = k.slice(1).toLowerCase();
    if (h.endsWith(suffix) && h.length > suffix.length && (!best || suffix.length > best.len)) best = { len: suffix.length, o };
  }
  return best?.o;
}

/** Where to connect for `host`, applying the first matching override. */
export function resolveEndpoint(host: string, overrides?: EndpointOverrides, defaultPort = 443): ResolvedEndpoint {
  const o = matchOverride(host, overrides);
  if (!o) return { host, address: host, port: defaultPort, servername: host, overridden: false };
  return {
    host,
    address: o.address,
    port: o.port,
    ...(o.ca ? { ca: o.ca } : {}),
    servername: o.tlsServerName ?? host,
    overridden: true,
  };
}

function validateOverride(key: string, v: unknown, readFile: (p: string) => string): EndpointOverride {
  const where = `${ENDPOINT_OVERRIDES_ENV}["${key}"]`;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw inputError(`${where} must be an object {address, port, ca?}`);
  const o = v as Record<string, unknown>;
  if (typeof o.address !== 'string' || o.address.trim() === '') throw inputError(`${where}.address must be a non-empty string`);
  const port = typeof o.port === 'string' ? Number(o.port) : o.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw inputError(`${where}.port must be an integer between 1 and 65535`);
  }
  for (const f of ['ca', 'caFile', 'tlsServerName'] as const) {
    if (o[f] !== undefined && typeof o[f] !== 'string') throw inputError(`${where}.${f} must be a string`);
  }
  let ca = o.ca as string | undefined;
  if (o.caFile !== undefined) {
    try {
      ca = readFile(o.caFile as string);
    } catch (e) {
      throw inputError(`${where}.caFile cannot be read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'Give a readable PEM file, or put the PEM in "ca".');
    }
  }
  if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) throw inputError(`${where}: the CA is not a PEM certificate`);
  const address = o.address.trim().replace(/^\[(.*)\]$/, '$1');
  if (!isIP(address) && !/^[A-Za-z0-9.-]+$/.test(address)) throw inputError(`${where}.address is neither an IP address nor a host name`);
  return {
    address,
    port,
    ...(ca !== undefined ? { ca } : {}),
    ...(o.tlsServerName !== undefined ? { tlsServerName: o.tlsServerName as string } : {}),
  };
}

/** Parse and validate an overrides object (from JSON text or already parsed). */
export function parseEndpointOverrides(input: unknown, readFile: (p: string) => string = (p) => readFileSync(p, 'utf8')): EndpointOverrides {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      throw inputError(`${ENDPOINT_OVERRIDES_ENV} is not valid JSON`, 'Example: {"cms.cn-hangzhou.aliyuncs.com":{"address":"10.0.0.5","port":8443,"caFile":"/etc/ssl/mirror-ca.pem"}}');
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw inputError(`${ENDPOINT_OVERRIDES_ENV} must be a JSON object keyed by host name`);
  const out: Record<string, EndpointOverride> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (!/^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(k)) throw inputError(`${ENDPOINT_OVERRIDES_ENV}: "${k}" is not a host name or *.suffix pattern`);
    out[k.toLowerCase()] = validateOverride(k, v, readFile);
  }
  return out;
}

/** Overrides from the environment (empty when unset). */
export function overridesFromEnv(env: NodeJS.ProcessEnv = process.env): EndpointOverrides {
  const raw = env[ENDPOINT_OVERRIDES_ENV];
  return raw && raw.trim() ? parseEndpointOverrides(raw) : {};
}

/** Merge override maps; later ones win (flags/options over the environment). */
export function mergeOverrides(...maps: (EndpointOverrides | undefined)[]): EndpointOverrides {
  return Object.assign({}, ...maps.filter(Boolean)) as EndpointOverrides;
}
