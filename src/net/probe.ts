/**
 * The local prober (`preflight --from-local`): DNS → TCP → TLS with certificate verification → one
 * HTTPS request, each step with its own timeout, every failure classified into a ProbeOutcome. The
 * in-cluster probe pods run the same four steps with curl (src/net/script.ts); the e2e suite runs both
 * against the same servers and expects the same outcome for each scenario.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ProbeOutcome, ProbeResult, ProbeTarget } from './types.js';
import { textOf } from '../text.js';

export type Lookup = (host: string, signal: AbortSignal) => Promise<string[]>;

export interface ProbeOptions {
  /** Per-step timeouts in ms. */
  dnsTimeoutMs?: number;
  connectTimeoutMs?: number;
  tlsTimeoutMs?: number;
  httpTimeoutMs?: number;
  /** Name resolution; default getaddrinfo (honours /etc/hosts like the system does). */
  lookup?: Lookup;
  /** Static host → addresses map consulted before `lookup` (a hosts file of our own; tests use it). */
  hosts?: Readonly<Record<string, string[]>>;
  signal?: AbortSignal;
  vantage?: string;
}

const DEFAULTS = { dnsTimeoutMs: 5000, connectTimeoutMs: 5000, tlsTimeoutMs: 5000, httpTimeoutMs: 5000 };

const defaultLookup: Lookup = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** A failure of one step, carrying the outcome it maps to. */
class StepError extends Error {
  constructor(
    readonly outcome: ProbeOutcome,
    message: string,
  ) {
    super(message);
  }
}

/** The peer answered the ClientHello with something that is not TLS: maybe plain HTTP. */
class NotTlsError extends StepError {
  constructor(message: string) {
    super('tls-other', message);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => StepError, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(onTimeout()), ms);
    t.unref?.();
    const abort = () => reject(new StepError('error', 'aborted'));
    signal?.addEventListener('abort', abort, { once: true });
    p.then(resolve, reject).finally(() => {
      clearTimeout(t);
      signal?.removeEventListener('abort', abort);
    });
  });
}

function errCode(e: unknown): string {
  return textOf((e as { code?: unknown }).code);
}

/** DNS step: ENOTFOUND/EAI_AGAIN/ESERVFAIL/timeout are all "does not resolve" for the user. */
async function resolve(name: string, opts: ProbeOptions & typeof DEFAULTS, signal: AbortSignal | undefined): Promise<string> {
  if (isIP(name)) return name;
  const fixed = opts.hosts?.[name.toLowerCase()];
  if (fixed?.length) return fixed[0]!;
  const ac = new AbortController();
  try {
    const addrs = await withTimeout((opts.lookup ?? defaultLookup)(name, ac.signal), opts.dnsTimeoutMs, () => new StepError('dns-failure', `DNS lookup of ${name} timed out after ${opts.dnsTimeoutMs} ms`), signal);
    if (!addrs.length) throw new StepError('dns-failure', `${name} has no address records`);
    return addrs[0]!;
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw new StepError('dns-failure', `${name} does not resolve (${errCode(e) || (e as Error).message})`);
  } finally {
    ac.abort();
  }
}

function connectTcp(address: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise<Socket>((resolveP, reject) => {
    const sock = tcpConnect({ host: address, port });
    const fail = (err: StepError) => {
      sock.destroy();
      reject(err);
    };
    const t = setTimeout(() => fail(new StepError('timeout', `TCP connect to ${address}:${port} timed out after ${timeoutMs} ms (no answer: packets dropped by a firewall or no route back)`)), timeoutMs);
    const abort = () => fail(new StepError('error', 'aborted'));
    signal?.addEventListener('abort', abort, { once: true });
    sock.once('connect', () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', abort);
      resolveP(sock);
    });
    sock.once('error', (e) => {
      clearTimeout(t);
      signal?.removeEventListener('abort', abort);
      const code = errCode(e);
      if (code === 'ECONNREFUSED') fail(new StepError('refused', `TCP connect to ${address}:${port} refused (ECONNREFUSED: nothing listens there, or a firewall rejects)`));
      else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') fail(new StepError('unreachable', `no route to ${address}:${port} (${code})`));
      else if (code === 'ETIMEDOUT') fail(new StepError('timeout', `TCP connect to ${address}:${port} timed out (ETIMEDOUT)`));
      else fail(new StepError('error', `TCP connect to ${address}:${port} failed (${code || e.message})`));
    });
  });
}

const UNTRUSTED = /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_UNTRUSTED|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID|CERT_REVOKED|CERT_SIGNATURE_FAILURE|HOSTNAME_MISMATCH)$/;
/** OpenSSL's words for "the peer did not answer with TLS records". */
const NOT_TLS = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|UNKNOWN_PROTOCOL|RECORD_LAYER_FAILURE|wrong version number|packet length too long/i;

function tlsHandshake(sock: Socket, servername: string, ca: string | undefined, timeoutMs: number, signal?: AbortSignal): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolveP, reject) => {
    const tls = tlsConnect({ socket: sock, ...(isIP(servername) ? {} : { servername }), ...(ca ? { ca } : {}), rejectUnauthorized: true, ALPNProtocols: ['http/1.1'] });
    const fail = (err: StepError) => {
      tls.destroy();
      reject(err);
    };
    const t = setTimeout(() => fail(new StepError('tls-other', `TLS handshake with ${servername} timed out after ${timeoutMs} ms (the server accepted TCP but never answered the ClientHello)`)), timeoutMs);
    const abort = () => fail(new StepError('error', 'aborted'));
    signal?.addEventListener('abort', abort, { once: true });
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', abort);
    };
    tls.once('secureConnect', () => {
      done();
      resolveP(tls);
    });
    tls.once('error', (e: Error) => {
      done();
      const code = errCode(e);
      if (UNTRUSTED.test(code)) fail(new StepError('tls-untrusted', `TLS certificate of ${servername} not trusted (${code}: ${e.message})`));
      else if (NOT_TLS.test(code) || NOT_TLS.test(e.message)) fail(new NotTlsError(`TLS handshake with ${servername} failed: the server did not answer with TLS (${code || e.message})`));
      else fail(new StepError('tls-other', `TLS handshake with ${servername} failed (${code || e.message})`));
    });
  });
}

/** Send one request on an open stream and read the status line. */
function httpStatus(stream: Socket | TLSSocket, host: string, path: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  return new Promise<number>((resolveP, reject) => {
    let buf = '';
    const fail = (err: StepError) => {
      stream.destroy();
      reject(err);
    };
    const t = setTimeout(() => fail(new StepError('error', `no HTTP response from ${host} within ${timeoutMs} ms`)), timeoutMs);
    const abort = () => fail(new StepError('error', 'aborted'));
    signal?.addEventListener('abort', abort, { once: true });
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', abort);
    };
    stream.setEncoding('latin1');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      const line = buf.split('\r\n')[0] ?? '';
      const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(line);
      if (m) {
        done();
        stream.destroy();
        resolveP(Number(m[1]));
      } else if (buf.length > 64 || buf.includes('\r\n')) {
        done();
        fail(new StepError('error', `${host} answered something that is not HTTP: ${JSON.stringify(buf.slice(0, 40))}`));
      }
    });
    stream.once('error', (e: Error) => {
      done();
      fail(new StepError('error', `HTTP request to ${host} failed (${errCode(e) || e.message})`));
    });
    stream.once('end', () => {
      done();
      fail(new StepError('error', `${host} closed the connection without an HTTP response`));
    });
    stream.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: kubectl-insight-preflight\r\nAccept: */*\r\nConnection: close\r\n\r\n`);
  });
}

/** After a TLS failure: does a plain HTTP server answer on that port? Then say so precisely. */
async function plainHttpAnswers(address: string, port: number, host: string, timeoutMs: number, signal?: AbortSignal): Promise<number | undefined> {
  try {
    const sock = await connectTcp(address, port, timeoutMs, signal);
    return await httpStatus(sock, host, '/', timeoutMs, signal);
  } catch {
    return undefined;
  }
}

/** Probe one endpoint from this machine. Never throws: every failure becomes a result. */
export async function probeEndpoint(target: ProbeTarget, options: ProbeOptions = {}): Promise<ProbeResult> {
  const opts = { ...DEFAULTS, ...options };
  const started = Date.now();
  const port = target.connectPort ?? target.port;
  const servername = target.servername ?? target.host;
  const base = { host: target.host, port: target.port, vantage: opts.vantage ?? 'local' };
  let address: string | undefined;
  try {
    address = await resolve(target.connectAddress ?? target.host, opts, opts.signal);
    const sock = await connectTcp(address, port, opts.connectTimeoutMs, opts.signal);
    let tls: TLSSocket;
    try {
      tls = await tlsHandshake(sock, servername, target.ca, opts.tlsTimeoutMs, opts.signal);
    } catch (e) {
      // Only when the answer was not TLS: a handshake that timed out says nothing about plain HTTP.
      if (e instanceof NotTlsError) {
        const status = await plainHttpAnswers(address, port, target.host, opts.httpTimeoutMs, opts.signal);
        if (status !== undefined) {
          throw new StepError('http-on-https', `a plain HTTP server answered on ${address}:${port} (HTTP ${status} to a plain request; the TLS handshake failed: ${e.message.replace(/^TLS handshake with \S+ failed: /, '')})`);
        }
      }
      throw e;
    }
    const status = await httpStatus(tls, target.host, target.path ?? '/', opts.httpTimeoutMs, opts.signal);
    return { ...base, outcome: 'ok', status, address, message: `resolved to ${address}, TLS verified, HTTPS answered ${status}`, durationMs: Date.now() - started };
  } catch (e) {
    const outcome: ProbeOutcome = e instanceof StepError ? e.outcome : 'error';
    return { ...base, outcome, ...(address ? { address } : {}), message: e instanceof Error ? e.message : String(e), durationMs: Date.now() - started };
  }
}
