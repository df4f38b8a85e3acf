// Stand-in for the finalizer behaviour of loongcollector-operator, run by the harness as its own process.
// Each ClusterAliyunPipelineConfig belongs to one installation (its meta.helm.sh/release-name and
// -namespace annotations); only that installation's operator Deployment (labelled
// app.kubernetes.io/name=loongcollector-operator, with the same helm annotations) finalizes it:
// - while that Deployment has a ready replica, a CR being deleted loses the operator's finalizer after
//   the Deployment's insight.test/finalize-delay (e.g. "8s"; default at once), as a real operator takes
//   time to clean up cloud-side;
// - if the operator stops being ready meanwhile (scaled to zero, crashing, restarting), nothing happens;
//   when it is ready again the delay starts over, as a restarted operator reconciles from scratch;
// - a CR of no installation, or of one without a ready operator, stays stuck, as in the product.
// Usage: tsx operator-standin.ts <kubeconfig>
import { AppsV1Api, KubeConfig, Watch, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

export const FINALIZER = 'clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com';
export const OPERATOR_SELECTOR = 'app.kubernetes.io/name=loongcollector-operator';
const GROUP = 'telemetry.alibabacloud.com';
const VERSION = 'v1alpha1';
const PLURAL = 'clusteraliyunpipelineconfigs';

interface Obj {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; deletionTimestamp?: string; finalizers?: string[]; annotations?: Record<string, string> };
  status?: { readyReplicas?: number };
}

export const FINALIZE_DELAY_ANNOTATION = 'insight.test/finalize-delay';
const RELEASE_NAME = 'meta.helm.sh/release-name';
const RELEASE_NAMESPACE = 'meta.helm.sh/release-namespace';

interface Operator {
  ready: boolean;
  delayMs: number;
  /** `<release namespace>/<release name>`: the installation it serves. */
  installation: string;
}

function parseDelay(v: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v ?? '');
  if (!m) return 0;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}
const installationOf = (o: Obj) => {
  const a = o.metadata?.annotations ?? {};
  return a[RELEASE_NAME] && a[RELEASE_NAMESPACE] ? `${a[RELEASE_NAMESPACE]}/${a[RELEASE_NAME]}` : undefined;
};

const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`);

const kubeconfigPath = process.argv[2];
if (!kubeconfigPath) {
  process.stderr.write('usage: operator-standin <kubeconfig>\n');
  process.exit(2);
}
const kc = new KubeConfig();
kc.loadFromFile(kubeconfigPath);
const crApi = kc.makeApiClient(CustomObjectsApi);
const appsApi = kc.makeApiClient(AppsV1Api);
const watch = new Watch(kc);

const operators = new Map<string, Operator>(); // Deployment namespace/name -> state
const crs = new Map<string, Obj>(); // name -> latest object
const inFlight = new Set<string>();
/** CR name -> when its finalization started (while its operator stayed ready). */
const finalizing = new Map<string, { since: number; timer: NodeJS.Timeout }>();

/** The ready operator of the CR's installation, if any. */
function operatorFor(cr: Obj): Operator | undefined {
  const inst = installationOf(cr);
  if (!inst) return undefined;
  return [...operators.values()].find((o) => o.ready && o.installation === inst);
}

async function release(name: string, obj: Obj): Promise<void> {
  const finalizers = obj.metadata?.finalizers ?? [];
  // The doc's name is 65 bytes without a "/", which the API server rejects; real objects carry a
  // "<doc name>/<suffix>" form (the fixture chart's entityCollector.finalizer), so match both.
  const i = finalizers.findIndex((f) => f === FINALIZER || f.startsWith(`${FINALIZER}/`));
  if (!obj.metadata?.deletionTimestamp || i < 0 || inFlight.has(name)) return;
  inFlight.add(name);
  try {
    // `test` guards against the list having changed since we saw it; a failed test just waits for the next event.
    const patch = [
      { op: 'test', path: `/metadata/finalizers/${i}`, value: finalizers[i] },
      { op: 'remove', path: `/metadata/finalizers/${i}` },
    ];
    await crApi.patchClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    log(`removed finalizer from ClusterAliyunPipelineConfig ${name}`);
  } catch (e) {
    log(`patch ${name} failed: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    inFlight.delete(name);
  }
}

function reconcile(): void {
  for (const [name, obj] of crs) {
    const op = operatorFor(obj);
    const pending = finalizing.get(name);
    if (!op || !obj.metadata?.deletionTimestamp) {
      // Operator down (or the CR not being deleted): a finalization in progress is lost.
      if (pending) {
        clearTimeout(pending.timer);
        finalizing.delete(name);
        if (!op && obj.metadata?.deletionTimestamp) log(`operator of ${name} not ready: finalization stopped`);
      }
      continue;
    }
    if (pending) continue;
    const timer = setTimeout(() => {
      finalizing.delete(name);
      const cur = crs.get(name);
      if (cur && operatorFor(cur)) void release(name, cur);
      else reconcile();
    }, op.delayMs);
    finalizing.set(name, { since: Date.now(), timer });
    if (op.delayMs) log(`finalizing ${name} in ${op.delayMs} ms`);
  }
}

/** list+watch loop that survives the CRD not existing yet, watch expiry and apiserver restarts. */
async function listWatch(
  path: string,
  query: Record<string, string>,
  list: () => Promise<{ metadata?: { resourceVersion?: string }; items: Obj[] }>,
  onEvent: (type: string, obj: Obj) => void,
  reset: () => void,
): Promise<never> {
  for (;;) {
    try {
      const snapshot = await list();
      reset();
      for (const item of snapshot.items) onEvent('ADDED', item);
      await new Promise<void>((resolve) => {
        watch
          .watch(path, { ...query, resourceVersion: snapshot.metadata?.resourceVersion, allowWatchBookmarks: true }, (type, obj: Obj) => {
            if (type !== 'BOOKMARK') onEvent(type, obj);
          }, () => resolve())
          .catch(() => resolve());
      });
    } catch {
      // The CRD is not installed yet (404) or the apiserver is restarting: list again shortly.
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

void listWatch(
  '/apis/apps/v1/deployments',
  { labelSelector: OPERATOR_SELECTOR },
  () => appsApi.listDeploymentForAllNamespaces({ labelSelector: OPERATOR_SELECTOR }) as Promise<{ items: Obj[] }>,
  (type, d) => {
    const key = `${d.metadata?.namespace}/${d.metadata?.name}`;
    if (type === 'DELETED' || d.metadata?.deletionTimestamp) operators.delete(key);
    else {
      operators.set(key, {
        ready: (d.status?.readyReplicas ?? 0) >= 1,
        delayMs: parseDelay(d.metadata?.annotations?.[FINALIZE_DELAY_ANNOTATION]),
        installation: installationOf(d) ?? `${d.metadata?.namespace}/?`,
      });
    }
    reconcile();
  },
  () => operators.clear(),
);

void listWatch(
  `/apis/${GROUP}/${VERSION}/${PLURAL}`,
  {},
  () => crApi.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }) as Promise<{ items: Obj[] }>,
  (type, cr) => {
    const name = cr.metadata?.name ?? '';
    if (type === 'DELETED') {
      crs.delete(name);
      const p = finalizing.get(name);
      if (p) clearTimeout(p.timer);
      finalizing.delete(name);
    } else crs.set(name, cr);
    reconcile();
  },
  () => crs.clear(),
);

log(`operator stand-in watching (finalizer ${FINALIZER}, operator ${OPERATOR_SELECTOR}, per installation, ${FINALIZE_DELAY_ANNOTATION})`);
