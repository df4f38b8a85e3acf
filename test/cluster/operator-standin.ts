// Stand-in for the finalizer behaviour of loongcollector-operator, run by the harness as its own process:
// while a Deployment labelled app.kubernetes.io/name=loongcollector-operator has a ready replica (any
// namespace), it removes the operator's finalizer from ClusterAliyunPipelineConfigs being deleted. With no
// ready operator it does nothing, so a CR deleted after the chart is gone stays stuck, as in the product.
// Usage: tsx operator-standin.ts <kubeconfig>
import { AppsV1Api, KubeConfig, Watch, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

export const FINALIZER = 'clusteraliyunpipelineconfig.finalizers.telemetry.alibabacloud.com';
export const OPERATOR_SELECTOR = 'app.kubernetes.io/name=loongcollector-operator';
const GROUP = 'telemetry.alibabacloud.com';
const VERSION = 'v1alpha1';
const PLURAL = 'clusteraliyunpipelineconfigs';

interface Obj {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; deletionTimestamp?: string; finalizers?: string[] };
  status?: { readyReplicas?: number };
}

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

const operators = new Map<string, boolean>(); // namespace/name -> has a ready replica
const crs = new Map<string, Obj>(); // name -> latest object
const inFlight = new Set<string>();

const operatorReady = () => [...operators.values()].some(Boolean);

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
  if (!operatorReady()) return;
  for (const [name, obj] of crs) void release(name, obj);
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
    if (type === 'DELETED') operators.delete(key);
    else operators.set(key, (d.status?.readyReplicas ?? 0) >= 1);
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
    if (type === 'DELETED') crs.delete(name);
    else crs.set(name, cr);
    reconcile();
  },
  () => crs.clear(),
);

log(`operator stand-in watching (finalizer ${FINALIZER}, operator ${OPERATOR_SELECTOR})`);
