/**
 * The result model shared by the local prober (src/net/probe.ts) and the in-cluster probe pods
 * (src/net/probe-pods.ts): both classify a failure into the same outcomes, so a report reads the
 * same whichever vantage point measured it.
 */

/**
 * - `ok`: DNS, TCP, verified TLS and an HTTP answer (any status: the endpoints answer 4xx to a bare GET).
 * - `dns-failure`: the name does not resolve.
 * - `refused`: the address answered the SYN with a reset (nothing listens, or a firewall rejects).
 * - `timeout`: no answer at all (black-holed: a firewall drops packets, no route back).
 * - `unreachable`: no route to the address (ENETUNREACH/EHOSTUNREACH).
 * - `tls-untrusted`: the certificate does not chain to a trusted CA, or does not name the host
 *   (an intercepting proxy, a wrong endpoint).
 * - `tls-other`: the TLS handshake failed for another reason (protocol, reset during handshake).
 * - `http-on-https`: a plain HTTP server answered on the TLS port (a proxy or a wrong port mapping).
 * - `error`: anything else; the message says what.
 */
export type ProbeOutcome = 'ok' | 'dns-failure' | 'refused' | 'timeout' | 'unreachable' | 'tls-untrusted' | 'tls-other' | 'http-on-https' | 'error';

/** One endpoint to probe. */
export interface ProbeTarget {
  /** The real host name: TLS SNI, certificate name and Host header use it. */
  host: string;
  port: number;
  /** Where to connect instead of resolving `host` (an endpoint override): an IP or another name. */
  connectAddress?: string;
  connectPort?: number;
  /** PEM CA bundle to trust instead of the system roots (an override's CA). */
  ca?: string;
  /** Name the certificate must carry, when not `host`. */
  servername?: string;
  /** HTTP path for the final request. */
  path?: string;
}

export interface ProbeResult {
  host: string;
  port: number;
  outcome: ProbeOutcome;
  /** HTTP status when a response came back. */
  status?: number;
  /** The address DNS gave (or the override's). */
  address?: string;
  /** One line: what happened, with the low-level code (ECONNREFUSED, curl exit 60, ...). */
  message: string;
  /** Where it was measured from: `local` or `node/<name>`. */
  vantage: string;
  durationMs?: number;
}

/** A vantage point that could not probe at all (probe pod unschedulable, image not pullable). */
export interface ProbeFailure {
  vantage: string;
  message: string;
  hint?: string;
  evidence?: string[];
}

export interface ProbeReport {
  results: ProbeResult[];
  failures: ProbeFailure[];
  /** Nodes that were eligible but not probed because of --sample. */
  skippedNodes?: number;
  /** Nodes not eligible for probing, and why (taints, selector, NotReady, cordoned). */
  excluded?: { node: string; reason: string }[];
}
