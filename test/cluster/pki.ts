// Certificates for the local control plane, made with the openssl CLI (EC P-256 keys: fast to generate,
// accepted by kube-apiserver for serving, client auth and service-account token signing).
import { mkdir, writeFile, readFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { run } from './procs.js';

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

async function genKey(path: string): Promise<void> {
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

/** Signs a leaf certificate for `subject` with the CA; `ext` is an openssl extension section body. */
async function signLeaf(dir: string, name: string, subject: string, ext: string, ca: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  await genKey(key);
  await run('openssl', ['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  await writeFile(extFile, ext);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', '30', '-out', cert, '-extfile', extFile]);
  await rm(csr);
  await rm(extFile);
  return { cert, key };
}

export async function clientCert(dir: string, name: string, user: string, groups: string[], ca: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
  // Kubernetes reads the user from CN and groups from O; slashes in the subject need escaping.
  const esc = (s: string) => s.replace(/[/\\]/g, (c) => `\\${c}`);
  const subject = `/CN=${esc(user)}` + groups.map((g) => `/O=${esc(g)}`).join('');
  return signLeaf(dir, name, subject, 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n', ca);
}

/** A serving certificate signed by the cluster CA for the given IP addresses. */
export async function servingCert(dir: string, name: string, cn: string, ips: string[], ca: { cert: string; key: string }): Promise<{ cert: string; key: string }> {
  const sans = ips.map((i) => `IP:${i}`).join(',');
  return signLeaf(dir, name, `/CN=${cn}`, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`, ca);
}

export async function createPki(dir: string, serviceIp: string, extraSans: string[] = []): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  await genKey(caKey);
  await run('openssl', [
    'req', '-x509', '-new', '-key', caKey, '-subj', '/CN=kubectl-insight-test-ca', '-days', '30', '-out', caCert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  const ca = { cert: caCert, key: caKey };
  const sans = [
    'IP:127.0.0.1', `IP:${serviceIp}`, 'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local', ...extraSans,
  ];
  const [server, admin] = await Promise.all([
    signLeaf(dir, 'apiserver', '/CN=kube-apiserver', `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(',')}\n`, ca),
    clientCert(dir, 'admin', 'kubernetes-admin', ['system:masters'], ca),
  ]);
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  await genKey(saKey);
  await run('openssl', ['pkey', '-in', saKey, '-pubout', '-out', saPub]);
  return { dir, caCert, caKey, serverCert: server.cert, serverKey: server.key, adminCert: admin.cert, adminKey: admin.key, saKey, saPub };
}

/** A self-contained kubeconfig (certificates embedded), so it keeps working wherever it is copied. */
export async function writeKubeconfig(path: string, opts: { server: string; caCert: string; cert: string; key: string; user: string; context?: string }): Promise<void> {
  const b64 = async (f: string) => (await readFile(f)).toString('base64');
  const ctx = opts.context ?? 'kubectl-insight-test';
  const text = `apiVersion: v1
kind: Config
clusters:
- name: ${ctx}
  cluster:
    server: ${opts.server}
    certificate-authority-data: ${await b64(opts.caCert)}
users:
- name: ${opts.user}
  user:
    client-certificate-data: ${await b64(opts.cert)}
    client-key-data: ${await b64(opts.key)}
contexts:
- name: ${ctx}
  context:
    cluster: ${ctx}
    user: ${opts.user}
current-context: ${ctx}
`;
  await writeFile(path, text, { mode: 0o600 });
}
