/**
 * What verify's checks share: the installation's identity (cluster id, region, workspace, instance),
 * the AccessKey, the cloud call options, the cluster's nodes and pods, and what earlier checks found
 * (the query endpoint, the label that carries the cluster id, which sources are missing).
 */
import type { V1DaemonSet, V1Deployment, V1Node, V1Pod } from '@kubernetes/client-node';
import type { CloudCallOptions, CloudCredentials, PrometheusInstance } from '../../cloud/credentials.js';
import type { EndpointOverrides, NetMode } from '../../cloud/endpoints.js';
import type { CloudError, CloudResult } from '../../cloud/errors.js';
import { errorFinding } from '../preflight/cloud.js';
import type { Finding } from '../engine.js';
import type { PromEndpoint } from '../../cloud/prometheus.js';

/** Which installation's data is looked for. */
export interface Installation {
  namespace: string;
  release: string;
  clusterId: string;
  region: string;
  workspace?: string;
  prometheusInstanceId?: string;
}

export interface VerifyInput extends Installation {
  /** Which query URL of the instance: Internet (httpApiInterUrl) or Intranet (httpApiIntraUrl). */
  net: NetMode;
  creds: CloudCredentials;
  overrides: EndpointOverrides;
  /** Per cloud request. */
  timeoutMs: number;
  /** A source whose newest sample is older than this is stale (and instant queries see 5 minutes back). */
  staleAfterMs: number;
  /** Lines of each collector log read when something does not arrive. */
  logLines: number;
}

/** The cluster side: lists (loaded once per run) and reading a collector's log. */
export interface VerifyCluster {
  nodes(): Promise<V1Node[]>;
  /** Pods of the release namespace. */
  pods(): Promise<V1Pod[]>;
  daemonSets(): Promise<V1DaemonSet[]>;
  /** Deployments of the release namespace. */
  deployments(): Promise<V1Deployment[]>;
  /** How many pods the cluster has (all namespaces). */
  podCount(): Promise<number>;
  /** The tail of a collector's own log file (exec), else its stdout log; `via` says which. */
  collectorLog(pod: V1Pod, container: string, lines: number): Promise<{ text: string; via: string } | { error: string }>;
}

/** The cloud side, narrow so unit tests can fake it; src/cloud implements it. */
export interface VerifyCloud {
  instance(creds: CloudCredentials, region: string, id: string, o: CloudCallOptions): Promise<CloudResult<PrometheusInstance>>;
  query: typeof import('../../cloud/prometheus.js').promQuery;
  labels: typeof import('../../cloud/prometheus.js').promLabels;
  entities: typeof import('../../cloud/entities.js').getEntityStoreData;
}

export class VerifyContext {
  /** Set by metrics.instance. */
  endpoint?: PromEndpoint;
  /** Set by metrics.cluster-label: the label whose value is the cluster id. */
  clusterLabel?: string;
  /** Ids of checks (or sources) that failed because data is not there, which waiting may cure. */
  readonly notYet = new Set<string>();
  /** What did not arrive, for the collector check: `metrics/node-exporter`, `entities/k8s.cluster`. */
  readonly missing: string[] = [];
  /**
   * Why the collector's log is (not) read, set before it runs: `missing` (something did not arrive),
   * `always` (asked for alone), `blind` (the checks failed before they could see the data), `arriving`.
   */
  logs: 'missing' | 'always' | 'blind' | 'arriving' = 'arriving';

  constructor(
    readonly input: VerifyInput,
    readonly cluster: VerifyCluster,
    readonly cloud: VerifyCloud,
    readonly now: () => Date = () => new Date(),
  ) {}

  /** Something did not arrive: waiting may cure it (`waitKey`), and the collector's log is read for `what`. */
  notArriving(waitKey: string, what: string): void {
    this.notYet.add(waitKey);
    this.missing.push(what);
  }

  /**
   * A cloud error as the failing finding of check `id`. An error that passes by itself (throttling, a
   * server error, a timeout, a reset, and the query API's 404 before the collector first wrote) is
   * marked "not yet", so --wait tries again instead of giving up at once.
   */
  failure(id: string, e: CloudError, what: string): Finding {
    if (TRANSIENT.includes(e.code) || (e.code === 'NotFound' && e.service === 'prometheus')) this.notYet.add(id);
    return cloudFailure(e, what);
  }

  callOpts(signal: AbortSignal): CloudCallOptions {
    return { net: 'Internet', overrides: this.input.overrides, timeoutMs: this.input.timeoutMs, signal, region: this.input.region, now: this.now };
  }
}

const TRANSIENT: readonly CloudError['code'][] = ['Throttled', 'ServerError', 'Timeout', 'ConnectionReset', 'NetworkError'];

/**
 * A cloud error as a verify finding. Unlike preflight, where a network error only means "could not
 * tell", verify exists to say yes or no: any error that stops it from seeing the data fails.
 */
function cloudFailure(e: CloudError, what: string): Finding {
  // A refusal is marked, so install can tell "this key may not read" from "the data is not there".
  return { ...errorFinding(e, what), severity: 'fatal', ...(e.code === 'Forbidden' ? { errorKind: 'forbidden' as const } : {}) };
}
