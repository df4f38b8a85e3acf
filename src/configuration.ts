import type { Helm } from './helm/helm.js';
import type { Kube } from './kube/client.js';
import type { KubeconfigOptions } from './kube/kubeconfig.js';
import type { ApiClient, ApiClientOptions } from './kube/proxy.js';

/** The flags that say which cluster and which helm a run uses. */
export interface ConnectionFlags {
  kubeconfig?: string | undefined;
  context?: string | undefined;
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
    return { ...(this.flags.kubeconfig ? { kubeconfig: this.flags.kubeconfig } : {}), ...(this.flags.context ? { context: this.flags.context } : {}) };
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
   * once, so an unreachable server or bad credentials fail here with their own exit code (3).
   */
  async apiClient(opts: ApiClientOptions): Promise<{ api: ApiClient; context: string; server: string }> {
    const [{ loadKubeconfig }, { ApiClient }, { kubeCall }] = await Promise.all([import('./kube/kubeconfig.js'), import('./kube/proxy.js'), import('./kube/errors.js')]);
    const kc = loadKubeconfig(this.connection);
    const server = kc.getCurrentCluster()?.server ?? '';
    const api = await ApiClient.create(kc, opts);
    this.apis.push(api);
    await kubeCall({ verb: 'get', resource: 'version' }, () => api.getJson('/version', { timeoutMs: 15_000 }), { idempotent: true, attempts: 2 }, server);
    return { api, context: kc.getCurrentContext(), server };
  }

  async close(): Promise<void> {
    for (const api of this.apis.splice(0)) api.close();
  }
}
