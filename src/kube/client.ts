import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  AppsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  RbacAuthorizationV1Api,
  VersionApi,
  type KubeConfig,
} from '@kubernetes/client-node';
import { loadKubeconfig, type KubeconfigOptions } from './kubeconfig.js';

/** All typed API clients, made from one kubeconfig. Consumers take the narrow slice they need. */
export interface Kube {
  kc: KubeConfig;
  /** API server URL of the current context. */
  server: string;
  context: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  apiext: ApiextensionsV1Api;
  custom: CustomObjectsApi;
  authz: AuthorizationV1Api;
  rbac: RbacAuthorizationV1Api;
  admission: AdmissionregistrationV1Api;
  version: VersionApi;
  objects: KubernetesObjectApi;
}

export function createKube(opts: KubeconfigOptions = {}): Kube {
  const kc = loadKubeconfig(opts);
  return {
    kc,
    server: kc.getCurrentCluster()?.server ?? '',
    context: kc.getCurrentContext(),
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    apiext: kc.makeApiClient(ApiextensionsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    authz: kc.makeApiClient(AuthorizationV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    admission: kc.makeApiClient(AdmissionregistrationV1Api),
    version: kc.makeApiClient(VersionApi),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}
