import { InsightError } from './errors.js';
import type { Helm } from './helm/helm.js';
import type { Kube } from './kube/client.js';
import type { KubeconfigOptions } from './kube/kubeconfig.js';
import type { ApiClient, ApiClientOptions } from './kube/proxy.js';

/** The pooled API client of a run, once it has answered /version. */
export interface Connected {
  api: ApiClient;
  context: string;
  server: string;
  /** The API server's gitVersion ('' when it does not say). */
  kubernetesVersion: string;
}

/** The flags that say which cluster and which helm a run uses. */
export interface ConnectionFlags {
  kubeconfig?: string | undefined;
  /** One context; fleet commands take several, which they split into one Configuration each (src/fleet). */
  context?: string | readonly string[] | undefined;
  'helm-binary'?: string | undefined;
}

/**
 * One run's connections: the Kubernetes client, the pooled API client and helm, each made on first use
 * from the same flags (a bad kubeconfig fails where the cluster is first needed, not at start-up) and
 * released when the command ends. Modules load lazily so `--help` pays for none of them.
 */
export class Configuration {
  private kubeMade?: Kube;
  private helmMade?: Helm;
  private readonly apis: ApiClient[] = [];

  constructor(private readonly flags: ConnectionFlags) {}

  /** --kubeconfig and --context, for the loaders that take them. */
  get connection(): KubeconfigOptions {
    const c = this.flags.context;
    if (Array.isArray(c) && c.length > 1) throw new Error('a Configuration serves one context; the fleet runner makes one per context');
    const context = typeof c === 'string' ? c : c?.[0];
    return { ...(this.flags.kubeconfig ? { kubeconfig: this.flags.kubeconfig } : {}), ...(context ? { context } : {}) };
  }

  /** A getter for the Kubernetes client that makes it on its first call, for actions that connect in a step. */
  async kubeOnDemand(): Promise<() => Kube> {
    const { createKube } = await import('./kube/client.js');
    return () => (this.kubeMade ??= createKube(this.connection));
  }

  async kube(): Promise<Kube> {
    return (await this.kubeOnDemand())();
  }

  async helm(): Promise<Helm> {
    if (!this.helmMade) {
      const { Helm } = await import('./helm/helm.js');
      this.helmMade = new Helm({ ...(this.flags['helm-binary'] ? { binary: this.flags['helm-binary'] } : {}), ...this.connection });
    }
    return this.helmMade;
  }

  /**
   * The pooled API client (doctor's probes), closed when the command ends. It has answered /version
   * once, so an unreachable server or bad credentials fail here with their own exit code (3). The first
   * caller's options make it; later callers share it.
   */
  apiClient(opts: ApiClientOptions): Promise<Connected> {
    // Made once per run: a fleet context reads its inventory and then runs its checks on the same pool.
    return (this.connected ??= this.connect(opts));
  }

  private connected?: Promise<Connected>;

  private async connect(opts: ApiClientOptions): Promise<Connected> {
    const [{ loadKubeconfig }, { ApiClient }, { kubeCall }] = await Promise.all([import('./kube/kubeconfig.js'), import('./kube/proxy.js'), import('./kube/errors.js')]);
    const kc = loadKubeconfig(this.connection);
    const server = kc.getCurrentCluster()?.server ?? '';
    const api = await ApiClient.create(kc, opts);
    // Closed meanwhile (a fleet context past its deadline): nothing may be left open behind the close.
    if (this.closed) {
      api.close();
      throw new InsightError('interrupted', 'the connection was closed before it was used');
    }
    this.apis.push(api);
    const v = await kubeCall({ verb: 'get', resource: 'version' }, () => api.getJson<{ gitVersion?: string }>('/version', { timeoutMs: 15_000 }), { idempotent: true, attempts: 2 }, server);
    return { api, context: kc.getCurrentContext(), server, kubernetesVersion: typeof v?.gitVersion === 'string' ? v.gitVersion : '' };
  }

  private closed = false;

  async close(): Promise<void> {
    this.closed = true;
    for (const api of this.apis.splice(0)) api.close();
  }
}
