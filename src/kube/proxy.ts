/**
 * Raw GETs to the API server, and GETs through its pod/service/node proxy, with per-request
 * timeouts and a shared keep-alive agent. Doctor uses this instead of the typed clients for two
 * reasons: big lists are parsed once with JSON.parse (client-node's typed deserializer costs 2-3x
 * the time and memory on thousands of pods), and proxy answers must be classified by their status
 * and body (refused, timed out, TLS error, 401/403, wrong protocol), which the typed clients hide.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import { InsightError } from '../errors.js';
import { ListSplitter, ListSyntaxError } from './list-stream.js';

export type ProbeOutcome =
  | 'ok'
  | 'refused'
  | 'timeout'
  | 'tls-error'
  | 'wrong-protocol'
  | 'unauthorized'
  | 'forbidden'
  | 'http-error'
  | 'unreachable'
  /** The API server itself refused the proxy request (RBAC on pods/proxy, nodes/proxy, services/proxy). */
  | 'api-forbidden'
  /** The proxied object does not exist, or has no address the API server will proxy to. */
  | 'no-target';

export interface ProbeResult {
  outcome: ProbeOutcome;
  /** HTTP status seen by us (the API server's, which passes the target's through). */
  status?: number;
  /** One line saying what happened, e.g. `dial tcp 10.0.0.5:19100: connect: connection refused`. */
  detail: string;
  /** The body when outcome is ok (and for error answers, their first bytes). */
  body?: string;
  ms: number;
  url: string;
}

export interface RawResponse {
  status: number;
  body: string;
  truncated: boolean;
  /** The API server's Date header (its clock, to the second). */
  date?: string;
  /** Retry-After in seconds, when the answer carried one (429 and some 503s). */
  retryAfter?: number;
}

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  /**
   * Serve the list from the API server's watch cache (resourceVersion=0): no etcd read, but the
   * answer may be a moment older than the newest write. For what is judged, never for what is changed.
   */
  cached?: boolean;
}

export interface ListOptions<T> extends GetOptions {
  /** Trim each item as it is parsed (drop the fields no caller reads); the untrimmed item is never kept. */
  project?: (item: T) => T;
}

/** Shaped like client-node's ApiException so src/kube/errors.ts classifies it. */
export class RawApiError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
    readonly headers: Record<string, string> = {},
    /** The client already waited this answer out (a 429 past its throttle budget): retrying again only doubles the wait. */
    readonly waitedOut = false,
  ) {
    super(`HTTP ${code}: ${body.slice(0, 200)}`);
  }
}

/** A non-2xx answer as the error kubeCall classifies; `viaApiGet`: a 429 in it was already waited out. */
function answerError(r: RawResponse, viaApiGet: boolean): RawApiError {
  return new RawApiError(r.status, r.body, r.retryAfter ? { 'retry-after': String(r.retryAfter) } : {}, viaApiGet && r.status === 429);
}

export interface GetOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Stop reading after this many bytes (the rest is not needed to judge a scrape). */
  maxBytes?: number;
  accept?: string;
}

export type ProxyTarget =
  | { kind: 'pod'; namespace: string; name: string; port: number | string; scheme?: 'http' | 'https' }
  | { kind: 'service'; namespace: string; name: string; port: number | string; scheme?: 'http' | 'https' }
  | { kind: 'node'; name: string; port?: number | string; scheme?: 'http' | 'https' };

/** The API server path that proxies to a target: `https:<pod>:<port>` selects the scheme. */
export function proxyPath(t: ProxyTarget, path: string): string {
  const p = path.startsWith('/') ? path : `/${path}`;
  const scheme = t.scheme && t.scheme !== 'http' ? `${t.scheme}:` : t.scheme === 'http' && t.kind !== 'node' ? 'http:' : '';
  if (t.kind === 'node') {
    const name = `${t.scheme ? `${t.scheme}:` : ''}${encodeURIComponent(t.name)}${t.port !== undefined ? `:${t.port}` : ''}`;
    return `/api/v1/nodes/${name}/proxy${p}`;
  }
  const plural = t.kind === 'pod' ? 'pods' : 'services';
  return `/api/v1/namespaces/${encodeURIComponent(t.namespace)}/${plural}/${scheme}${encodeURIComponent(t.name)}:${t.port}/proxy${p}`;
}

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim()) ?? '').trim().slice(0, 300);
}

/** The message of a Kubernetes Status body, or the body's first line. */
function statusMessage(body: string): { message: string; isStatus: boolean; reason?: string } {
  const t = body.trimStart();
  if (t.startsWith('{')) {
    try {
      const s = JSON.parse(t) as { kind?: string; message?: string; reason?: string };
      if (s.kind === 'Status') return { message: s.message ?? '', isStatus: true, reason: s.reason };
    } catch {
      /* not JSON: fall through */
    }
  }
  return { message: firstLine(body), isStatus: false };
}

/**
 * Classify what came back through the API server proxy. The API server answers 503 (or 502/500)
 * with `error trying to reach service: <dial error>` when it cannot reach the target, and passes
 * the target's own status and body through otherwise.
 */
export function classifyProxyAnswer(status: number, body: string, scheme: 'http' | 'https' = 'http'): { outcome: ProbeOutcome; detail: string } {
  const { message, isStatus, reason } = statusMessage(body);
  const m = message;
  if (/Client sent an HTTP request to an HTTPS server/i.test(body)) {
    return { outcome: 'wrong-protocol', detail: 'the endpoint speaks https but was asked over http ("Client sent an HTTP request to an HTTPS server")' };
  }
  if (status >= 200 && status < 300) return { outcome: 'ok', detail: `HTTP ${status}` };
  if (status >= 500 || isStatus) {
    if (/server gave HTTP response to HTTPS client|first record does not look like a TLS handshake|tls: /i.test(m) || /x509|certificate|handshake/i.test(m)) {
      const plain = /HTTP response to HTTPS client|first record does not look like a TLS handshake/i.test(m);
      return {
        outcome: plain ? 'wrong-protocol' : 'tls-error',
        detail: plain ? `the endpoint speaks plain http but was asked over https (${m})` : `TLS failed: ${m}`,
      };
    }
    if (/connection refused/i.test(m)) return { outcome: 'refused', detail: m };
    if (/i\/o timeout|deadline exceeded|timed out|timeout awaiting/i.test(m)) return { outcome: 'timeout', detail: m };
    if (/no route to host|network is unreachable|host is down|connection reset/i.test(m)) return { outcome: 'unreachable', detail: m };
    if (isStatus && status === 403) return { outcome: 'api-forbidden', detail: m };
    if (isStatus && (status === 404 || /address not allowed|no endpoints available|does not have a host assigned|unable to find|not found/i.test(m))) {
      return { outcome: 'no-target', detail: m };
    }
    if (isStatus && status === 401 && reason === 'Unauthorized') return { outcome: 'api-forbidden', detail: `the API server rejected our credentials: ${m}` };
  }
  if (status === 401) return { outcome: 'unauthorized', detail: `HTTP 401 from the endpoint${m ? `: ${m}` : ''}` };
  if (status === 403) return { outcome: 'forbidden', detail: `HTTP 403 from the endpoint${m ? `: ${m}` : ''}` };
  if (status === 400 && scheme === 'http' && /https/i.test(m)) return { outcome: 'wrong-protocol', detail: m };
  return { outcome: 'http-error', detail: `HTTP ${status}${m ? `: ${m}` : ''}` };
}

export interface ApiClientOptions {
  /** Sockets to the API server; bounds the number of proxied probes in flight. */
  maxSockets?: number;
  defaultTimeoutMs?: number;
  /**
   * How long one GET may spend waiting out 429s (API Priority and Fairness) before the 429 is its
   * answer; each wait is the server's Retry-After (1 s when absent), capped at 10 s.
   */
  throttleBudgetMs?: number;
}

/** The TLS context of kubeconfig's CA and client certificate; one that cannot be used is kubeconfig's error. */
function secureContextOf(o: https.RequestOptions): tls.SecureContext {
  try {
    return tls.createSecureContext({ ca: o.ca, cert: o.cert, key: o.key, pfx: o.pfx, passphrase: o.passphrase });
  } catch (e) {
    throw new InsightError('invalid-input', `kubeconfig's certificate authority, client certificate or key cannot be used: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'Check certificate-authority-data, client-certificate-data and client-key-data of this context (`kubectl config view --raw`).',
    });
  }
}

/** GET-only client to the API server of a kubeconfig context. */
export class ApiClient {
  private constructor(
    readonly server: URL,
    private readonly agent: http.Agent,
    private readonly headers: Record<string, string | string[]>,
    private readonly defaultTimeoutMs: number,
    private readonly throttleBudgetMs: number,
  ) {}

  static async create(kc: KubeConfig, opts: ApiClientOptions = {}): Promise<ApiClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new InsightError('invalid-input', 'kubeconfig has no current cluster', { hint: 'Pick a context with --context (`kubectl config get-contexts`).' });
    const o: https.RequestOptions = {};
    // The same options (and exec plugin run, tokenFile, impersonation) as every other request of this run.
    await kc.applyToHTTPSOptions(o);
    const server = new URL(cluster.server);
    const agentOpts = {
      keepAlive: true,
      maxSockets: opts.maxSockets ?? 32,
      // One TLS context for every socket of the pool: built per socket, its key and CA parsing cost more
      // than the handshake itself when probes open dozens of sockets.
      secureContext: secureContextOf(o),
      servername: cluster.tlsServerName ?? o.servername,
      rejectUnauthorized: cluster.skipTLSVerify ? false : (o.rejectUnauthorized ?? true),
    };
    // With a proxy (proxy-url or the environment's, see access.ts) client-node's own proxy agent is the one to use.
    const agent = cluster.proxyUrl && o.agent instanceof http.Agent
      ? o.agent
      : server.protocol === 'http:' ? new http.Agent({ keepAlive: true, maxSockets: agentOpts.maxSockets }) : new https.Agent(agentOpts);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries((o.headers ?? {}) as Record<string, unknown>)) {
      if (typeof v === 'string') headers[k] = v;
      else if (Array.isArray(v)) headers[k] = v.map(String); // repeated headers: impersonated groups
    }
    if (o.auth) headers['Authorization'] = `Basic ${Buffer.from(o.auth).toString('base64')}`;
    return new ApiClient(server, agent, headers, opts.defaultTimeoutMs ?? 30_000, opts.throttleBudgetMs ?? 120_000);
  }

  close(): void {
    // The agent's destroy misses a socket still in its TLS handshake: every request in flight is ended here.
    this.closed = true;
    for (const abort of [...this.inflight]) abort();
    this.agent.destroy();
  }

  private closed = false;

  private readonly inflight = new Set<() => void>();

  /**
   * One GET to the API server; resolves with any HTTP status (a 429 only once the throttle budget is
   * spent, see apiGet), rejects on transport errors (tagged with `code`).
   */
  get(path: string, opts: GetOptions = {}): Promise<RawResponse> {
    return this.apiGet(path, opts);
  }

  /** Sleep `ms`, ended early (and rejected) by `signal` or by close(), like a request in flight. */
  private pause(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const aborted = () => Object.assign(new Error('aborted'), { code: 'ABORTED' });
      if (signal?.aborted || this.closed) return reject(aborted());
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        this.inflight.delete(onAbort);
      };
      const t = setTimeout(() => {
        done();
        resolve();
      }, ms);
      const onAbort = () => {
        done();
        reject(aborted());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.inflight.add(onAbort);
    });
  }

  /** Until when every API GET of this client holds back, after the server answered 429. */
  private pausedUntil = 0;
  /** 429 answers waited out so far (what a caller can report; the tests read it). */
  throttled = 0;

  /**
   * A GET to the API server itself (not through its proxy) that waits out 429: the server's
   * Retry-After pauses every such GET of this client, so a throttled run slows down as a whole
   * instead of failing or hammering. Proxied probes are exempt from API Priority and Fairness
   * (the server counts them as long-running), and a target's own 429 is its answer: they never wait.
   */
  private async apiGet(path: string, opts: GetOptions, sink?: (c: Buffer) => void): Promise<RawResponse> {
    const budgetEnds = Date.now() + this.throttleBudgetMs;
    for (;;) {
      // Another GET's 429 may extend the pause while this one sleeps: look again on waking.
      // Its own budget bounds the sleeping too: past it, the GET goes out and its answer stands.
      for (let wait = this.pausedUntil - Date.now(); wait > 0 && Date.now() < budgetEnds; wait = this.pausedUntil - Date.now()) {
        await this.pause(wait + Math.random() * 250, opts.signal);
      }
      const r = await this.request('GET', path, opts, undefined, sink);
      if (r.status !== 429) return r;
      // Retry-After counts whole seconds: less than one (or none, or a date) is one.
      const delayMs = Math.min(10_000, (r.retryAfter && r.retryAfter >= 1 ? r.retryAfter : 1) * 1000);
      if (Date.now() + delayMs > budgetEnds) return r;
      this.throttled++;
      this.pausedUntil = Math.max(this.pausedUntil, Date.now() + delayMs);
    }
  }

  /** A write (doctor --fix only): PATCH or DELETE with a JSON body; non-2xx is thrown as RawApiError. */
  async send(method: 'PATCH' | 'DELETE', path: string, body: unknown, contentType = 'application/json-patch+json'): Promise<void> {
    const r = await this.request(method, path, { timeoutMs: 30_000 }, body === undefined ? undefined : { body: JSON.stringify(body), contentType });
    if (r.status < 200 || r.status >= 300) throw answerError(r, false);
  }

  /** `sink`, when given, takes a 2xx answer's body chunk by chunk instead of it being collected. */
  private request(method: string, path: string, opts: GetOptions, payload?: { body: string; contentType: string }, sink?: (c: Buffer) => void): Promise<RawResponse> {
    // Keep the server URL's path prefix (Rancher-style https://host/k8s/clusters/c-x), as kubectl does.
    const url = new URL(`${this.server.pathname.replace(/\/$/, '')}${path}`, this.server);
    const mod = url.protocol === 'http:' ? http : https;
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const maxBytes = opts.maxBytes ?? Infinity;
    // A run past its deadline (fleet) goes on in the background: its new requests end at once.
    if (this.closed) return Promise.reject(Object.assign(new Error('the connection is closed'), { code: 'ABORTED' }));
    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const headers: Record<string, string | string[]> = { ...this.headers, Accept: opts.accept ?? 'application/json, */*' };
      if (payload) {
        headers['Content-Type'] = payload.contentType;
        // A DELETE with a chunked body is refused by the API server (400): say its length up front.
        headers['Content-Length'] = String(Buffer.byteLength(payload.body));
      }
      const req = mod.request(url, { method, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
        res.on('data', (c: Buffer) => {
          if (truncated || settled) return;
          if (sink && ok) {
            try {
              sink(c);
            } catch (e) {
              req.destroy();
              fail(e as Error);
            }
            return;
          }
          chunks.push(c);
          size += c.length;
          if (size >= maxBytes) {
            truncated = true;
            finish();
            res.destroy();
          }
        });
        const finish = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          this.inflight.delete(onAbort);
          const retryAfter = Number(res.headers['retry-after']);
          resolve({
            status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), truncated,
            ...(res.headers.date ? { date: res.headers.date } : {}), ...(Number.isFinite(retryAfter) && res.headers['retry-after'] ? { retryAfter } : {}),
          });
        };
        res.on('end', finish);
        res.on('error', (e) => fail(e));
      });
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.inflight.delete(onAbort);
        reject(e);
      };
      const onAbort = () => {
        const e = Object.assign(new Error('aborted'), { code: 'ABORTED' });
        req.destroy(e);
        fail(e);
      };
      // The timer covers the whole exchange (connect, headers, body): a black-holed target costs at most this.
      const timer = setTimeout(() => {
        const e = Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT_PROBE' });
        req.destroy(e);
        fail(e);
      }, timeoutMs);
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.inflight.add(onAbort);
      req.on('error', fail);
      req.end(payload?.body);
    });
  }

  /** GET that must succeed: a non-2xx answer is thrown as a RawApiError (classified by kubeCall). */
  async getJson<T>(path: string, opts: GetOptions = {}): Promise<T> {
    const r = await this.apiGet(path, opts);
    if (r.status < 200 || r.status >= 300) throw answerError(r, true);
    return JSON.parse(r.body) as T;
  }

  /**
   * Every item of a list, paginated with limit/continue so no single answer is huge, each page
   * parsed item by item as it arrives (list-stream.ts). With `cached` the first page asks the watch
   * cache (resourceVersion=0). The watch cache ignores `limit` there and answers with the whole
   * collection at once (v1.36 does), so such a list gets a longer timer: 20,000 pods are tens of MB.
   */
  async list<T>(path: string, query: ListQuery = {}, opts: ListOptions<T> = {}): Promise<T[]> {
    if (query.cached && opts.timeoutMs === undefined) opts = { ...opts, timeoutMs: Math.max(this.defaultTimeoutMs, 120_000) };
    const items: T[] = [];
    const take = opts.project ? (x: unknown) => items.push(opts.project!(x as T)) : (x: unknown) => items.push(x as T);
    let cont: string | undefined;
    do {
      const q = new URLSearchParams();
      if (query.labelSelector) q.set('labelSelector', query.labelSelector);
      if (query.fieldSelector) q.set('fieldSelector', query.fieldSelector);
      q.set('limit', String(query.limit ?? 500));
      if (cont) q.set('continue', cont);
      else if (query.cached) q.set('resourceVersion', '0');
      const splitter = new ListSplitter(take);
      let page: { metadata?: { continue?: string } };
      try {
        const r = await this.apiGet(`${path}?${q.toString()}`, opts, (c) => splitter.push(c));
        if (r.status < 200 || r.status >= 300) throw answerError(r, true);
        page = splitter.end();
      } catch (e) {
        // Where the answer broke, never its bytes: a list may hold Secrets.
        if (e instanceof ListSyntaxError) throw Object.assign(new Error(`the list answer of ${path} is malformed: ${e.message}`), { code: 'EBADLIST' });
        throw e;
      }
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return items;
  }

  /** GET through the API server's proxy to a pod, service or node, classified. Never throws. */
  async probe(target: ProxyTarget, path: string, opts: GetOptions = {}): Promise<ProbeResult> {
    const url = proxyPath(target, path);
    const scheme = target.scheme ?? (target.kind === 'node' ? 'https' : 'http');
    const started = Date.now();
    try {
      // Straight to the wire: a proxied answer's 429 is the target's, and APF does not hold probes.
      const r = await this.request('GET', url, { accept: 'text/plain;version=0.0.4;q=1,*/*;q=0.1', ...opts });
      const c = classifyProxyAnswer(r.status, r.body, scheme);
      return { ...c, status: r.status, body: c.outcome === 'ok' ? r.body : r.body.slice(0, 500), ms: Date.now() - started, url };
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      const ms = Date.now() - started;
      if (code === 'ETIMEDOUT_PROBE') return { outcome: 'timeout', detail: `no answer within ${opts.timeoutMs ?? this.defaultTimeoutMs} ms`, ms, url };
      if (code === 'ABORTED') return { outcome: 'timeout', detail: 'aborted', ms, url };
      return { outcome: 'unreachable', detail: `cannot reach the API server: ${code || (e as Error).message}`, ms, url };
    }
  }
}
