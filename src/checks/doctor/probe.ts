/**
 * Which protocol an endpoint speaks, found through the API server's pod proxy: ask in the expected
 * scheme first, and only when the answer says "wrong protocol" (or is not an HTTP answer at all)
 * ask in the other one. A refused or black-holed port is not asked twice: it costs one timeout.
 */
import type { ProbeOutcome, ProbeResult } from '../../kube/proxy.js';
import type { DoctorContext } from './context.js';

export type Scheme = 'http' | 'https';

export interface SchemeProbe {
  /** The scheme that got an HTTP answer from the endpoint, or none. */
  speaks: Scheme | 'none';
  /** Every probe made, by scheme. */
  tried: Partial<Record<Scheme, ProbeResult>>;
  /** The most telling result: the answering one, else the last. */
  best: ProbeResult;
}

/** The endpoint itself answered over HTTP (whatever the status). */
export const ANSWERED: ReadonlySet<ProbeOutcome> = new Set(['ok', 'unauthorized', 'forbidden', 'http-error']);
/** Nothing listens, or nothing answers: asking in another scheme cannot help. */
const DEAD: ReadonlySet<ProbeOutcome> = new Set(['refused', 'timeout', 'unreachable', 'no-target', 'api-forbidden']);

export const other = (s: Scheme): Scheme => (s === 'http' ? 'https' : 'http');

export async function probeScheme(ctx: DoctorContext, namespace: string, pod: string, port: number, path: string, first: Scheme, maxBytes?: number): Promise<SchemeProbe> {
  const tried: Partial<Record<Scheme, ProbeResult>> = {};
  const ask = async (s: Scheme) => (tried[s] = await ctx.probe({ kind: 'pod', namespace, name: pod, port, scheme: s }, path, maxBytes ? { maxBytes } : {}));
  const a = await ask(first);
  if (ANSWERED.has(a.outcome)) return { speaks: first, tried, best: a };
  if (DEAD.has(a.outcome)) return { speaks: 'none', tried, best: a };
  const b = await ask(other(first));
  if (ANSWERED.has(b.outcome)) return { speaks: other(first), tried, best: b };
  return { speaks: 'none', tried, best: a.outcome === 'wrong-protocol' ? b : a };
}

/** Shared across checks: the exporter checks and the scrape-chain check ask about the same pods. */
export function cachedProbe(ctx: DoctorContext, namespace: string, pod: string, port: number, path: string, first: Scheme): Promise<SchemeProbe> {
  const key = `${namespace}/${pod}:${port}${path}`;
  let p = ctx.probeCache.get(key);
  if (!p) {
    p = probeScheme(ctx, namespace, pod, port, path, first, 16 * 1024 * 1024);
    ctx.probeCache.set(key, p);
  }
  return p;
}

export function describeOutcome(r: ProbeResult): string {
  switch (r.outcome) {
    case 'ok':
      return 'ok';
    case 'refused':
      return 'connection refused';
    case 'timeout':
      return 'timed out';
    case 'tls-error':
      return 'TLS error';
    case 'wrong-protocol':
      return 'wrong protocol';
    case 'unauthorized':
      return '401 Unauthorized';
    case 'forbidden':
      return '403 Forbidden';
    case 'http-error':
      return `HTTP ${r.status ?? '?'}`;
    case 'unreachable':
      return 'unreachable';
    case 'api-forbidden':
      return 'API server refused the proxy request';
    case 'no-target':
      return 'no address to proxy to';
  }
}
