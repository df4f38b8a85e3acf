import { InsightError } from '../errors.js';

/** What a call was doing, so an error can name the verb and resource (kubectl's wording). */
export interface KubeOp {
  verb: string;
  /** Plural resource, with group when not core: `deployments.apps`. */
  resource: string;
  namespace?: string;
  name?: string;
}

interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
}

/** The parts of client-node's ApiException we read (duck-typed: the class differs per module copy). */
interface ApiExceptionLike {
  code: number;
  body: unknown;
  headers?: Record<string, string>;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET']);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|DEPTH_ZERO|ERR_SSL/;
/** No answer in time: the connect timeout of undici and the OS, and our own per-request timer (proxy.ts). */
const TIMEOUT_CODES = new Set(['ETIMEDOUT_PROBE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']);

export function isApiException(e: unknown): e is ApiExceptionLike {
  return typeof e === 'object' && e !== null && typeof (e as ApiExceptionLike).code === 'number' && 'body' in e;
}

export function statusCode(e: unknown): number | undefined {
  return isApiException(e) ? e.code : undefined;
}

/** A 404: the raw client error, or one kubeCall already turned into a `not-found` InsightError. */
export function isNotFound(e: unknown): boolean {
  return statusCode(e) === 404 || (e instanceof InsightError && (e.kind === 'not-found' || statusCode(e.cause) === 404));
}

function parseBody(body: unknown): StatusBody {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return { message: body };
    }
  }
  return body ?? {};
}

function errnoCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string') return c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function describe(op: KubeOp): string {
  const where = op.namespace ? ` in namespace "${op.namespace}"` : '';
  return `${op.verb} ${op.resource}${op.name ? ` "${op.name}"` : ''}${where}`;
}

/** An RBAC rule that would grant `op`, as a copy-paste hint. */
export function rbacRuleFor(op: KubeOp): string {
  const [plural, ...group] = op.resource.split('.');
  return `apiGroups: ["${group.join('.')}"], resources: ["${plural}"], verbs: ["${op.verb}"]`;
}

/**
 * The one place that turns a Kubernetes client failure into a domain error.
 * `server` is the API server URL, for the unreachable case.
 */
export function classifyKubeError(e: unknown, op: KubeOp, server?: string): InsightError {
  if (e instanceof InsightError) return e;
  if (isApiException(e)) {
    const body = parseBody(e.body);
    const msg = (body.message ?? '').split('\n')[0] ?? '';
    switch (e.code) {
      case 401:
        return new InsightError('unauthorized', `the API server rejected our credentials (401 Unauthorized) on ${describe(op)}`, {
          hint: 'Your token or client certificate is invalid or expired: refresh it (e.g. re-run your cloud login) and check with `kubectl auth whoami`.',
          cause: e,
        });
      case 403:
        // An admission webhook or a ValidatingAdmissionPolicy refuses with 403 too: that is a policy, not RBAC.
        if (/admission webhook .* denied the request|ValidatingAdmissionPolicy|denied request:/i.test(msg)) {
          return new InsightError('forbidden', `refused by an admission policy: cannot ${describe(op)} (${msg})`, {
            hint: 'A policy in the cluster (an admission webhook or a ValidatingAdmissionPolicy) blocks this change; ask its owner to allow it. RBAC permits it.',
            details: { verb: op.verb, resource: op.resource, namespace: op.namespace, name: op.name, admission: true },
            cause: e,
          });
        }
        return new InsightError('forbidden', `forbidden: cannot ${describe(op)}${msg ? ` (${msg})` : ''}`, {
          hint: `Ask a cluster admin for an RBAC rule with ${rbacRuleFor(op)}; check with \`kubectl auth can-i ${op.verb} ${op.resource}${op.namespace ? ` -n ${op.namespace}` : ''}\`.`,
          details: { verb: op.verb, resource: op.resource, namespace: op.namespace, name: op.name },
          cause: e,
        });
      case 404:
        return new InsightError('not-found', `not found: ${describe(op)}${msg ? ` (${msg})` : ''}`, { cause: e });
      case 409:
        return new InsightError('conflict', `conflict on ${describe(op)}${msg ? `: ${msg}` : ''}`, {
          hint: 'Another client changed the object at the same time; run the command again.',
          cause: e,
        });
      case 429:
        return new InsightError('server', `the API server is throttling requests (429) on ${describe(op)}`, {
          hint: 'The API server is overloaded: wait a minute and run the command again.',
          cause: e,
        });
      default:
        if (e.code >= 500) {
          return new InsightError('server', `the API server failed (${e.code}${body.reason ? ` ${body.reason}` : ''}) on ${describe(op)}${msg ? `: ${msg}` : ''}`, {
            hint: 'The API server or etcd is unhealthy; check `kubectl get --raw /readyz?verbose` and retry.',
            cause: e,
          });
        }
        return new InsightError('failed', `${describe(op)} failed (${e.code}): ${msg || 'no message'}`, { cause: e });
    }
  }
  const code = errnoCode(e);
  const where = server ? ` at ${server}` : '';
  if (code && TLS_CODES.test(code)) {
    return new InsightError('unreachable', `TLS to the API server${where} failed (${code})`, {
      hint: 'The server certificate does not match the CA in kubeconfig; check certificate-authority-data for this cluster.',
      cause: e,
    });
  }
  if (code && TIMEOUT_CODES.has(code)) {
    return new InsightError('unreachable', `the API server${where} did not answer in time on ${describe(op)} (${code})`, {
      hint: 'The server or the network to it is slow or drops packets: check `kubectl cluster-info`' + (server ? ` (server: ${server})` : '') + ' and any proxy or VPN on the way.',
      cause: e,
    });
  }
  if (code && NETWORK_CODES.has(code)) {
    return new InsightError('unreachable', `cannot reach the API server${where} (${code})`, {
      hint: 'Check that the cluster is up and kubeconfig points at it: `kubectl cluster-info`' + (server ? '' : '.') + (server ? ` (server: ${server}).` : ''),
      cause: e,
    });
  }
  if (e instanceof InsightError) return e;
  return new InsightError('failed', `${describe(op)} failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, { cause: e });
}

export function isRetryable(e: unknown): boolean {
  // A 429 the raw client already waited out for its whole throttle budget.
  if ((e as { waitedOut?: boolean } | null)?.waitedOut === true) return false;
  const code = statusCode(e);
  if (code !== undefined) return code === 429 || code >= 500;
  const errno = errnoCode(e);
  return errno === 'ECONNRESET' || errno === 'ECONNREFUSED' || errno === 'ETIMEDOUT' || errno === 'EPIPE' || errno === 'UND_ERR_SOCKET';
}

/** Why a cluster could not be checked at all, in the words a fleet report gives (see reachFailure). */
export type ReachReason = 'dns' | 'refused' | 'tls' | 'unauthorized' | 'forbidden' | 'timeout' | 'network';

/**
 * The one reading of "this cluster cannot be reached, or refuses us": DNS, refused, TLS, 401, 403, no answer
 * in time, or another network failure (no route, reset). Undefined for every other failure (a bug, a
 * broken kubeconfig entry, a missing tool), which is not about reaching the cluster.
 */
export function reachFailure(e: unknown): ReachReason | undefined {
  if (e instanceof InsightError && e.kind === 'timeout') return 'timeout';
  const status = statusCode(e) ?? (e instanceof InsightError ? statusCode(e.cause) : undefined);
  if (status === 401 || (e instanceof InsightError && e.kind === 'unauthorized')) return 'unauthorized';
  if (status === 403 || (e instanceof InsightError && e.kind === 'forbidden')) return 'forbidden';
  const code = errnoCode(e);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code && TLS_CODES.test(code)) return 'tls';
  if (code && (TIMEOUT_CODES.has(code) || code === 'ETIMEDOUT')) return 'timeout';
  if (code && NETWORK_CODES.has(code)) return 'network';
  if (e instanceof InsightError && e.kind === 'unreachable') return 'network';
  return undefined;
}

export interface RetryOptions {
  attempts?: number;
  baseMs?: number;
  maxMs?: number;
  /** Only idempotent calls (get, list, patch with a fixed body, delete) may be retried. */
  idempotent: boolean;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Run a Kubernetes call; retry 429/5xx and dropped connections with backoff when idempotent. */
export async function kubeCall<T>(op: KubeOp, fn: () => Promise<T>, opts: RetryOptions = { idempotent: true }, server?: string): Promise<T> {
  const attempts = opts.idempotent ? (opts.attempts ?? 5) : 1;
  const sleep = opts.sleep ?? defaultSleep;
  let delay = opts.baseMs ?? 200;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || !isRetryable(e)) throw classifyKubeError(e, op, server);
      const retryAfter = isApiException(e) ? Number(e.headers?.['retry-after']) : NaN;
      // A server's Retry-After is a hint, not a licence to stall a run for an hour: at most 10 s.
      await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 10) * 1000 : delay);
      delay = Math.min(delay * 2, opts.maxMs ?? 5000);
    }
  }
}

export type CallOptions = Partial<RetryOptions>;

/** Kubernetes calls bound to one API server (the Kube object carries these). */
export interface KubeCalls {
  /** kubeCall with this server; idempotent (retried) unless `opts` says otherwise. */
  call<T>(op: KubeOp, fn: () => Promise<T>, opts?: CallOptions): Promise<T>;
  /** `call`, with a 404 answered as undefined: a read of what may not exist, a delete of what may be gone. */
  ifFound<T>(op: KubeOp, fn: () => Promise<T>, opts?: CallOptions): Promise<T | undefined>;
  /** A delete (the verb is implied) that treats a 404 as done already. */
  delete(op: Omit<KubeOp, 'verb'>, fn: () => Promise<unknown>, opts?: CallOptions): Promise<'deleted' | 'already-gone'>;
}

export function kubeCalls(server?: string): KubeCalls {
  const call = <T>(op: KubeOp, fn: () => Promise<T>, opts: CallOptions = {}) => kubeCall(op, fn, { idempotent: true, ...opts }, server);
  const ifFound = async <T>(op: KubeOp, fn: () => Promise<T>, opts?: CallOptions) => {
    try {
      return await call(op, fn, opts);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  return {
    call,
    ifFound,
    delete: async (op, fn, opts) => ((await ifFound({ verb: 'delete', ...op }, async () => (await fn(), true), opts)) ? 'deleted' : 'already-gone'),
  };
}
