/**
 * One HTTPS exchange with an Alibaba Cloud endpoint, through the endpoint overrides: the TCP
 * connection goes to the override's address and port, while the Host header, the TLS server name
 * and the certificate check keep the real host name. Network failures come back classified
 * (DNS, refused, timeout, TLS, reset), never as raw Node errors.
 */
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { resolveEndpoint, type CloudService, type EndpointOverrides } from './endpoints.js';
import type { CloudError, CloudErrorCode } from './errors.js';

export interface TransportOptions {
  overrides?: EndpointOverrides;
  /** Whole-exchange deadline (connect + TLS + response). Default 10 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Custom name resolution (tests; split-horizon setups). Defaults to the system resolver. */
  lookup?: LookupFunction;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface OutgoingRequest {
  service: CloudService;
  host: string;
  method: string;
  /** Encoded path and query. */
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /** Port when the URL names one (an instance's query URL may); overrides still win. Default 443. */
  port?: number;
}

const MAX_BODY = 1 << 20;
export const DEFAULT_TIMEOUT_MS = 10_000;

const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH|ERR_OSSL_|EPROTO$)/;

/** Classify a socket/TLS error from node:https into a CloudError. */
export function classifyNetworkError(err: unknown, ctx: { service: CloudService; host: string; address: string; port: number; timeoutMs: number }): CloudError {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = e?.code ?? '';
  const where = ctx.address === ctx.host ? `${ctx.host}:${ctx.port}` : `${ctx.host} (via ${ctx.address}:${ctx.port})`;
  const base = { service: ctx.service, host: ctx.host, ...(code ? { detail: code } : {}) };
  const mk = (c: CloudErrorCode, message: string, hint: string): CloudError => ({ ...base, code: c, message, hint });

  if (code === 'ABORT_ERR' || e?.name === 'AbortError') return mk('Aborted', `Request to ${where} was cancelled.`, 'The check was cancelled or ran out of time.');
  if (code === 'INSIGHT_TIMEOUT' || code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') {
    return mk('Timeout', `No answer from ${where} within ${Math.round(ctx.timeoutMs / 1000)}s.`, 'Outbound HTTPS (TCP 443) is blocked or filtered: check the firewall, security group, proxy and NAT gateway.');
  }
  if (/^(ENOTFOUND|EAI_AGAIN|EAI_FAIL|EAI_NODATA|EAI_NONAME)$/.test(code)) {
    return mk(
      'DnsError',
      `Cannot resolve ${ctx.address} (${code}).`,
      /-intranet\.|-vpc\./.test(ctx.host)
        ? 'Intranet (VPC) endpoints resolve only inside Alibaba Cloud VPCs (private DNS 100.100.2.136/138): use --net Internet, or fix DNS.'
        : 'Check DNS on this machine and the region id; the name must resolve to reach Alibaba Cloud.',
    );
  }
  if (code === 'ECONNREFUSED') return mk('ConnectionRefused', `Connection to ${where} was refused.`, 'Nothing accepts connections there: a firewall rejects it, or an endpoint override points at the wrong address or port.');
  if (code === 'ECONNRESET' || code === 'EPIPE') return mk('ConnectionReset', `Connection to ${where} was reset.`, 'A firewall or proxy cut the connection; check outbound HTTPS filtering.');
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') return mk('NetworkUnreachable', `No route to ${where} (${code}).`, 'This machine has no route to the endpoint: check the default route, VPN or NAT gateway.');
  if (TLS_CODES.test(code) || /ssl|tls|certificate/i.test(e?.message ?? '')) {
    const plain = /WRONG_VERSION_NUMBER|wrong version number|packet length too long|http request/i.test(`${code} ${e?.message ?? ''}`);
    const untrusted = /SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|CERT_UNTRUSTED|UNABLE_TO_GET_ISSUER/.test(code);
    const mismatch = /ALTNAME|HOSTNAME/.test(code);
    const what = plain
      ? 'the server does not speak TLS (plain HTTP?)'
      : untrusted
        ? 'certificate not trusted'
        : mismatch
          ? 'certificate is not valid for this name'
          : code || 'handshake failed';
    return mk(
      'TlsError',
      `TLS with ${where} failed: ${what}.`,
      untrusted || mismatch
        ? 'A proxy or mirror is intercepting TLS: give its CA (endpoint override "ca"/"caFile", or NODE_EXTRA_CA_CERTS) or fix the certificate.'
        : 'The address answers, but not with HTTPS: check the endpoint override or the proxy.',
    );
  }
  return mk('NetworkError', `Request to ${where} failed${code ? ` (${code})` : ''}.`, 'Check the network path from this machine to Alibaba Cloud.');
}

export type SendResult = { ok: true; response: HttpResponse } | { ok: false; error: CloudError };

/** Send one request; never throws for network problems. */
export function send(req: OutgoingRequest, opts: TransportOptions = {}): Promise<SendResult> {
  const target = resolveEndpoint(req.host, opts.overrides, req.port ?? 443);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const ctx = { service: req.service, host: req.host, address: target.address, port: target.port, timeoutMs };

  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (r: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const failWith = (err: unknown) => finish({ ok: false, error: classifyNetworkError(err, ctx) });

    if (opts.signal?.aborted) {
      failWith(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
      return;
    }
    const headers: Record<string, string> = { ...req.headers, host: req.port && req.port !== 443 ? `${req.host}:${req.port}` : req.host };
    // Explicit length, also 0: some gateways refuse a chunked POST without a body.
    if (req.method !== 'GET' && req.method !== 'HEAD') headers['content-length'] = String(req.body?.length ?? 0);

    const r = https.request({
      host: target.address,
      port: target.port,
      method: req.method,
      path: req.path,
      headers,
      // SNI cannot carry an IP address; the certificate is still checked against `servername`.
      ...(isIP(target.servername) ? {} : { servername: target.servername }),
      ...(target.ca ? { ca: target.ca } : {}),
      ...(opts.lookup ? { lookup: opts.lookup } : {}),
      agent: false,
    });
    // Destroying the request alone can leave a socket still in its TLS handshake open: close both.
    const end = (e: Error) => {
      r.destroy(e);
      r.socket?.destroy();
    };
    const timer = setTimeout(() => end(Object.assign(new Error('timeout'), { code: 'INSIGHT_TIMEOUT' })), timeoutMs);
    const onAbort = () => end(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    r.on('error', failWith);
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BODY) chunks.push(c);
      });
      res.on('error', failWith);
      res.on('end', () => finish({ ok: true, response: { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) } }));
    });
    r.end(req.body && req.body.length ? Buffer.from(req.body) : undefined);
  });
}
