import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  AppsV1Api,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  RbacAuthorizationV1Api,
  VersionApi,
  createConfiguration,
  ServerConfiguration,
  ResponseContext,
  type HttpLibrary,
  type KubeConfig,
  type RequestContext,
} from '@kubernetes/client-node';
import fetch from 'node-fetch';
import { from } from '@kubernetes/client-node/dist/gen/rxjsStub.js';
import { impersonationOf, type Impersonation } from './access.js';
import { kubeCalls, type KubeCalls } from './errors.js';
import { loadKubeconfig, type KubeconfigOptions } from './kubeconfig.js';

/**
 * All typed API clients, made from one kubeconfig. Consumers take the narrow slice they need.
 * `call`/`ifFound` run a client call against this server with retries and error mapping:
 * `await kube.ifFound({ verb: 'get', resource: 'namespaces', name }, () => kube.core.readNamespace({ name }))`.
 */
export interface Kube extends KubeCalls {
  kc: KubeConfig;
  /** API server URL of the current context. */
  server: string;
  context: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  apiext: ApiextensionsV1Api;
  custom: CustomObjectsApi;
  authn: AuthenticationV1Api;
  authz: AuthorizationV1Api;
  rbac: RbacAuthorizationV1Api;
  admission: AdmissionregistrationV1Api;
  version: VersionApi;
  objects: KubernetesObjectApi;
}

export function createKube(opts: KubeconfigOptions = {}): Kube {
  const kc = loadKubeconfig(opts);
  const make = clientMaker(kc);
  const objects = make(KubernetesObjectApi);
  (objects as unknown as { setDefaultNamespace(kc: KubeConfig): void }).setDefaultNamespace(kc);
  const server = kc.getCurrentCluster()?.server ?? '';
  return {
    ...kubeCalls(server),
    kc,
    server,
    context: kc.getCurrentContext(),
    core: make(CoreV1Api),
    apps: make(AppsV1Api),
    apiext: make(ApiextensionsV1Api),
    custom: make(CustomObjectsApi),
    authn: make(AuthenticationV1Api),
    authz: make(AuthorizationV1Api),
    rbac: make(RbacAuthorizationV1Api),
    admission: make(AdmissionregistrationV1Api),
    version: make(VersionApi),
    objects,
  };
}

type ApiCtor<T> = new (config: ReturnType<typeof createConfiguration>) => T;

/** kc.makeApiClient, with an HTTP layer that sends impersonated groups and extras as repeated headers. */
function clientMaker(kc: KubeConfig): <T>(ctor: ApiCtor<T>) => T {
  const imp = impersonationOf(kc);
  if (!imp) return (ctor) => kc.makeApiClient<never>(ctor as never);
  const config = createConfiguration({
    baseServer: new ServerConfiguration(kc.getCurrentCluster()!.server, {}),
    authMethods: { default: kc },
    httpApi: new RepeatedHeaders(imp),
  });
  return (ctor) => new ctor(config);
}

/** The generated client keeps one string per header, so a list of groups would arrive as one "a,b" group. */
class RepeatedHeaders implements HttpLibrary {
  constructor(private readonly imp: Impersonation) {}

  send(request: RequestContext) {
    const pairs: Array<[string, string]> = [];
    for (const [k, v] of Object.entries(request.getHeaders())) {
      if (/^impersonate-(group$|extra-)/i.test(k)) continue;
      pairs.push([k, v]);
    }
    for (const g of this.imp.groups) pairs.push(['Impersonate-Group', g]);
    for (const [k, vs] of Object.entries(this.imp.extra)) for (const v of vs) pairs.push([`Impersonate-Extra-${encodeURIComponent(k)}`, v]);
    const result = fetch(request.getUrl(), {
      method: request.getHttpMethod().toString(),
      body: request.getBody() as never,
      headers: pairs,
      signal: request.getSignal() as never,
      agent: request.getAgent() as never,
    }).then((resp) => {
      const headers: Record<string, string> = {};
      resp.headers.forEach((value, name) => (headers[name] = value));
      return new ResponseContext(resp.status, headers, { text: () => resp.text(), binary: () => resp.buffer() });
    });
    return from(result);
  }
}
