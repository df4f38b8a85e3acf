/** Proxies from the environment with Go's rules, so the tool takes the path kubectl and helm take. */
import { isIP } from 'node:net';

/**
 * The proxy a Go client (kubectl, helm) would use for this server from the environment: HTTPS_PROXY for
 * https servers, HTTP_PROXY for http, upper case first; none for localhost and loopback addresses or a
 * NO_PROXY match. A proxy without a scheme is http://, as in Go.
 */
export function proxyFromEnvironment(server: string, env: NodeJS.ProcessEnv): string | undefined {
  const url = new URL(server);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || isLoopback(host)) return undefined;
  const raw = url.protocol === 'https:' ? (env.HTTPS_PROXY || env.https_proxy) : (env.HTTP_PROXY || env.http_proxy);
  if (!raw) return undefined;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (noProxyMatches(host, port, env.NO_PROXY || env.no_proxy || '')) return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
}

function isLoopback(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** NO_PROXY with Go's rules: `*`, IPs, CIDRs, `host:port`, and domains matching themselves and subdomains. */
export function noProxyMatches(host: string, port: string, noProxy: string): boolean {
  for (let entry of noProxy.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean)) {
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (inCidr(host, entry)) return true;
      continue;
    }
    let entryPort = '';
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && isIP(entry) !== 6) [entry, entryPort] = [m[1]!, m[2]!];
    entry = entry.replace(/^\[|\]$/g, '');
    if (entryPort && entryPort !== port) continue;
    if (isIP(entry)) {
      if (entry === host) return true;
      continue;
    }
    if (entry.startsWith('*.')) entry = entry.slice(1);
    if (entry.startsWith('.')) {
      if (host.endsWith(entry)) return true;
    } else if (host === entry || host.endsWith(`.${entry}`)) {
      return true;
    }
  }
  return false;
}

function inCidr(host: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (isIP(host) !== 4 || isIP(base ?? '') !== 4 || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const n = (ip: string) => ip.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((n(host) & mask) >>> 0) === ((n(base!) & mask) >>> 0);
}
